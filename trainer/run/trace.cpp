// Timeline traces (see trace.h and docs/trace.md).
#include "run/trace.h"

#include <mpi.h>

#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <optional>

#include "core/clock.h"
#include "core/error.h"
#include "core/host.h"
#include "core/log.h"
#include "core/text.h"
#include "model/step_timer.h"
#include "parallel/mpi_check.h"
#include "parallel/watchdog.h"
#include "run/json.h"

namespace alexnet {

TraceSteps parse_trace_steps(const std::string& text, int64_t run_first, int64_t run_last) {
  const std::string range = "steps " + std::to_string(run_first) + " to " + std::to_string(run_last);
  if (text.empty()) {
    if (run_last - run_first + 1 < 6) return {run_first, run_last};
    return {run_first + 1, run_first + 5};
  }
  const std::vector<std::string> parts = split(text, ':');
  std::optional<int64_t> a, b;
  if (parts.size() == 1) a = b = parse_int(parts[0]);
  if (parts.size() == 2) a = parse_int(parts[0]), b = parse_int(parts[1]);
  if (!a || !b || *a < 1 || *b < *a)
    throw UsageError("--trace-steps " + text + ": expected A:B, the first and last step traced (1 <= A <= B)");
  if (*a < run_first || *b > run_last)
    throw UsageError("--trace-steps " + text + " is outside the run, which runs " + range);
  return {*a, *b};
}

double clock_offset_to_root(const Cluster& c, int rounds, double* rtt_s) {
  *rtt_s = 0;
  if (c.alone()) return 0;
  WatchScope watch("the clock alignment with rank 0 (--trace)");
  constexpr int kTag = 7707;
  double offset = 0, best = INFINITY;
  for (int r = 1; r < c.size; ++r) {
    for (int k = 0; k < rounds; ++k) {
      if (c.rank == r) {
        const double sent = now_seconds();
        double root_time = 0;
        MPI_CHECK(MPI_Send(&sent, 1, MPI_DOUBLE, 0, kTag, c.world));
        MPI_CHECK(MPI_Recv(&root_time, 1, MPI_DOUBLE, 0, kTag, c.world, MPI_STATUS_IGNORE));
        const double back = now_seconds();
        if (back - sent < best) best = back - sent, offset = root_time - (sent + back) / 2;
      } else if (c.root()) {
        double ignored = 0;
        MPI_CHECK(MPI_Recv(&ignored, 1, MPI_DOUBLE, r, kTag, c.world, MPI_STATUS_IGNORE));
        const double now = now_seconds();
        MPI_CHECK(MPI_Send(&now, 1, MPI_DOUBLE, r, kTag, c.world));
      }
    }
  }
  if (!c.root()) *rtt_s = best;
  return c.root() ? 0 : offset;
}

Tracer::Tracer(std::string path, TraceSteps steps, std::string tool, AlexNet& net, DataParallel& dp, const Cluster& c,
               int loader_threads)
    : path_(std::move(path)), tool_(std::move(tool)), steps_(steps), net_(net), dp_(dp), cluster_(c) {
  offset_ = clock_offset_to_root(c, 8, &rtt_);
  tracks_.emplace_back(kTrackStep, "step");
  for (int t = 0; t < AlexNet::kTowers; ++t)
    tracks_.emplace_back(kTrackTower0 + t, "tower " + std::to_string(t) + " (" + net.device(t).str() + ")");
  for (const auto& track : dp.trace_tracks()) tracks_.push_back(track);
  for (int k = 0; k < loader_threads; ++k) tracks_.emplace_back(kTrackLoader + k, "loader thread " + std::to_string(k));
  net_.timer().set_trace(&trace_);
  dp_.set_trace(&trace_);
}

Tracer::~Tracer() {
  net_.timer().set_trace(nullptr);
  dp_.set_trace(nullptr);
}

void Tracer::begin_step(int64_t step) {
  if (!traces(step)) return;
  if (origin_ < 0) origin_ = now_seconds();
  trace_.set_step(step);
  trace_.set_recording(true);
  net_.timer().anchor();
}

void Tracer::end_step(int64_t step, double t0, double t1, const std::vector<PhaseSpan>& phases) {
  if (!traces(step)) return;
  trace_.add(kTrackStep, "step " + std::to_string(step), "step", t0, t1);
  for (const PhaseSpan& p : phases) trace_.add(kTrackStep, p.name, "phase", p.t0, p.t1);
  if (step < steps_.last) return;
  trace_.set_recording(false);
  write();
}

void Tracer::span(const std::string& name, const std::string& category, double t0, double t1) {
  if (trace_.recording()) trace_.add(kTrackStep, name, category, t0, t1);
}

void Tracer::finish() {
  if (written_) return;
  trace_.set_recording(false);
  write();
}

namespace {

void append_event(std::string& out, const TraceEvent& e, int rank, double to_us) {
  char buf[160];
  std::snprintf(buf, sizeof buf, "{\"ph\":\"X\",\"pid\":%d,\"tid\":%d,\"ts\":%.3f,\"dur\":%.3f,", rank, e.track,
                (e.t0 + to_us) * 1e6, (e.t1 - e.t0) * 1e6);
  out += buf;
  out += "\"name\":\"" + json_escape(e.name) + "\",\"cat\":\"" + json_escape(e.category) + "\",\"args\":{";
  out += "\"step\":" + std::to_string(e.step);
  for (const auto& [k, v] : e.args) {
    std::snprintf(buf, sizeof buf, ",\"%s\":%.17g", json_escape(k).c_str(), v);
    out += buf;
  }
  for (const auto& [k, v] : e.text_args) out += ",\"" + json_escape(k) + "\":\"" + json_escape(v) + "\"";
  if (e.queued >= 0) {
    std::snprintf(buf, sizeof buf, ",\"queued_us\":%.3f", (e.queued + to_us) * 1e6);
    out += buf;
  }
  out += "}},\n";
}

// s as a JSON string literal.
std::string quoted(const std::string& s) {
  std::string out(1, '"');
  out += json_escape(s);
  out += '"';
  return out;
}

void append_meta(std::string& out, const char* what, int rank, int tid, const std::string& key,
                 const std::string& value) {
  out += std::string("{\"ph\":\"M\",\"name\":\"") + what + "\",\"pid\":" + std::to_string(rank) +
         ",\"tid\":" + std::to_string(tid) + ",\"args\":{\"" + key + "\":" + value + "}},\n";
}

}  // namespace

// This rank's events and track names as trace-file lines; times in seconds since `origin` (rank
// 0's clock).
std::string Tracer::events_json(double origin) const {
  const int rank = cluster_.rank;
  std::string out;
  append_meta(out, "process_name", rank, 0, "name", quoted("rank " + std::to_string(rank) + " (" + hostname() + ")"));
  append_meta(out, "process_sort_index", rank, 0, "sort_index", std::to_string(rank));
  for (const auto& [tid, name] : tracks_) {
    append_meta(out, "thread_name", rank, tid, "name", quoted(name));
    append_meta(out, "thread_sort_index", rank, tid, "sort_index", std::to_string(tid));
  }
  const double to_us = offset_ - origin;  // seconds to add to a time of this rank's clock
  for (const TraceEvent& e : taken_) append_event(out, e, rank, to_us);
  return out;
}

void Tracer::write() {
  written_ = true;
  taken_ = trace_.take();
  // ts 0: the start of the first traced step on rank 0 (on rank 0's clock).
  double origin = origin_ >= 0 ? origin_ : now_seconds();
  if (!cluster_.alone()) MPI_CHECK(MPI_Bcast(&origin, 1, MPI_DOUBLE, 0, cluster_.world));
  const std::vector<std::string> parts = gather_strings_to_root(cluster_, events_json(origin));
  const std::vector<double> clocks = gather_to_root(cluster_, {offset_, rtt_});
  taken_.clear();
  on_root(
      cluster_,
      [&] {
        std::string text = "{\"traceEvents\":[\n";
        for (const std::string& p : parts) text += p;
        if (text.size() >= 2 && text.compare(text.size() - 2, 2, ",\n") == 0) text.erase(text.size() - 2, 1);
        std::vector<double> offsets_us, rtts_us;
        for (int r = 0; r < cluster_.size; ++r)
          offsets_us.push_back(1e6 * clocks[2 * r]), rtts_us.push_back(1e6 * clocks[2 * r + 1]);
        JsonWriter other;
        other.begin_object()
            .value("tool", tool_)
            .value("version", code_version())
            .value("ranks", cluster_.size)
            .array("steps", {static_cast<double>(steps_.first), static_cast<double>(steps_.last)})
            .array("clock_offsets_us", offsets_us)
            .array("clock_sync_rtt_us", rtts_us)
            .value("overlap", dp_.options().overlap)
            .value("communicator", dp_.trace_tracks().empty() ? std::string("none") : dp_.trace_tracks()[0].second)
            .end_object();
        text += "],\n\"displayTimeUnit\":\"ms\",\n\"otherData\":" + other.str() + "}";
        JsonWriter::write_file(path_, text);
        LOG_INFO << "trace: steps " << steps_.first << " to " << steps_.last << " of " << cluster_.size
                 << (cluster_.size == 1 ? " rank" : " ranks") << " written to " << path_;
      },
      "rank 0 to write the trace");
}

}  // namespace alexnet

// The benchmark behind `alexnet bench` (see bench.h).
#include "run/bench.h"

#include <algorithm>
#include <cstdio>
#include <memory>

#include "core/error.h"
#include "core/host.h"
#include "core/log.h"
#include "core/random.h"
#include "layers/backend_info.h"
#include "model/step_timer.h"
#include "parallel/watchdog.h"
#include "run/environment.h"
#include "run/json.h"
#include "run/trace.h"

namespace alexnet {

void check_bench_config(const BenchConfig& c) {
  ALEXNET_CHECK(c.steps >= 1, "--steps must be at least 1, got " << c.steps);
  ALEXNET_CHECK(c.warmup >= 0, "--warmup must be >= 0, got " << c.warmup);
  ALEXNET_CHECK(c.profile_steps >= 0, "--profile-steps must be >= 0, got " << c.profile_steps);
  ALEXNET_CHECK(!c.modes.empty(), "--modes is empty");
  for (const auto& m : c.modes)
    ALEXNET_CHECK(m == "forward" || m == "forward-backward" || m == "train",
                  "unknown mode '" << m << "' (expected forward, forward-backward or train)");
}

void fill_random_batch(AlexNet& net, uint64_t seed) {
  const Tensor& img = net.images();
  float* p = img.f32();
  const int64_t n = img.numel();
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) p[i] = static_cast<float>(hashed_normal(seed, static_cast<uint64_t>(i)));
  const int64_t classes = net.options().config.classes;
  int32_t* l = net.labels().i32();
  for (int64_t i = 0; i < net.labels().numel(); ++i)
    l[i] = static_cast<int32_t>(mix64(seed ^ mix64(static_cast<uint64_t>(i) + 77)) % static_cast<uint64_t>(classes));
}

namespace {

// One mode's steps: each step's phases timed; the gradients of a backward all-reduced across
// ranks, the update only in the training step.
class ModeRunner {
 public:
  ModeRunner(AlexNet& net, DataParallel& dp, const BenchConfig& c, const std::string& mode)
      : net_(net), dp_(dp), lr_(c.lr), backward_(mode != "forward"), update_(mode == "train") {}

  // One step; with `spans`, its phases as a trace shows them (host clock) and its start and end.
  Phases step(int i, std::vector<PhaseSpan>* spans = nullptr, double* start = nullptr, double* end = nullptr) {
    Phases p;
    const double t0 = now_seconds();
    net_.forward();
    if (update_)
      net_.loss();
    else if (backward_)
      net_.l2_loss_grad();
    const double t1 = now_seconds();
    p.forward = t1 - t0;
    if (spans) spans->push_back({"forward", t0, t1});
    double t_last = t1;  // the end of the last phase
    if (backward_) {
      dp_.begin_step(i);
      net_.backward();
      const double t2 = now_seconds();
      const CommTimes ct = dp_.finish_backward();
      const double t3 = now_seconds();
      p.backward = t2 - t1, p.allreduce = ct.allreduce_s, p.exposed = t3 - t2;
      if (spans) spans->push_back({"backward", t1, t2}), spans->push_back({"all-reduce wait (exposed)", t2, t3});
      t_last = t3;
      if (update_) {
        net_.update(lr_, sgd_, dp_.grad_scale());
        t_last = now_seconds();
        p.update = t_last - t3;
        if (spans) spans->push_back({"update", t3, t_last});
      }
    }
    double t_end = t_last;
    if (net_.on_gpu()) {
      gpu_phases(p);
      t_end = now_seconds();
      if (spans) spans->push_back({"wait for the GPUs", t_last, t_end});
    }
    p.step = t_end - t0;
    if (start) *start = t0, *end = t_end;
    if (net_.on_gpu() && net_.timer().enabled() && backward_)
      p.exposed = std::max(0.0, p.step - p.forward - p.backward - p.update);
    return p;
  }

 private:
  // On GPUs the host only queues work: the step ends when the GPUs are done, and its phases are
  // the layers' CUDA-event times (what is in no layer, the wait for the all-reduce, is "exposed").
  // Unprofiled steps (the timer off) know only their length and the all-reduce's.
  void gpu_phases(Phases& p) {
    {
      WatchScope watch("the GPUs to finish a step (NCCL all-reduces included)");
      net_.synchronize();
    }
    p.allreduce = dp_.gpu_allreduce_seconds();
    if (!net_.timer().enabled()) {
      p.forward = p.backward = p.update = p.exposed = 0;
      return;
    }
    const auto& f = net_.timer().forward_seconds();
    const auto& b = net_.timer().backward_seconds();
    const auto& names = net_.timer().rows();
    p.forward = p.backward = p.update = 0;
    for (size_t k = 0; k < names.size(); ++k) {
      p.forward += f[k];
      (names[k] == "update" ? p.update : p.backward) += b[k];
    }
  }

  AlexNet& net_;
  DataParallel& dp_;
  double lr_;
  bool backward_, update_;
  const SgdConfig sgd_{.momentum = 0.9, .weight_decay = 0.0005};
};

// The steps of one mode. On the CPU every timed step is profiled (the host clock around each layer
// costs nothing measurable). On GPUs profiling records two CUDA events per layer and tower (~150
// pairs a step, a few percent of a short step) and reads them at the step's end: the timed steps
// run without, and c.profile_steps steps after them give the per-layer rows and the phases.
ModeResult run_mode(AlexNet& net, DataParallel& dp, const BenchConfig& c, const std::string& mode, Tracer* tracer) {
  ModeResult r;
  r.key = mode;
  r.title = mode == "forward" ? "Forward" : mode == "forward-backward" ? "Forward-backward" : "Training step";
  r.profiled_separately = net.on_gpu() && c.profile_steps > 0;
  ModeRunner runner(net, dp, c, mode);
  const auto& rows = net.timer().rows();
  r.fwd.assign(rows.size(), {});
  r.bwd.assign(rows.size(), {});
  const int profiled = r.profiled_separately ? c.profile_steps : 0;
  for (int i = 0; i < c.warmup + c.steps + profiled; ++i) {
    const bool timed = i >= c.warmup && i < c.warmup + c.steps;
    const int64_t step = i - c.warmup + 1;  // of the timed steps, as --trace-steps counts them
    const bool traced = tracer && timed && tracer->traces(step);
    const bool profiling = r.profiled_separately ? !timed || traced : true;
    net.timer().enable(profiling);
    net.timer().clear();
    if (traced) tracer->begin_step(step);
    std::vector<PhaseSpan> spans;
    double t0 = 0, t1 = 0;
    const Phases p = traced ? runner.step(i, &spans, &t0, &t1) : runner.step(i);
    if (traced) {
      net.timer().forward_seconds();  // GPUs: reads the layers' events into the trace
      tracer->end_step(step, t0, t1, spans);
    }
    if (i < c.warmup) continue;
    if (timed) r.step_s.push_back(p.step);
    if (!profiling || (r.profiled_separately && timed)) continue;
    r.phases.push_back(p);
    r.profiled_step_s.push_back(p.step);
    for (size_t k = 0; k < rows.size(); ++k) {
      r.fwd[k].push_back(net.timer().forward_seconds()[k]);
      r.bwd[k].push_back(net.timer().backward_seconds()[k]);
    }
  }
  r.summary = summarize(r.step_s);
  return r;
}

// The arithmetic rate of a conv or fc row (2 x multiply-adds per second, in GFLOP/s): forward, and
// backward (data and weight gradients; conv1 computes no input gradient). Empty for other rows.
std::string layer_rates(const std::string& row, double fwd_s, double bwd_s, int64_t batch,
                        const std::vector<ArchRow>& arch) {
  for (const ArchRow& a : arch) {
    if (a.name != row || a.flops <= 0) continue;
    const double f = a.flops * static_cast<double>(batch), b = (row == "conv1" ? 1 : 2) * f;
    char text[64];
    if (bwd_s > 0)
      std::snprintf(text, sizeof text, " %10.0f %10.0f", f / fwd_s / 1e9, b / bwd_s / 1e9);
    else
      std::snprintf(text, sizeof text, " %10.0f %10s", f / fwd_s / 1e9, "-");
    return text;
  }
  return "";
}

void print_layer_table(const ModeResult& r, std::vector<std::string> rows, int64_t batch,
                       const std::vector<ArchRow>& arch) {
  std::vector<double> f, b;
  double sum = 0;
  for (size_t i = 0; i < rows.size(); ++i) {
    f.push_back(summarize(r.fwd[i]).mean);
    b.push_back(summarize(r.bwd[i]).mean);
  }
  // Time the step spent waiting for gradients from other ranks (not inside any layer).
  double exposed = 0;
  for (const auto& p : r.phases) exposed += p.exposed / static_cast<double>(r.phases.size());
  rows.push_back("all-reduce wait");
  f.push_back(0);
  b.push_back(exposed);
  const size_t nrows = rows.size();
  for (size_t i = 0; i < nrows; ++i) sum += f[i] + b[i];
  // The rows add up to the steps they were measured in: the timed ones, or the profiled ones.
  const double step = summarize(r.profiled_step_s).mean;
  if (r.profiled_separately)
    std::printf(
        "\nPer-layer times of the %s, batch %lld, both towers (ms per step, mean of %zu profiled steps run "
        "after the timed ones, with CUDA events around every layer; the timed steps ran without them: "
        "%.2f ms per step):\n",
        r.title.c_str(), static_cast<long long>(batch), r.profiled_step_s.size(), 1e3 * r.summary.mean);
  else
    std::printf("\nPer-layer times of the %s, batch %lld, both towers (ms per step, mean of the %zu timed steps):\n",
                r.title.c_str(), static_cast<long long>(batch), r.step_s.size());
  std::printf("%-16s %10s %10s %10s %8s %10s %10s\n", "layer", "forward", "backward", "total", "% step", "fwd GF/s",
              "bwd GF/s");
  for (size_t i = 0; i < nrows; ++i) {
    if (f[i] + b[i] == 0) continue;
    std::printf("%-16s %10.2f %10.2f %10.2f %8.1f%s\n", rows[i].c_str(), 1e3 * f[i], 1e3 * b[i], 1e3 * (f[i] + b[i]),
                100 * (f[i] + b[i]) / step, layer_rates(rows[i], f[i], b[i], batch, arch).c_str());
  }
  std::printf("%-16s %10s %10s %10.2f %8.1f   (measured step %.2f ms; unaccounted %.2f ms)\n", "sum of rows", "", "",
              1e3 * sum, 100 * sum / step, 1e3 * step, 1e3 * (step - sum));
  std::printf(
      "GF/s: GFLOP per second, 2 per multiply-add of the layer as written (Winograd does fewer); backward "
      "counts the data and weight gradients (conv1: weights only).\n");
}

// Each rank's phases of a mode, step by step (step-major, phase-minor), and their means.
std::vector<double> phases_of(const ModeResult& r, std::vector<double>* mean) {
  std::vector<double> mine;
  mean->assign(Phases::names().size(), 0.0);
  for (const auto& p : r.phases) {
    const auto v = p.values();
    mine.insert(mine.end(), v.begin(), v.end());
    for (size_t k = 0; k < v.size(); ++k) (*mean)[k] += v[k] / static_cast<double>(r.phases.size());
  }
  return mine;
}

void write_bench_config(JsonWriter& j, const BenchConfig& c, const AlexNet& net, const DataParallel& dp) {
  const ModelOptions& mo = net.options();
  const Cluster& cluster = dp.cluster();
  j.begin_object("config")
      .value("batch", mo.batch)
      .value("steps", c.steps)
      .value("warmup", c.warmup)
      .value("device", mo.device.str())
      .value("tower1_device", mo.tower1_device.value_or(mo.device).str())
      .value("precision", precision_name(mo.precision))
      .value("layout", layout_name(mo.layout))
      .value("threads", cpu_threads())
      .value("input_size", mo.config.input_size)
      .value("classes", mo.config.classes)
      .value("width", mo.config.width)
      .value("lrn", mo.config.lrn.str())
      .value("init", init_recipe_name(mo.init))
      .value("dropout", mo.dropout)
      .value("seed", static_cast<int64_t>(mo.seed))
      .value("lr", c.lr)
      .value("parameters", net.param_count())
      .value("ranks", static_cast<int64_t>(cluster.size))
      .value("global_batch", mo.batch * cluster.size)
      .value("bucket_mb", dp.options().bucket_mb)
      .value("overlap", dp.options().overlap)
      .value("label", c.label)
      .end_object();
}

// What the report's projection needs: each tower's buckets (in backward order) and layer sizes.
void write_buckets(JsonWriter& j, const AlexNet& net, const DataParallel& dp) {
  j.begin_array("buckets");
  for (const auto& b : dp.buckets()) {
    j.begin_object().value("floats", b.count).begin_array("layers");
    for (const auto& l : b.layers) j.value("", l);
    j.end_array().end_object();
  }
  j.end_array();
  j.begin_object("parameters_per_layer");
  for (const auto& e : net.params(0).layout.entries())
    if (!e.is_bias) j.value(e.layer, 2 * (e.numel() + net.params(0).layout.bias(e.layer).numel()));  // both towers
  j.end_object();
}

// One mode: its summary, every rank's per-step phases (all: rank-major), every layer's times.
void write_mode(JsonWriter& j, const ModeResult& r, const std::vector<double>& all, const AlexNet& net, int ranks) {
  j.begin_object()
      .value("mode", r.key)
      .value("steps", static_cast<int64_t>(r.step_s.size()))
      .value("mean_s", r.summary.mean)
      .value("sd_s", r.summary.sd)
      .value("median_s", r.summary.median)
      .value("min_s", r.summary.min)
      .value("max_s", r.summary.max)
      .value("images_per_s", static_cast<double>(net.options().batch * ranks) / r.summary.mean)
      .array("step_s", r.step_s)
      // Where the phases and layers come from: every timed step, or steps profiled after them.
      .value("profiled_separately", r.profiled_separately)
      .array("profiled_step_s", r.profiled_step_s);
  const auto& names = Phases::names();
  const size_t steps = r.phases.size(), np = names.size();
  j.begin_array("ranks");
  for (int rk = 0; rk < ranks; ++rk) {
    j.begin_object().value("rank", rk);
    for (size_t k = 0; k < np; ++k) {
      std::vector<double> v;
      for (size_t s = 0; s < steps; ++s) v.push_back(all[(static_cast<size_t>(rk) * steps + s) * np + k]);
      j.array(names[k] + "_s", v);
    }
    j.end_object();
  }
  j.end_array();
  j.begin_array("layers");
  for (size_t k = 0; k < net.timer().rows().size(); ++k) {
    const Summary f = summarize(r.fwd[k]), b = summarize(r.bwd[k]);
    j.begin_object()
        .value("name", net.timer().rows()[k])
        .value("forward_mean_s", f.mean)
        .value("forward_median_s", f.median)
        .value("backward_mean_s", b.mean)
        .value("backward_median_s", b.median)
        .end_object();
  }
  j.end_array().end_object();
}

}  // namespace

std::vector<ModeResult> run_bench(AlexNet& net, DataParallel& dp, const BenchConfig& c) {
  check_bench_config(c);
  net.set_training(true);  // dropout active, as the seed and the peer
  net.timer().enable(true);
  std::unique_ptr<Tracer> tracer;
  if (!c.trace_path.empty())
    tracer = std::make_unique<Tracer>(c.trace_path, parse_trace_steps(c.trace_steps, 1, c.steps), "alexnet bench", net,
                                      dp, dp.cluster(), 0);
  // The traced mode: the training step, or the last mode.
  const bool has_train = std::find(c.modes.begin(), c.modes.end(), "train") != c.modes.end();
  std::vector<ModeResult> results;
  for (const auto& mode : c.modes) {
    const bool traced_mode = has_train ? mode == "train" : mode == c.modes.back();
    results.push_back(run_mode(net, dp, c, mode, traced_mode ? tracer.get() : nullptr));
  }
  if (tracer) tracer->finish();
  return results;
}

void print_bench(const std::vector<ModeResult>& results, const AlexNet& net, const Cluster& c) {
  const int64_t batch = net.options().batch;
  if (c.root()) {
    std::printf("\n");
    for (const auto& r : results)
      std::printf("%s across %zu steps, %.3f +/- %.3f sec per batch\n", r.title.c_str(), r.step_s.size(),
                  r.summary.mean, r.summary.sd);
    std::printf("\n%-18s %10s %10s %10s %10s %12s\n", "mode", "mean s", "sd s", "median s", "min s", "images/s");
    for (const auto& r : results)
      std::printf("%-18s %10.4f %10.4f %10.4f %10.4f %12.1f\n", r.key.c_str(), r.summary.mean, r.summary.sd,
                  r.summary.median, r.summary.min, static_cast<double>(batch * c.size) / r.summary.mean);
    const auto arch = architecture(net.options().config);
    for (const auto& r : results)
      if (r.key == "train") print_layer_table(r, net.timer().rows(), batch, arch);
    if (results.size() == 1 && results[0].key != "train")
      print_layer_table(results[0], net.timer().rows(), batch, arch);
    std::fflush(stdout);
  }
  if (c.alone()) return;
  for (const auto& r : results) {  // min / median / max over ranks (collective)
    std::vector<double> mean;
    phases_of(r, &mean);
    if (c.root()) std::printf("\n");
    print_across_ranks(c, r.title + " across " + std::to_string(c.size) + " ranks (ms per step):", Phases::names(),
                       mean, 1e3, "ms");
  }
  if (c.root()) std::fflush(stdout);
}

void write_bench_json(const std::string& path, const std::vector<ModeResult>& results, const BenchConfig& c,
                      const AlexNet& net, const DataParallel& dp) {
  const Cluster& cluster = dp.cluster();
  std::vector<std::vector<double>> all;  // per mode: every rank's phases (rank 0)
  for (const auto& r : results) {
    std::vector<double> mean;
    all.push_back(gather_to_root(cluster, phases_of(r, &mean)));
  }
  const std::vector<RankPlace> placement = gather_placement(cluster);
  if (!cluster.root()) return;
  JsonWriter j;
  j.begin_object().value("tool", "alexnet bench").value("version", code_version());
  write_bench_config(j, c, net, dp);
  if (!c.options.empty()) write_options(j, c.options);
  write_buckets(j, net, dp);
  write_environment(j);
  write_placement(j, placement);
  j.begin_array("modes");
  for (size_t m = 0; m < results.size(); ++m) write_mode(j, results[m], all[m], net, cluster.size);
  j.end_array().end_object();
  JsonWriter::write_file(path, j.str());
  LOG_INFO << "bench: wrote " << path;
}

}  // namespace alexnet

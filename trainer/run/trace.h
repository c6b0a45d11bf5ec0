// `--trace FILE [--trace-steps A:B]` (train and bench): every rank records its timeline during
// steps A..B (the phases of each step, each tower's layers, the all-reduces, the loader threads);
// rank 0 gathers the ranks' events, on its own clock (each rank's offset measured at start-up),
// and writes one Chrome trace-event file once step B has ended. Format: docs/trace.md.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/trace.h"
#include "model/model.h"
#include "parallel/cluster.h"
#include "parallel/data_parallel.h"

namespace alexnet {

// Steps A..B (1-based, inclusive) of a run of steps first..last.
struct TraceSteps {
  int64_t first = 0, last = 0;
  bool contains(int64_t step) const { return step >= first && step <= last; }
};

// "A:B" (or "A" for one step); "" is the default: steps 2..6, or the whole run when it has fewer
// than 6 steps. Throws UsageError naming --trace-steps for a malformed range or one outside
// run_first..run_last.
TraceSteps parse_trace_steps(const std::string& text, int64_t run_first, int64_t run_last);

// This rank's clock against rank 0's: the seconds to add to now_seconds() to read rank 0's clock,
// from the round trip with rank 0 of `rounds` that took least time (*rtt_s: its length).
// Collective; 0 alone and on rank 0.
double clock_offset_to_root(const Cluster& c, int rounds, double* rtt_s);

// A phase of a step: its name and when it began and ended (this rank's clock).
struct PhaseSpan {
  std::string name;
  double t0 = 0, t1 = 0;
};

class Tracer {
 public:
  // Attaches to the model's step timer and the all-reduces. Collective (the clock offsets).
  // `tool`: "alexnet train" or "alexnet bench"; `loader_threads`: tracks to name (0: no loader).
  Tracer(std::string path, TraceSteps steps, std::string tool, AlexNet& net, DataParallel& dp, const Cluster& c,
         int loader_threads);
  ~Tracer();
  Tracer(const Tracer&) = delete;
  Tracer& operator=(const Tracer&) = delete;

  Trace* sink() { return &trace_; }
  const TraceSteps& steps() const { return steps_; }
  bool traces(int64_t step) const { return !written_ && steps_.contains(step); }

  // Before step `step` (1-based) runs, with the model's step timer on and cleared: records from
  // here when the step is traced (GPUs: the timer's clock anchors).
  void begin_step(int64_t step);
  // After it (the per-layer times read): the step and its phases. Once step B has ended, writes
  // the file (collective: every rank calls it for every step).
  void end_step(int64_t step, double t0, double t1, const std::vector<PhaseSpan>& phases);
  // Something between steps (a checkpoint, an evaluation), recorded while the trace records.
  void span(const std::string& name, const std::string& category, double t0, double t1);
  // Writes what was recorded if the run ended before step B (collective). Idempotent.
  void finish();

 private:
  void write();
  std::string events_json(double origin) const;

  std::string path_, tool_;
  TraceSteps steps_;
  AlexNet& net_;
  DataParallel& dp_;
  Cluster cluster_;
  Trace trace_;
  std::vector<std::pair<int, std::string>> tracks_;
  double offset_ = 0, rtt_ = 0;
  double origin_ = -1;  // start of the first traced step (this rank's clock)
  bool written_ = false;
  mutable std::vector<TraceEvent> taken_;
};

}  // namespace alexnet

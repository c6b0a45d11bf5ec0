// A rank's timeline while a trace is being recorded (`--trace`): spans on named tracks (the
// step's phases, each tower's layers, the all-reduces, the loader threads), added from any thread.
// Off (the default) add() is never called: callers ask recording() first, which costs one atomic
// load. Times are this rank's monotonic clock (core/clock.h); run/trace.h aligns the ranks and
// writes the file (docs/trace.md).
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace alexnet {

// Track numbers (the `tid` of the trace file).
enum TraceTrack : int {
  kTrackStep = 0,    // the step and its phases, checkpoints, evaluations (the main thread)
  kTrackTower0 = 1,  // tower 0's layers (+1 for tower 1)
  kTrackComm = 3,    // the all-reduces (MPI: both towers; NCCL: +tower)
  kTrackLoader = 10  // loader thread k is kTrackLoader + k
};

struct TraceEvent {
  int track = 0;
  std::string name, category;
  double t0 = 0, t1 = 0;                             // seconds, this rank's clock
  int64_t step = 0;                                  // the 1-based step it belongs to
  std::vector<std::pair<std::string, double>> args;  // numbers shown with the event
  std::vector<std::pair<std::string, std::string>> text_args;
  double queued = -1;  // an all-reduce: when it was handed over (this rank's clock); < 0: none
};

class Trace {
 public:
  void set_recording(bool on) { on_.store(on, std::memory_order_relaxed); }
  bool recording() const { return on_.load(std::memory_order_relaxed); }
  // The step that events added now belong to (1-based; set by whoever drives the steps).
  void set_step(int64_t step) { step_.store(step, std::memory_order_relaxed); }
  int64_t step() const { return step_.load(std::memory_order_relaxed); }

  void add(TraceEvent e) {
    if (e.step == 0) e.step = step();
    std::lock_guard<std::mutex> lock(m_);
    events_.push_back(std::move(e));
  }
  // A span on `track` of the current step.
  void add(int track, std::string name, std::string category, double t0, double t1) {
    TraceEvent e;
    e.track = track, e.name = std::move(name), e.category = std::move(category), e.t0 = t0, e.t1 = t1;
    add(std::move(e));
  }
  std::vector<TraceEvent> take() {
    std::lock_guard<std::mutex> lock(m_);
    return std::exchange(events_, {});
  }

 private:
  std::atomic<bool> on_{false};
  std::atomic<int64_t> step_{0};
  std::mutex m_;
  std::vector<TraceEvent> events_;
};

}  // namespace alexnet

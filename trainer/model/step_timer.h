// Per-layer times of a step, kept out of the model's arithmetic: for each row (a layer of both
// towers, an exchange, the loss, the update) the seconds spent forward and backward. The layers
// report through a LayerProbe (one per tower, layers/layer.h); what is not a layer is timed with
// scope(). On the CPU the host clock; on GPUs CUDA events recorded on the tower's stream
// (GpuTimer), read only when the seconds are asked for, after the step. Towers on one GPU run one
// after the other, so a row sums them; on two GPUs side by side, so a row counts the slower tower.
// Off (the default), nothing is recorded. With a Trace attached and recording, every span also
// becomes an event on its tower's track (GPUs: placed on the host clock by anchor()).
#pragma once

#include <array>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/device.h"
#include "core/trace.h"
#include "layers/layer.h"

namespace alexnet {

class GpuTimer;

class StepTimer {
 public:
  // rows: every row, in the order tables print them; towers: the devices of the two towers.
  StepTimer(std::vector<std::string> rows, std::array<Device, 2> towers);
  ~StepTimer();
  StepTimer(const StepTimer&) = delete;
  StepTimer& operator=(const StepTimer&) = delete;

  LayerProbe* probe(int tower);  // what tower `tower`'s layers report to
  // A scope of `row` on `tower`'s device (an exchange: tower 0's).
  ProbeScope scope(const std::string& row, bool backward, int tower = 0);

  void enable(bool on) { on_ = on; }
  bool enabled() const { return on_; }
  const std::vector<std::string>& rows() const { return rows_; }
  // Seconds per row since clear(): on GPUs this waits for the step's events.
  const std::vector<double>& forward_seconds() const;
  const std::vector<double>& backward_seconds() const;
  void clear();
  // Spans become events of `trace` while it records (nullptr: none).
  void set_trace(Trace* trace) { trace_ = trace; }
  // GPUs: ties this step's event times to the host clock (after clear(), with the GPUs idle).
  void anchor();

 private:
  class TowerProbe;
  struct Open {  // a span begun and not yet ended
    int row = 0, tower = 0;
    bool backward = false;
    double t0 = 0;      // CPU
    int gpu_span = -1;  // GPU
  };
  struct Span {  // a GPU span ended, not yet read
    int row, tower;
    bool backward;
  };
  void trace_span(int row, int tower, bool backward, double t0, double t1) const;
  int row(const std::string& name) const;  // throws Error for a row not in the list
  int begin(int tower, int row, bool backward);
  void end(int token) noexcept;
  void collect() const;

  std::vector<std::string> rows_;
  std::map<std::string, int> row_of_;
  std::array<Device, 2> dev_;
  std::array<std::unique_ptr<TowerProbe>, 2> probes_;
  std::unique_ptr<GpuTimer> gpu_;  // towers on GPUs
  bool on_ = false;
  std::vector<Open> open_;
  mutable std::vector<Span> spans_;
  mutable std::vector<double> fwd_s_, bwd_s_;
  Trace* trace_ = nullptr;
};

}  // namespace alexnet

// Times spans of GPU work with CUDA events recorded on the GPU's stream: begin()/end() queue the
// events (no host wait), collect() waits for them once, after the step, and reads the times.
// Events are reused from step to step. In a build without CUDA every call throws.
#pragma once

#include <memory>
#include <vector>

#include "core/device.h"

namespace alexnet {

class GpuTimer {
 public:
  GpuTimer();
  ~GpuTimer();
  GpuTimer(const GpuTimer&) = delete;
  GpuTimer& operator=(const GpuTimer&) = delete;

  int begin(const Device& d);  // a new span starts on d's stream; returns its number
  void end(int span);          // it ends here (on the same stream)
  // Seconds of every span since the last collect() or clear(), in begin order; then forgets them.
  // With `starts`, also when each span began on the host clock (NaN for a device not anchored).
  std::vector<double> collect(std::vector<double>* starts = nullptr);
  // Ties d's event times to the host clock for this step's spans: an event recorded on d's stream
  // and waited for (call when the GPU is idle, at the start of a step: the wait is then nothing).
  void anchor(const Device& d);
  void clear();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace alexnet

// What every layer has: its name (errors say "conv3/tower1.forward: ...") and the probe its public
// forward and backward report to when one is attached: the model's step timer
// (model/step_timer.h), which the layers know only as a LayerProbe. Without one, nothing is
// reported and a call costs nothing more.
#pragma once

#include <string>
#include <utility>

#include <initializer_list>

#include "core/device.h"
#include "core/tensor.h"

namespace alexnet {

class LayerProbe {
 public:
  virtual ~LayerProbe() = default;
  // The number of the row called `name` (resolved once, when a layer is attached).
  virtual int row(const std::string& name) = 0;
  // Row `row` starts running (forward or backward) on `device`; returns what end() is given.
  virtual int begin(int row, bool backward, const Device& device) = 0;
  virtual void end(int token) noexcept = 0;
};

// begin() on construction, end() on destruction (nothing without a probe).
class ProbeScope {
 public:
  ProbeScope(LayerProbe* probe, int row, bool backward, const Device& device) : probe_(probe) {
    if (probe_) token_ = probe_->begin(row, backward, device);
  }
  ~ProbeScope() {
    if (probe_) probe_->end(token_);
  }
  ProbeScope(const ProbeScope&) = delete;
  ProbeScope& operator=(const ProbeScope&) = delete;

 private:
  LayerProbe* probe_;
  int token_ = -1;
};

class Layer {
 public:
  const std::string& name() const { return name_; }
  // Report forward and backward to `probe` under `row` ("conv1": both towers' conv1 share it);
  // nullptr detaches.
  void set_probe(LayerProbe* probe, const std::string& row) {
    probe_ = probe;
    row_ = probe ? probe->row(row) : -1;
  }

 protected:
  explicit Layer(std::string name) : name_(std::move(name)) {}
  // The scope of one forward (backward = false) or backward call on `device`.
  ProbeScope timed(bool backward, const Device& device) const { return ProbeScope(probe_, row_, backward, device); }

  // Throws Error ("conv3/tower1.forward: x is ... but the layer was built for ...") for the first
  // tensor that does not fit its spec; builds no message (allocates nothing) when all fit.
  struct Expected {
    const char* what;
    const Tensor& tensor;
    TensorSpec spec;
  };
  void expect(bool backward, std::initializer_list<Expected> tensors) const {
    for (const Expected& e : tensors)
      if (!fits(e.tensor, e.spec))
        check_tensor(e.tensor, e.spec.shape, e.spec.layout, e.spec.dtype, e.spec.device,
                     name_ + (backward ? ".backward" : ".forward"), e.what);
  }

  std::string name_;

 private:
  LayerProbe* probe_ = nullptr;
  int row_ = -1;
};

}  // namespace alexnet

// Dropout (inverted: kept units are scaled by 1/(1-p) in training, inference is the identity,
// which equals the paper's "multiply by 0.5 at test time"). The mask comes from a counter-based
// hash of (seed, call counter, element index): reproducible, the same on every backend, and
// resumable from a checkpoint by restoring counter(). Backward reuses the last forward's mask and
// OVERWRITES dx (dx may be dy).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "core/buffer.h"
#include "core/hash.h"
#include "core/tensor.h"
#include "layers/layer.h"

namespace alexnet {

// dropout_base() and dropout_keep() (hash.h) draw the mask.
uint32_t dropout_threshold(double p);  // round((1 - p) * 2^24)

namespace detail {
class DropoutBackend {
 public:
  virtual ~DropoutBackend() = default;
  // Draws the mask for `base` into mask and writes y = x * mask * scale.
  virtual void forward(const Tensor& x, const Tensor& y, uint64_t base) = 0;
  virtual void backward(const Tensor& dy, const Tensor& dx) = 0;  // dx = dy * mask * scale
};
struct DropoutConfig {
  double p;
  Shape shape;
  Layout layout;
  Device device;
  DType dtype;  // of x, y, dy, dx
};
std::unique_ptr<DropoutBackend> make_dropout_cpu(const DropoutConfig& c);
std::unique_ptr<DropoutBackend> make_dropout_cuda(const DropoutConfig& c);
}  // namespace detail

class Dropout : public Layer {
 public:
  Dropout(std::string name, double p, const Shape& shape, Layout layout, Device device, uint64_t seed,
          Precision precision = Precision::fp32);

  const Shape& shape() const { return cfg_.shape; }
  double p() const { return cfg_.p; }

  void set_training(bool training) { training_ = training; }
  bool training() const { return training_; }
  // Training: draws a new mask (counter advances by one) and y = x * mask / (1 - p).
  // Inference: y = x.
  void forward(const Tensor& x, const Tensor& y);
  // dx = dy * mask / (1 - p) with the last forward's mask (dx = dy after an inference forward).
  void backward(const Tensor& dy, const Tensor& dx);

  // The RNG position: how many training forwards have run. Restore it to resume exactly.
  uint64_t counter() const { return counter_; }
  void set_counter(uint64_t c) { counter_ = c; }
  uint64_t seed() const { return seed_; }

 private:
  detail::DropoutConfig cfg_;
  uint64_t seed_;
  uint64_t counter_ = 0;
  bool training_ = true;
  enum class Last { none, training, inference } last_ = Last::none;
  TensorSpec act_;  // every tensor forward and backward accept
  std::unique_ptr<detail::DropoutBackend> impl_;
};

}  // namespace alexnet

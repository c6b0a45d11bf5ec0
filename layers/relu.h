// ReLU, y = max(x, 0), on tensors of any rank. May run in place (y == x). Backward uses the
// OUTPUT y (so the input can be overwritten), dx = dy * (y > 0), and OVERWRITES dx (dx may be dy).
#pragma once

#include <memory>
#include <string>

#include "core/tensor.h"
#include "layers/layer.h"

namespace alexnet {

namespace detail {
class ReluBackend {
 public:
  virtual ~ReluBackend() = default;
  virtual void forward(const Tensor& x, const Tensor& y) = 0;
  virtual void backward(const Tensor& y, const Tensor& dy, const Tensor& dx) = 0;
};
struct ReluConfig {
  Shape shape;
  Layout layout;
  Device device;
  DType dtype;  // of x, y, dy, dx
};
std::unique_ptr<ReluBackend> make_relu_cpu(const ReluConfig& c);
std::unique_ptr<ReluBackend> make_relu_cuda(const ReluConfig& c);
}  // namespace detail

class Relu : public Layer {
 public:
  // precision: bf16 runs on bf16 activations (GPUs), else f32.
  Relu(std::string name, const Shape& shape, Layout layout, Device device, Precision precision = Precision::fp32);

  const Shape& shape() const { return cfg_.shape; }

  void forward(const Tensor& x, const Tensor& y);
  void backward(const Tensor& y, const Tensor& dy, const Tensor& dx);

 private:
  detail::ReluConfig cfg_;
  TensorSpec act_;  // every tensor forward and backward accept
  std::unique_ptr<detail::ReluBackend> impl_;
};

}  // namespace alexnet

// Max pooling (the paper's overlapping 3x3 stride 2). Output size floor((in + 2 pad - k) / s) + 1
// (for AlexNet's sizes Caffe's ceil mode gives the same). Backward routes each output gradient to
// the max of its window (the first one on ties) and OVERWRITES dx.
#pragma once

#include <memory>
#include <string>

#include "core/tensor.h"
#include "layers/layer.h"

namespace alexnet {

struct PoolSpec {
  int kernel = 3;
  int stride = 2;
  int pad = 0;
};

namespace detail {
class PoolBackend {
 public:
  virtual ~PoolBackend() = default;
  virtual void forward(const Tensor& x, const Tensor& y) = 0;
  virtual void backward(const Tensor& dy, const Tensor& dx) = 0;
};
struct PoolConfig {
  PoolSpec spec;
  Shape input, output;  // (N, C, H, W)
  Layout layout;
  Device device;
  DType dtype;  // of x, y, dy, dx
};
std::unique_ptr<PoolBackend> make_pool_cpu(const PoolConfig& c);
std::unique_ptr<PoolBackend> make_pool_cuda(const PoolConfig& c);
}  // namespace detail

class MaxPool : public Layer {
 public:
  MaxPool(std::string name, const PoolSpec& spec, const Shape& input, Layout layout, Device device,
          Precision precision = Precision::fp32);

  const Shape& input_shape() const { return cfg_.input; }
  const Shape& output_shape() const { return cfg_.output; }

  void forward(const Tensor& x, const Tensor& y);
  // Uses where the maxima were in the last forward (a workspace the layer keeps).
  void backward(const Tensor& dy, const Tensor& dx);

 private:
  detail::PoolConfig cfg_;
  TensorSpec x_, y_;  // what forward and backward accept (dx: x_, dy: y_)
  std::unique_ptr<detail::PoolBackend> impl_;
};

}  // namespace alexnet

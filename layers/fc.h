// Fully connected layer with bias: y (N, O) = x (N, I) * W^T + b, W stored (O, I) row-major.
// A 4-D activation is flattened by the caller (Tensor::reshaped) in its own memory order.
// Backward OVERWRITES dx, dw and db. In bf16 on the CPU, a backward that follows a forward with the
// same W reuses the forward's bf16 copy of it: W must not change between the two.
#pragma once

#include <memory>
#include <string>

#include "core/precision.h"
#include "core/tensor.h"
#include "layers/layer.h"

namespace alexnet {

struct FcSpec {
  int64_t in_features = 0;
  int64_t out_features = 0;
};

// Written with designated initialisers: FcOptions{.precision = Precision::bf16, .relu = true}.
struct FcOptions {
  bool need_input_grad = true;  // false: backward computes no dx
  // fp32, bf16 (bf16 x, y, dx, dy; fp32 weights, biases and their gradients; on the CPU where
  // oneDNN has bf16 instructions) or, on GPUs, tf32.
  Precision precision = Precision::fp32;
  // Forward computes y = max(x W^T + b, 0): the ReLU that follows, fused (its backward stays the
  // caller's).
  bool relu = false;
};

namespace detail {
class FcBackend {
 public:
  virtual ~FcBackend() = default;
  virtual void forward(const Tensor& x, const Tensor& w, const Tensor& b, const Tensor& y) = 0;
  virtual void backward(const Tensor& x, const Tensor& w, const Tensor& dy, const Tensor& dx, const Tensor& dw,
                        const Tensor& db) = 0;
};
struct FcConfig {
  FcSpec spec;
  int64_t batch;
  Device device;
  bool need_input_grad;
  Precision precision;
  bool relu;  // forward fuses the ReLU that follows
};
std::unique_ptr<FcBackend> make_fc_cpu(const FcConfig& c);
std::unique_ptr<FcBackend> make_fc_cuda(const FcConfig& c);
}  // namespace detail

class FullyConnected : public Layer {
 public:
  FullyConnected(std::string name, const FcSpec& spec, int64_t batch, Device device, const FcOptions& options = {});

  const FcSpec& spec() const { return cfg_.spec; }
  Shape input_shape() const { return {cfg_.batch, cfg_.spec.in_features}; }               // (N, I)
  Shape output_shape() const { return {cfg_.batch, cfg_.spec.out_features}; }             // (N, O)
  Shape weight_shape() const { return {cfg_.spec.out_features, cfg_.spec.in_features}; }  // (O, I)
  Shape bias_shape() const { return {cfg_.spec.out_features}; }                           // (O)
  int64_t param_count() const { return weight_shape().numel() + bias_shape().numel(); }
  double forward_flops() const { return 2.0 * cfg_.batch * weight_shape().numel(); }

  void forward(const Tensor& x, const Tensor& w, const Tensor& b, const Tensor& y);
  // dx (empty when need_input_grad is false), dw and db; all overwritten.
  void backward(const Tensor& x, const Tensor& w, const Tensor& dy, const Tensor& dx, const Tensor& dw,
                const Tensor& db);

 private:
  detail::FcConfig cfg_;
  TensorSpec x_, w_, b_, y_;  // what forward and backward accept (dx: x_, dy: y_, dw: w_, db: b_)
  std::unique_ptr<detail::FcBackend> impl_;
};

}  // namespace alexnet

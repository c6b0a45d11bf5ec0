// Convolution layer (stride, padding, groups) with bias. Built once for one input shape, layout
// and device; forward and backward then only execute. Backward OVERWRITES dx, dw and db.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "core/precision.h"
#include "core/tensor.h"
#include "layers/layer.h"

namespace alexnet {

struct ConvSpec {
  int64_t in_channels = 0;
  int64_t out_channels = 0;
  int kernel = 1;  // square kernel
  int stride = 1;
  int pad = 0;  // on every side
  int groups = 1;
};

// How the backend computes the convolution. winograd: F(4x4, 3x3) transforms (3x3, stride 1, on
// the CPU in the NCHW16C layout): fewer multiplies (1.5x faster on AlexNet's conv3-5 here).
// automatic: winograd where the backend has it for this shape, direct otherwise.
enum class ConvAlgorithm { direct, winograd, automatic };
ConvAlgorithm parse_conv_algorithm(const std::string& text);
const char* conv_algorithm_name(ConvAlgorithm a);

// Written with designated initialisers: ConvOptions{.algorithm = ..., .relu = true}.
struct ConvOptions {
  bool need_input_grad = true;                        // false: backward computes no dx (the first layer)
  std::optional<Layout> input_layout = std::nullopt;  // of x/dx; unset: the output's layout
  ConvAlgorithm algorithm = ConvAlgorithm::direct;
  // fp32, bf16 (bf16 x, y, dx, dy; fp32 weights, biases and their gradients; on the CPU where
  // oneDNN has bf16 instructions) or, on GPUs, tf32.
  Precision precision = Precision::fp32;
  // Forward computes y = max(conv(x, w) + b, 0): the ReLU that follows, fused (a oneDNN post-op;
  // on GPUs in the bias pass). Backward is unchanged: the caller runs the ReLU's backward first.
  bool relu = false;
  // GPUs: only engines cuDNN does not mark non-deterministic (the same result every run). The
  // CPU's oneDNN convolutions are deterministic anyway.
  bool deterministic = true;

  static ConvOptions first_layer(Layout input, Precision p = Precision::fp32, bool relu = false) {
    return {.need_input_grad = false, .input_layout = input, .precision = p, .relu = relu};
  }
};

namespace detail {
class ConvBackend {
 public:
  virtual ~ConvBackend() = default;
  virtual void forward(const Tensor& x, const Tensor& w, const Tensor& b, const Tensor& y) = 0;
  virtual void backward(const Tensor& x, const Tensor& w, const Tensor& dy, const Tensor& dx, const Tensor& dw,
                        const Tensor& db) = 0;
  virtual std::string implementation() const = 0;
};
struct ConvConfig {
  ConvSpec spec;
  Shape input, output;          // (N, C, H, W)
  Layout input_layout, layout;  // of x/dx and of y/dy
  Device device;
  bool need_input_grad;
  ConvAlgorithm algorithm;
  Precision precision;
  bool relu;           // forward fuses the ReLU that follows
  bool deterministic;  // GPUs: no engine marked non-deterministic
};
std::unique_ptr<ConvBackend> make_conv_cpu(const ConvConfig& c);
std::unique_ptr<ConvBackend> make_conv_cuda(const ConvConfig& c);
}  // namespace detail

class Conv : public Layer {
 public:
  // input: (N, C, H, W); layout: of the output (and of the input unless options say otherwise).
  Conv(std::string name, const ConvSpec& spec, const Shape& input, Layout layout, Device device,
       const ConvOptions& options = {});

  // Output size of one spatial dim: floor((in + 2 pad - kernel) / stride) + 1.
  static int64_t output_size(int64_t in, int kernel, int stride, int pad);

  const ConvSpec& spec() const { return cfg_.spec; }
  const Shape& input_shape() const { return cfg_.input; }    // (N, C, H, W)
  const Shape& output_shape() const { return cfg_.output; }  // (N, O, OH, OW)
  Shape weight_shape() const;                                // (O, C / groups, K, K), always plain (OIHW)
  Shape bias_shape() const;                                  // (O)
  int64_t param_count() const { return weight_shape().numel() + bias_shape().numel(); }
  double forward_flops() const;                                           // 2 * multiply-adds, for the whole batch
  std::string implementation() const { return impl_->implementation(); }  // e.g. "jit_wino_4x3:avx512_core"

  // y = conv(x, w) + b
  void forward(const Tensor& x, const Tensor& w, const Tensor& b, const Tensor& y);
  // dx (empty when need_input_grad is false), dw and db from x, w and dy; all overwritten.
  void backward(const Tensor& x, const Tensor& w, const Tensor& dy, const Tensor& dx, const Tensor& dw,
                const Tensor& db);

 private:
  detail::ConvConfig cfg_;
  TensorSpec x_, w_, b_, y_;  // what forward and backward accept (dx: x_, dy: y_, dw: w_, db: b_)
  std::unique_ptr<detail::ConvBackend> impl_;
};

}  // namespace alexnet

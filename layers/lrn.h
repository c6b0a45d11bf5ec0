// Local response normalization across channels:
//   b_c = a_c / (k + alpha' * sum_{|j-c| <= n/2} a_j^2)^beta
// The paper writes alpha' = alpha (k = 2, alpha = 1e-4, beta = 0.75, n = 5); Caffe and PyTorch
// write alpha' = alpha / n (k = 1). Both conventions are explicit in LrnSpec. Channels beyond the
// edges count as zero. Backward OVERWRITES dx.
#pragma once

#include <memory>
#include <string>

#include "core/tensor.h"
#include "layers/layer.h"

namespace alexnet {

enum class LrnConvention { paper, caffe };

struct LrnSpec {
  int size = 5;
  double alpha = 1e-4;
  double beta = 0.75;
  double k = 2.0;
  LrnConvention convention = LrnConvention::paper;

  static LrnSpec paper() { return {5, 1e-4, 0.75, 2.0, LrnConvention::paper}; }
  static LrnSpec caffe() { return {5, 1e-4, 0.75, 1.0, LrnConvention::caffe}; }
  // The coefficient of the sum of squares: alpha (paper) or alpha / size (caffe).
  double sum_coefficient() const { return convention == LrnConvention::paper ? alpha : alpha / size; }
  std::string str() const;  // "paper: k=2 + 0.0001*sum(a^2) over 5 channels, ^0.75"
};

LrnConvention parse_lrn_convention(const std::string& text);

namespace detail {
class LrnBackend {
 public:
  virtual ~LrnBackend() = default;
  virtual void forward(const Tensor& x, const Tensor& y) = 0;
  virtual void backward(const Tensor& x, const Tensor& dy, const Tensor& dx) = 0;
};
struct LrnConfig {
  LrnSpec spec;
  Shape shape;  // (N, C, H, W), input and output
  Layout layout;
  Device device;
  DType dtype;  // of x, y, dy, dx
};
std::unique_ptr<LrnBackend> make_lrn_cpu(const LrnConfig& c);
std::unique_ptr<LrnBackend> make_lrn_cuda(const LrnConfig& c);
}  // namespace detail

class Lrn : public Layer {
 public:
  Lrn(std::string name, const LrnSpec& spec, const Shape& shape, Layout layout, Device device,
      Precision precision = Precision::fp32);

  const LrnSpec& spec() const { return cfg_.spec; }
  const Shape& shape() const { return cfg_.shape; }

  void forward(const Tensor& x, const Tensor& y);
  // Needs the x of the matching forward (the backend may keep a workspace from it).
  void backward(const Tensor& x, const Tensor& dy, const Tensor& dx);

 private:
  detail::LrnConfig cfg_;
  TensorSpec act_;  // every tensor forward and backward accept
  std::unique_ptr<detail::LrnBackend> impl_;
};

}  // namespace alexnet

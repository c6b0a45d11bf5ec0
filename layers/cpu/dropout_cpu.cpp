// Dropout on the CPU: one parallel pass draws the mask (one byte per element) and applies it.
#include "layers/dropout.h"

namespace alexnet::detail {
namespace {

class DropoutCpu final : public DropoutBackend {
 public:
  explicit DropoutCpu(const DropoutConfig& c)
      : n_(c.shape.numel()),
        threshold_(dropout_threshold(c.p)),
        scale_(static_cast<float>(1.0 / (1.0 - c.p))),
        mask_(static_cast<std::size_t>(n_), Device::cpu()) {}

  void forward(const Tensor& x, const Tensor& y, uint64_t base) override {
    const float* in = x.f32();
    float* out = y.f32();
    auto* m = static_cast<uint8_t*>(mask_.data());
    const uint32_t threshold = threshold_;
    const float scale = scale_;
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n_; ++i) {
      const bool keep = dropout_keep(base, static_cast<uint64_t>(i), threshold);
      m[i] = keep;
      out[i] = keep ? in[i] * scale : 0.f;
    }
  }

  void backward(const Tensor& dy, const Tensor& dx) override {
    const float* g = dy.f32();
    float* out = dx.f32();
    const auto* m = static_cast<const uint8_t*>(mask_.data());
    const float scale = scale_;
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n_; ++i) out[i] = m[i] ? g[i] * scale : 0.f;
  }

 private:
  int64_t n_;
  uint32_t threshold_;
  float scale_;
  Buffer mask_;  // (numel) bytes, 1 = kept
};

}  // namespace

std::unique_ptr<DropoutBackend> make_dropout_cpu(const DropoutConfig& c) { return std::make_unique<DropoutCpu>(c); }

}  // namespace alexnet::detail

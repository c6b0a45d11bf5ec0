// Dropout on the CPU: one parallel pass draws the mask (one byte per element) and applies it; f32
// or bf16 (scaled in fp32, rounded once).
#include "layers/dropout.h"

namespace alexnet::detail {
namespace {

// Element access of f32 or bf16 activations in fp32.
struct F32 {
  using T = float;
  static float get(T v) { return v; }
  static T put(float v) { return v; }
};
struct Bf16 {
  using T = uint16_t;
  static float get(T v) { return bf16_value(v); }
  static T put(float v) { return bf16_bits(v); }
};

class DropoutCpu final : public DropoutBackend {
 public:
  explicit DropoutCpu(const DropoutConfig& c)
      : n_(c.shape.numel()),
        bf16_(c.dtype == DType::bf16),
        threshold_(dropout_threshold(c.p)),
        scale_(static_cast<float>(1.0 / (1.0 - c.p))),
        mask_(static_cast<std::size_t>(n_), Device::cpu()) {}

  void forward(const Tensor& x, const Tensor& y, uint64_t base) override {
    bf16_ ? forward_as<Bf16>(x, y, base) : forward_as<F32>(x, y, base);
  }
  void backward(const Tensor& dy, const Tensor& dx) override {
    bf16_ ? backward_as<Bf16>(dy, dx) : backward_as<F32>(dy, dx);
  }

 private:
  template <class E>
  void forward_as(const Tensor& x, const Tensor& y, uint64_t base) {
    const auto* in = static_cast<const typename E::T*>(x.data);
    auto* out = static_cast<typename E::T*>(y.data);
    auto* m = static_cast<uint8_t*>(mask_.data());
    const uint32_t threshold = threshold_;
    const float scale = scale_;
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n_; ++i) {
      const bool keep = dropout_keep(base, static_cast<uint64_t>(i), threshold);
      m[i] = keep;
      out[i] = E::put(keep ? E::get(in[i]) * scale : 0.f);
    }
  }

  template <class E>
  void backward_as(const Tensor& dy, const Tensor& dx) {
    const auto* g = static_cast<const typename E::T*>(dy.data);
    auto* out = static_cast<typename E::T*>(dx.data);
    const auto* m = static_cast<const uint8_t*>(mask_.data());
    const float scale = scale_;
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n_; ++i) out[i] = E::put(m[i] ? E::get(g[i]) * scale : 0.f);
  }

  int64_t n_;
  bool bf16_;
  uint32_t threshold_;
  float scale_;
  Buffer mask_;  // (numel) bytes, 1 = kept
};

}  // namespace

std::unique_ptr<DropoutBackend> make_dropout_cpu(const DropoutConfig& c) { return std::make_unique<DropoutCpu>(c); }

}  // namespace alexnet::detail

// Softmax cross-entropy on the CPU: a numerically stable log-softmax per row (parallel over the
// batch), per-sample losses summed in a fixed order so the result does not depend on threads.
// bf16 logits are widened to fp32 first and the gradient rounded to bf16 last.
#include <cmath>
#include <string>

#include "core/buffer.h"
#include "core/error.h"
#include "layers/convert.h"
#include "layers/softmax_loss.h"

namespace alexnet::detail {
namespace {

class SoftmaxLossCpu final : public SoftmaxLossBackend {
 public:
  explicit SoftmaxLossCpu(const SoftmaxLossConfig& c)
      : n_(c.batch),
        k_(c.classes),
        bf16_(c.dtype == DType::bf16),
        wide_(bf16_ ? static_cast<std::size_t>(n_ * k_) * sizeof(float) : 0, Device::cpu()),
        prob_(static_cast<std::size_t>(n_ * k_) * sizeof(float), Device::cpu()),
        sample_loss_(static_cast<std::size_t>(n_) * sizeof(double), Device::cpu()),
        rank_(static_cast<std::size_t>(n_) * sizeof(int64_t), Device::cpu()) {}

  void forward(const Tensor& logits, const Tensor& labels) override {
    const float* z = bf16_ ? widen(logits) : logits.f32();
    const int32_t* y = labels.i32();
    for (int64_t i = 0; i < n_; ++i)
      ALEXNET_CHECK(y[i] >= 0 && y[i] < k_, "label " << y[i] << " of sample " << i << " is outside [0, " << k_ << ")");
    auto* p = static_cast<float*>(prob_.data());
    auto* loss = static_cast<double*>(sample_loss_.data());
    auto* rank = static_cast<int64_t*>(rank_.data());
    const int64_t k = k_;
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n_; ++i) {
      const float* zi = z + i * k;
      float* pi = p + i * k;
      double zmax = zi[0];
      for (int64_t j = 1; j < k; ++j) zmax = std::max<double>(zmax, zi[j]);
      double sum = 0;
      for (int64_t j = 0; j < k; ++j) sum += std::exp(static_cast<double>(zi[j]) - zmax);
      const double log_sum = std::log(sum);
      for (int64_t j = 0; j < k; ++j) pi[j] = static_cast<float>(std::exp(static_cast<double>(zi[j]) - zmax - log_sum));
      const float zl = zi[y[i]];
      loss[i] = -(static_cast<double>(zl) - zmax - log_sum);
      int64_t better = 0;
      for (int64_t j = 0; j < k; ++j) better += zi[j] > zl;
      rank[i] = better;
    }
    stats_ = LossStats{};
    double total = 0;
    for (int64_t i = 0; i < n_; ++i) {
      total += loss[i];
      stats_.top1 += rank[i] < 1;
      stats_.top5 += rank[i] < 5;
    }
    stats_.loss = total / static_cast<double>(n_);
    stats_.count = n_;
  }

  LossStats stats() const override { return stats_; }
  Tensor probabilities() const override { return prob_.tensor(Shape{n_, k_}); }

  void backward(const Tensor& labels, const Tensor& dlogits, float scale) override {
    const int32_t* y = labels.i32();
    const auto* p = static_cast<const float*>(prob_.data());
    float* d = bf16_ ? static_cast<float*>(wide_.data()) : dlogits.f32();
    const float s = scale / static_cast<float>(n_);
    const int64_t k = k_;
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n_; ++i) {
      for (int64_t j = 0; j < k; ++j) d[i * k + j] = p[i * k + j] * s;
      d[i * k + y[i]] -= s;
    }
    if (bf16_) convert_async(dlogits, wide_.tensor(Shape{n_, k_}));
  }

 private:
  // bf16 logits -> wide_ (fp32).
  const float* widen(const Tensor& logits) {
    const Tensor wide = wide_.tensor(Shape{n_, k_});
    convert_async(wide, logits);
    return wide.f32();
  }

  int64_t n_, k_;
  bool bf16_;
  Buffer wide_;         // (N, K) fp32: bf16 logits widened, then the gradient before rounding
  Buffer prob_;         // (N, K) softmax of the last forward
  Buffer sample_loss_;  // (N) doubles
  Buffer rank_;         // (N) classes scoring above the label
  LossStats stats_;
};

}  // namespace

std::unique_ptr<SoftmaxLossBackend> make_softmax_loss_cpu(const SoftmaxLossConfig& c) {
  return std::make_unique<SoftmaxLossCpu>(c);
}

}  // namespace alexnet::detail

// SGD update and learning-rate schedule (see sgd.h).
#include "model/sgd.h"

#ifdef ALEXNET_HAVE_CUDA
#include "core/gpu.h"
#include "model/gpu_kernels.h"
#endif

#include <cmath>
#include <sstream>

#include "core/error.h"

namespace alexnet {

double LrSchedule::peak() const {
  return linear_scaling ? base_lr * static_cast<double>(global_batch) / 128.0 : base_lr;
}

double LrSchedule::at(int64_t step) const {
  double lr = peak();
  if (warmup_steps > 0 && step < warmup_steps) lr *= static_cast<double>(step + 1) / static_cast<double>(warmup_steps);
  for (int64_t s : decay_steps)
    if (step >= s) lr *= gamma;
  return lr;
}

std::string LrSchedule::str() const {
  std::ostringstream os;
  os << "lr " << peak();
  if (linear_scaling) os << " (" << base_lr << " x " << global_batch << "/128)";
  if (warmup_steps) os << ", warm-up " << warmup_steps << " steps";
  if (!decay_steps.empty()) {
    os << ", x" << gamma << " at steps";
    for (size_t i = 0; i < decay_steps.size(); ++i) os << (i ? "," : " ") << decay_steps[i];
  }
  return os.str();
}

int64_t epoch_start_step(double epoch, int64_t samples, int64_t global_batch) {
  ALEXNET_CHECK(epoch > 0 && samples > 0 && global_batch > 0,
                "epoch_start_step: epoch " << epoch << ", samples " << samples << ", global batch " << global_batch);
  // Exact in integers for whole epochs (the usual case); long double otherwise.
  if (epoch == std::floor(epoch) && epoch < 1e9) {
    const auto e = static_cast<int64_t>(epoch);
    return (e * samples + global_batch - 1) / global_batch;
  }
  return static_cast<int64_t>(std::ceil(static_cast<long double>(epoch) * samples / global_batch));
}

void sgd_update(const Tensor& values, const Tensor& grads, const Tensor& momentum, double lr, const SgdConfig& c,
                float grad_scale) {
  ALEXNET_CHECK(values.shape == grads.shape && values.shape == momentum.shape,
                "sgd_update: shapes differ: " << values.str() << ", " << grads.str() << ", " << momentum.str());
  ALEXNET_CHECK(
      values.device == grads.device && values.device == momentum.device,
      "sgd_update: buffers on different devices: " << values.str() << ", " << grads.str() << ", " << momentum.str());
  float* w = values.f32();
  const float* g = grads.f32();
  float* v = momentum.f32();
  const float mu = static_cast<float>(c.momentum);
  const float decay_lr = static_cast<float>(c.weight_decay * lr);
  const float neg_lr = static_cast<float>(-lr) * grad_scale;
  const int64_t n = values.numel();
  if (values.device.is_cuda()) {
#ifdef ALEXNET_HAVE_CUDA
    gpu::sgd_update(w, g, v, n, mu, decay_lr, neg_lr, gpu::stream(values.device));
    return;
#else
    throw Error("sgd_update on " + values.device.str() + ": this build has no CUDA backend");
#endif
  }
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    const float vi = mu * v[i] - decay_lr * w[i] + neg_lr * g[i];
    v[i] = vi;
    w[i] += vi;
  }
}

}  // namespace alexnet

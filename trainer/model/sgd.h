// SGD as the paper writes it (Krizhevsky et al. 2012, section 5):
//   v <- momentum * v - decay * lr * w - lr * dL/dw;   w <- w + v
// and the learning-rate schedule: a base rate, optionally scaled by the linear rule
// (base * global_batch / 128), a linear warm-up, and step decay (x gamma at given steps).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace alexnet {

// The rate is not here: it comes from the schedule (LrSchedule::at) at every step.
struct SgdConfig {
  double momentum = 0.9;
  double weight_decay = 0.0005;
};

struct LrSchedule {
  double base_lr = 0.01;
  bool linear_scaling = false;  // lr = base * global_batch / 128
  int64_t global_batch = 128;
  int64_t warmup_steps = 0;          // ramps linearly from lr/warmup to lr over these steps
  std::vector<int64_t> decay_steps;  // multiply by gamma at each of these steps
  double gamma = 0.1;

  double peak() const;            // after scaling, before warm-up and decay
  double at(int64_t step) const;  // the rate used by update number `step` (0-based)
  std::string str() const;
};

// The first update (0-based step) that starts at or after `epoch` epochs of a data set of
// `samples`, read `global_batch` samples per step: ceil(epoch * samples / global_batch). Step s
// starts at sample s * global_batch, so e.g. 6,000 samples in batches of 64 make epoch 1 start at
// step 94 (93.75 rounded up). Throws Error unless all three are positive.
int64_t epoch_start_step(double epoch, int64_t samples, int64_t global_batch);

// One update of a flat buffer triple (values, grads, momentum: same shape and device), the
// gradients multiplied by grad_scale first (1/ranks after a summing all-reduce).
void sgd_update(const Tensor& values, const Tensor& grads, const Tensor& momentum, double lr, const SgdConfig& c,
                float grad_scale = 1.f);

}  // namespace alexnet

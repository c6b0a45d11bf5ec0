// Dropout: checks, the RNG counter and the backend (see dropout.h).
#include "layers/dropout.h"

#include <cmath>

#include "core/error.h"
#include "layers/backend.h"

namespace alexnet {

uint32_t dropout_threshold(double p) {
  return static_cast<uint32_t>(std::llround((1.0 - p) * static_cast<double>(1u << 24)));
}

Dropout::Dropout(std::string name, double p, const Shape& shape, Layout layout, Device device, uint64_t seed,
                 Precision precision)
    : Layer(std::move(name)), cfg_{p, shape, layout, device, activation_dtype(precision)}, seed_(seed) {
  ALEXNET_CHECK(p >= 0.0 && p < 1.0, name_ << ": dropout probability must be in [0, 1), got " << p);
  ALEXNET_CHECK(shape.numel() > 0, name_ << ": empty shape " << shape.str());
  check_backend(name_, device, layout, precision);
  act_ = {cfg_.shape, cfg_.layout, cfg_.dtype, cfg_.device};
  impl_ = detail::make_backend(cfg_, detail::make_dropout_cpu, detail::make_dropout_cuda);
}

void Dropout::forward(const Tensor& x, const Tensor& y) {
  const ProbeScope scope = timed(false, cfg_.device);
  expect(false, {{"x", x, act_}, {"y", y, act_}});
  if (training_) {
    impl_->forward(x, y, dropout_base(seed_, counter_));
    ++counter_;
    last_ = Last::training;
  } else {
    if (y.data != x.data) copy_async(y, x);
    last_ = Last::inference;
  }
}

void Dropout::backward(const Tensor& dy, const Tensor& dx) {
  const ProbeScope scope = timed(true, cfg_.device);
  expect(true, {{"dy", dy, act_}, {"dx", dx, act_}});
  ALEXNET_CHECK(last_ != Last::none, name_ << ".backward: called before any forward");
  if (last_ == Last::training)
    impl_->backward(dy, dx);
  else if (dx.data != dy.data)
    copy_async(dx, dy);
}

}  // namespace alexnet

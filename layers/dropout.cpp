// Dropout: checks, the RNG counter and the backend switch (see dropout.h).
#include "layers/dropout.h"

#include <cmath>

#include "core/error.h"

namespace alexnet {

uint32_t dropout_threshold(double p) {
  return static_cast<uint32_t>(std::llround((1.0 - p) * static_cast<double>(1u << 24)));
}

Dropout::Dropout(std::string name, double p, const Shape& shape, Layout layout, Device device,
                 uint64_t seed, Precision precision)
    : name_(std::move(name)), cfg_{p, shape, layout, device, activation_dtype(precision)}, seed_(seed) {
  ALEXNET_CHECK(p >= 0.0 && p < 1.0, name_ << ": dropout probability must be in [0, 1), got " << p);
  ALEXNET_CHECK(shape.numel() > 0, name_ << ": empty shape " << shape.str());
  check_backend(name_, device, layout, precision);
  switch (device.kind) {
    case DeviceKind::cpu: impl_ = detail::make_dropout_cpu(cfg_); break;
    case DeviceKind::cuda:
#ifdef ALEXNET_HAVE_CUDA
      impl_ = detail::make_dropout_cuda(cfg_);
      break;
#else
      throw Error(name_ + ": " + device.str() + " needs the CUDA backend, which this build does not have");
#endif
  }
}

Dropout::~Dropout() = default;
Dropout::Dropout(Dropout&&) noexcept = default;
Dropout& Dropout::operator=(Dropout&&) noexcept = default;

void Dropout::forward(const Tensor& x, const Tensor& y) {
  const auto& c = cfg_;
  check_tensor(x, c.shape, c.layout, c.dtype, c.device, name_ + ".forward", "x");
  check_tensor(y, c.shape, c.layout, c.dtype, c.device, name_ + ".forward", "y");
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
  const auto& c = cfg_;
  check_tensor(dy, c.shape, c.layout, c.dtype, c.device, name_ + ".backward", "dy");
  check_tensor(dx, c.shape, c.layout, c.dtype, c.device, name_ + ".backward", "dx");
  ALEXNET_CHECK(last_ != Last::none, name_ << ".backward: called before any forward");
  if (last_ == Last::training) impl_->backward(dy, dx);
  else if (dx.data != dy.data) copy_async(dx, dy);
}

}  // namespace alexnet

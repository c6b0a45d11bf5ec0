// ReLU: shape checks and the backend switch (see relu.h).
#include "layers/relu.h"

#include "core/error.h"

namespace alexnet {

Relu::Relu(std::string name, const Shape& shape, Layout layout, Device device, Precision precision)
    : name_(std::move(name)), cfg_{shape, layout, device, activation_dtype(precision)} {
  ALEXNET_CHECK(shape.numel() > 0, name_ << ": empty shape " << shape.str());
  check_backend(name_, device, layout, precision);
  switch (device.kind) {
    case DeviceKind::cpu: impl_ = detail::make_relu_cpu(cfg_); break;
    case DeviceKind::cuda:
#ifdef ALEXNET_HAVE_CUDA
      impl_ = detail::make_relu_cuda(cfg_);
      break;
#else
      throw Error(name_ + ": " + device.str() + " needs the CUDA backend, which this build does not have");
#endif
  }
}

Relu::~Relu() = default;
Relu::Relu(Relu&&) noexcept = default;
Relu& Relu::operator=(Relu&&) noexcept = default;

void Relu::forward(const Tensor& x, const Tensor& y) {
  const auto& c = cfg_;
  check_tensor(x, c.shape, c.layout, c.dtype, c.device, name_ + ".forward", "x");
  check_tensor(y, c.shape, c.layout, c.dtype, c.device, name_ + ".forward", "y");
  impl_->forward(x, y);
}

void Relu::backward(const Tensor& y, const Tensor& dy, const Tensor& dx) {
  const auto& c = cfg_;
  check_tensor(y, c.shape, c.layout, c.dtype, c.device, name_ + ".backward", "y");
  check_tensor(dy, c.shape, c.layout, c.dtype, c.device, name_ + ".backward", "dy");
  check_tensor(dx, c.shape, c.layout, c.dtype, c.device, name_ + ".backward", "dx");
  impl_->backward(y, dy, dx);
}

}  // namespace alexnet

// ReLU: shape checks and the backend (see relu.h).
#include "layers/relu.h"

#include "core/error.h"
#include "layers/backend.h"

namespace alexnet {

Relu::Relu(std::string name, const Shape& shape, Layout layout, Device device, Precision precision)
    : Layer(std::move(name)), cfg_{shape, layout, device, activation_dtype(precision)} {
  ALEXNET_CHECK(shape.numel() > 0, name_ << ": empty shape " << shape.str());
  check_backend(name_, device, layout, precision);
  act_ = {cfg_.shape, cfg_.layout, cfg_.dtype, cfg_.device};
  impl_ = detail::make_backend(cfg_, detail::make_relu_cpu, detail::make_relu_cuda);
}

void Relu::forward(const Tensor& x, const Tensor& y) {
  const ProbeScope scope = timed(false, cfg_.device);
  expect(false, {{"x", x, act_}, {"y", y, act_}});
  impl_->forward(x, y);
}

void Relu::backward(const Tensor& y, const Tensor& dy, const Tensor& dx) {
  const ProbeScope scope = timed(true, cfg_.device);
  expect(true, {{"y", y, act_}, {"dy", dy, act_}, {"dx", dx, act_}});
  impl_->backward(y, dy, dx);
}

}  // namespace alexnet

// Max pooling: spec checks and the backend (see pool.h).
#include "layers/pool.h"

#include "core/error.h"
#include "layers/backend.h"
#include "layers/conv.h"

namespace alexnet {

MaxPool::MaxPool(std::string name, const PoolSpec& spec, const Shape& input, Layout layout, Device device,
                 Precision precision)
    : Layer(std::move(name)) {
  ALEXNET_CHECK(input.rank() == 4 && input.numel() > 0,
                name_ << ": input must be a non-empty (N, C, H, W) shape, got " << input.str());
  ALEXNET_CHECK(
      spec.kernel >= 1 && spec.stride >= 1 && spec.pad >= 0 && spec.pad < spec.kernel,
      name_ << ": kernel " << spec.kernel << ", stride " << spec.stride << ", pad " << spec.pad << " are not valid");
  ALEXNET_CHECK(input.h() + 2 * spec.pad >= spec.kernel && input.w() + 2 * spec.pad >= spec.kernel,
                name_ << ": window " << spec.kernel << " larger than the input " << input.str());
  Shape out{input.n(), input.c(), Conv::output_size(input.h(), spec.kernel, spec.stride, spec.pad),
            Conv::output_size(input.w(), spec.kernel, spec.stride, spec.pad)};
  cfg_ = {spec, input, out, layout, device, activation_dtype(precision)};
  check_backend(name_, device, layout, precision);
  x_ = {cfg_.input, cfg_.layout, cfg_.dtype, cfg_.device}, y_ = {cfg_.output, cfg_.layout, cfg_.dtype, cfg_.device};
  impl_ = detail::make_backend(cfg_, detail::make_pool_cpu, detail::make_pool_cuda);
}

void MaxPool::forward(const Tensor& x, const Tensor& y) {
  const ProbeScope scope = timed(false, cfg_.device);
  expect(false, {{"x", x, x_}, {"y", y, y_}});
  impl_->forward(x, y);
}

void MaxPool::backward(const Tensor& dy, const Tensor& dx) {
  const ProbeScope scope = timed(true, cfg_.device);
  expect(true, {{"dy", dy, y_}, {"dx", dx, x_}});
  impl_->backward(dy, dx);
}

}  // namespace alexnet

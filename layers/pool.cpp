// Max pooling: spec checks and the backend switch (see pool.h).
#include "layers/pool.h"

#include "layers/conv.h"
#include "core/error.h"

namespace alexnet {

MaxPool::MaxPool(std::string name, const PoolSpec& spec, const Shape& input, Layout layout,
                 Device device, Precision precision)
    : name_(std::move(name)) {
  ALEXNET_CHECK(input.rank() == 4 && input.numel() > 0,
                name_ << ": input must be a non-empty (N, C, H, W) shape, got " << input.str());
  ALEXNET_CHECK(spec.kernel >= 1 && spec.stride >= 1 && spec.pad >= 0 && spec.pad < spec.kernel,
                name_ << ": kernel " << spec.kernel << ", stride " << spec.stride << ", pad "
                      << spec.pad << " are not valid");
  ALEXNET_CHECK(input.h() + 2 * spec.pad >= spec.kernel && input.w() + 2 * spec.pad >= spec.kernel,
                name_ << ": window " << spec.kernel << " larger than the input " << input.str());
  Shape out{input.n(), input.c(), Conv::output_size(input.h(), spec.kernel, spec.stride, spec.pad),
            Conv::output_size(input.w(), spec.kernel, spec.stride, spec.pad)};
  cfg_ = {spec, input, out, layout, device, activation_dtype(precision)};
  check_backend(name_, device, layout, precision);
  switch (device.kind) {
    case DeviceKind::cpu: impl_ = detail::make_pool_cpu(cfg_); break;
    case DeviceKind::cuda:
#ifdef ALEXNET_HAVE_CUDA
      impl_ = detail::make_pool_cuda(cfg_);
      break;
#else
      throw Error(name_ + ": " + device.str() + " needs the CUDA backend, which this build does not have");
#endif
  }
}

MaxPool::~MaxPool() = default;
MaxPool::MaxPool(MaxPool&&) noexcept = default;
MaxPool& MaxPool::operator=(MaxPool&&) noexcept = default;

void MaxPool::forward(const Tensor& x, const Tensor& y) {
  const auto& c = cfg_;
  check_tensor(x, c.input, c.layout, c.dtype, c.device, name_ + ".forward", "x");
  check_tensor(y, c.output, c.layout, c.dtype, c.device, name_ + ".forward", "y");
  impl_->forward(x, y);
}

void MaxPool::backward(const Tensor& dy, const Tensor& dx) {
  const auto& c = cfg_;
  check_tensor(dy, c.output, c.layout, c.dtype, c.device, name_ + ".backward", "dy");
  check_tensor(dx, c.input, c.layout, c.dtype, c.device, name_ + ".backward", "dx");
  impl_->backward(dy, dx);
}

}  // namespace alexnet

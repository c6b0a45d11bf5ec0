// Local response normalization: spec checks and the backend switch (see lrn.h).
#include "layers/lrn.h"

#include <sstream>

#include "core/error.h"

namespace alexnet {

std::string LrnSpec::str() const {
  std::ostringstream os;
  os << (convention == LrnConvention::paper ? "paper" : "caffe") << ": a / (" << k << " + "
     << sum_coefficient() << " * sum(a^2) over " << size << " channels)^" << beta;
  return os.str();
}

LrnConvention parse_lrn_convention(const std::string& text) {
  if (text == "paper") return LrnConvention::paper;
  if (text == "caffe" || text == "pytorch") return LrnConvention::caffe;
  throw Error("unknown LRN convention '" + text + "' (expected paper or caffe)");
}

Lrn::Lrn(std::string name, const LrnSpec& spec, const Shape& shape, Layout layout, Device device,
         Precision precision)
    : name_(std::move(name)), cfg_{spec, shape, layout, device, activation_dtype(precision)} {
  ALEXNET_CHECK(shape.rank() == 4 && shape.numel() > 0,
                name_ << ": input must be a non-empty (N, C, H, W) shape, got " << shape.str());
  ALEXNET_CHECK(spec.size >= 1 && spec.size % 2 == 1,
                name_ << ": LRN size must be odd and positive, got " << spec.size);
  ALEXNET_CHECK(spec.alpha >= 0 && spec.beta >= 0 && spec.k > 0,
                name_ << ": LRN needs alpha >= 0, beta >= 0, k > 0 (" << spec.str() << ")");
  check_backend(name_, device, layout, precision);
  switch (device.kind) {
    case DeviceKind::cpu: impl_ = detail::make_lrn_cpu(cfg_); break;
    case DeviceKind::cuda:
#ifdef ALEXNET_HAVE_CUDA
      impl_ = detail::make_lrn_cuda(cfg_);
      break;
#else
      throw Error(name_ + ": " + device.str() + " needs the CUDA backend, which this build does not have");
#endif
  }
}

Lrn::~Lrn() = default;
Lrn::Lrn(Lrn&&) noexcept = default;
Lrn& Lrn::operator=(Lrn&&) noexcept = default;

void Lrn::forward(const Tensor& x, const Tensor& y) {
  const auto& c = cfg_;
  check_tensor(x, c.shape, c.layout, c.dtype, c.device, name_ + ".forward", "x");
  check_tensor(y, c.shape, c.layout, c.dtype, c.device, name_ + ".forward", "y");
  impl_->forward(x, y);
}

void Lrn::backward(const Tensor& x, const Tensor& dy, const Tensor& dx) {
  const auto& c = cfg_;
  check_tensor(x, c.shape, c.layout, c.dtype, c.device, name_ + ".backward", "x");
  check_tensor(dy, c.shape, c.layout, c.dtype, c.device, name_ + ".backward", "dy");
  check_tensor(dx, c.shape, c.layout, c.dtype, c.device, name_ + ".backward", "dx");
  impl_->backward(x, dy, dx);
}

}  // namespace alexnet

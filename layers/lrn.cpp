// Local response normalization: spec checks and the backend (see lrn.h).
#include "layers/lrn.h"

#include <sstream>

#include "core/error.h"
#include "layers/backend.h"

namespace alexnet {

std::string LrnSpec::str() const {
  std::ostringstream os;
  os << (convention == LrnConvention::paper ? "paper" : "caffe") << ": a / (" << k << " + " << sum_coefficient()
     << " * sum(a^2) over " << size << " channels)^" << beta;
  return os.str();
}

LrnConvention parse_lrn_convention(const std::string& text) {
  if (text == "paper") return LrnConvention::paper;
  if (text == "caffe" || text == "pytorch") return LrnConvention::caffe;
  throw Error("unknown LRN convention '" + text + "' (expected paper or caffe)");
}

Lrn::Lrn(std::string name, const LrnSpec& spec, const Shape& shape, Layout layout, Device device, Precision precision)
    : Layer(std::move(name)), cfg_{spec, shape, layout, device, activation_dtype(precision)} {
  ALEXNET_CHECK(shape.rank() == 4 && shape.numel() > 0,
                name_ << ": input must be a non-empty (N, C, H, W) shape, got " << shape.str());
  ALEXNET_CHECK(spec.size >= 1 && spec.size % 2 == 1,
                name_ << ": LRN size must be odd and positive, got " << spec.size);
  ALEXNET_CHECK(spec.alpha >= 0 && spec.beta >= 0 && spec.k > 0,
                name_ << ": LRN needs alpha >= 0, beta >= 0, k > 0 (" << spec.str() << ")");
  check_backend(name_, device, layout, precision);
  act_ = {cfg_.shape, cfg_.layout, cfg_.dtype, cfg_.device};
  impl_ = detail::make_backend(cfg_, detail::make_lrn_cpu, detail::make_lrn_cuda);
}

void Lrn::forward(const Tensor& x, const Tensor& y) {
  const ProbeScope scope = timed(false, cfg_.device);
  expect(false, {{"x", x, act_}, {"y", y, act_}});
  impl_->forward(x, y);
}

void Lrn::backward(const Tensor& x, const Tensor& dy, const Tensor& dx) {
  const ProbeScope scope = timed(true, cfg_.device);
  expect(true, {{"x", x, act_}, {"dy", dy, act_}, {"dx", dx, act_}});
  impl_->backward(x, dy, dx);
}

}  // namespace alexnet

// Fully connected: checks and the backend switch (see fc.h).
#include "layers/fc.h"

#include "core/error.h"

namespace alexnet {

FullyConnected::FullyConnected(std::string name, const FcSpec& spec, int64_t batch, Device device,
                               bool need_input_grad, Precision precision, bool relu)
    : name_(std::move(name)), cfg_{spec, batch, device, need_input_grad, precision, relu} {
  ALEXNET_CHECK(batch >= 1 && spec.in_features >= 1 && spec.out_features >= 1,
                name_ << ": batch " << batch << ", features " << spec.in_features << " -> "
                      << spec.out_features << " must all be positive");
  check_backend(name_, device, Layout::nchw, precision);
  switch (device.kind) {
    case DeviceKind::cpu: impl_ = detail::make_fc_cpu(cfg_); break;
    case DeviceKind::cuda:
#ifdef ALEXNET_HAVE_CUDA
      impl_ = detail::make_fc_cuda(cfg_);
      break;
#else
      throw Error(name_ + ": " + device.str() + " needs the CUDA backend, which this build does not have");
#endif
  }
}

FullyConnected::~FullyConnected() = default;
FullyConnected::FullyConnected(FullyConnected&&) noexcept = default;
FullyConnected& FullyConnected::operator=(FullyConnected&&) noexcept = default;

void FullyConnected::forward(const Tensor& x, const Tensor& w, const Tensor& b, const Tensor& y) {
  const std::string who = name_ + ".forward";
  const auto& d = cfg_.device;
  check_tensor(x, input_shape(), Layout::nchw, activation_dtype(cfg_.precision), d, who, "x");
  check_tensor(w, weight_shape(), Layout::nchw, DType::f32, d, who, "w");
  check_tensor(b, bias_shape(), Layout::nchw, DType::f32, d, who, "b");
  check_tensor(y, output_shape(), Layout::nchw, activation_dtype(cfg_.precision), d, who, "y");
  impl_->forward(x, w, b, y);
}

void FullyConnected::backward(const Tensor& x, const Tensor& w, const Tensor& dy, const Tensor& dx,
                              const Tensor& dw, const Tensor& db) {
  const std::string who = name_ + ".backward";
  const auto& d = cfg_.device;
  check_tensor(x, input_shape(), Layout::nchw, activation_dtype(cfg_.precision), d, who, "x");
  check_tensor(w, weight_shape(), Layout::nchw, DType::f32, d, who, "w");
  check_tensor(dy, output_shape(), Layout::nchw, activation_dtype(cfg_.precision), d, who, "dy");
  if (cfg_.need_input_grad) check_tensor(dx, input_shape(), Layout::nchw, activation_dtype(cfg_.precision), d, who, "dx");
  check_tensor(dw, weight_shape(), Layout::nchw, DType::f32, d, who, "dw");
  check_tensor(db, bias_shape(), Layout::nchw, DType::f32, d, who, "db");
  impl_->backward(x, w, dy, cfg_.need_input_grad ? dx : Tensor{}, dw, db);
}

}  // namespace alexnet

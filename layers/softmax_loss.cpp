// Softmax cross-entropy: checks and the backend switch (see softmax_loss.h).
#include "layers/softmax_loss.h"

#include "core/error.h"

namespace alexnet {

SoftmaxLoss::SoftmaxLoss(std::string name, int64_t batch, int64_t classes, Device device, Precision precision)
    : name_(std::move(name)), cfg_{batch, classes, device, activation_dtype(precision)} {
  ALEXNET_CHECK(batch >= 1 && classes >= 1,
                name_ << ": batch " << batch << " and classes " << classes << " must be positive");
  check_backend(name_, device, Layout::nchw, precision);
  switch (device.kind) {
    case DeviceKind::cpu: impl_ = detail::make_softmax_loss_cpu(cfg_); break;
    case DeviceKind::cuda:
#ifdef ALEXNET_HAVE_CUDA
      impl_ = detail::make_softmax_loss_cuda(cfg_);
      break;
#else
      throw Error(name_ + ": " + device.str() + " needs the CUDA backend, which this build does not have");
#endif
  }
}

SoftmaxLoss::~SoftmaxLoss() = default;
SoftmaxLoss::SoftmaxLoss(SoftmaxLoss&&) noexcept = default;
SoftmaxLoss& SoftmaxLoss::operator=(SoftmaxLoss&&) noexcept = default;

void SoftmaxLoss::forward(const Tensor& logits, const Tensor& labels) {
  const std::string who = name_ + ".forward";
  check_tensor(logits, logits_shape(), Layout::nchw, cfg_.dtype, cfg_.device, who, "logits");
  check_tensor(labels, labels_shape(), Layout::nchw, DType::i32, cfg_.device, who, "labels");
  impl_->forward(logits, labels);
  forwarded_ = true;
}

LossStats SoftmaxLoss::stats() const {
  ALEXNET_CHECK(forwarded_, name_ << ": no forward has run yet");
  return impl_->stats();
}

void SoftmaxLoss::backward(const Tensor& labels, const Tensor& dlogits, float scale) {
  const std::string who = name_ + ".backward";
  ALEXNET_CHECK(forwarded_, who << ": called before any forward");
  check_tensor(labels, labels_shape(), Layout::nchw, DType::i32, cfg_.device, who, "labels");
  check_tensor(dlogits, logits_shape(), Layout::nchw, cfg_.dtype, cfg_.device, who, "dlogits");
  impl_->backward(labels, dlogits, scale);
}

}  // namespace alexnet

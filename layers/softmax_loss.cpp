// Softmax cross-entropy: checks and the backend (see softmax_loss.h).
#include "layers/softmax_loss.h"

#include "core/error.h"
#include "layers/backend.h"

namespace alexnet {

SoftmaxLoss::SoftmaxLoss(std::string name, int64_t batch, int64_t classes, Device device, Precision precision)
    : Layer(std::move(name)), cfg_{batch, classes, device, activation_dtype(precision)} {
  ALEXNET_CHECK(batch >= 1 && classes >= 1,
                name_ << ": batch " << batch << " and classes " << classes << " must be positive");
  check_backend(name_, device, Layout::nchw, precision);
  logits_ = {logits_shape(), Layout::nchw, cfg_.dtype, cfg_.device};
  labels_ = {labels_shape(), Layout::nchw, DType::i32, cfg_.device};
  impl_ = detail::make_backend(cfg_, detail::make_softmax_loss_cpu, detail::make_softmax_loss_cuda);
}

void SoftmaxLoss::forward(const Tensor& logits, const Tensor& labels) {
  const ProbeScope scope = timed(false, cfg_.device);
  expect(false, {{"logits", logits, logits_}, {"labels", labels, labels_}});
  impl_->forward(logits, labels);
  forwarded_ = true;
}

LossStats SoftmaxLoss::stats() const {
  ALEXNET_CHECK(forwarded_, name_ << ": no forward has run yet");
  return impl_->stats();
}

Tensor SoftmaxLoss::probabilities() const {
  ALEXNET_CHECK(forwarded_, name_ << ": no forward has run yet");
  return impl_->probabilities();
}

void SoftmaxLoss::backward(const Tensor& labels, const Tensor& dlogits, float scale) {
  const ProbeScope scope = timed(true, cfg_.device);
  ALEXNET_CHECK(forwarded_, name_ << ".backward: called before any forward");
  expect(true, {{"labels", labels, labels_}, {"dlogits", dlogits, logits_}});
  impl_->backward(labels, dlogits, scale);
}

}  // namespace alexnet

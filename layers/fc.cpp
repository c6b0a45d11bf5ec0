// Fully connected: checks and the backend (see fc.h).
#include "layers/fc.h"

#include "core/error.h"
#include "layers/backend.h"

namespace alexnet {

FullyConnected::FullyConnected(std::string name, const FcSpec& spec, int64_t batch, Device device,
                               const FcOptions& options)
    : Layer(std::move(name)), cfg_{spec, batch, device, options.need_input_grad, options.precision, options.relu} {
  ALEXNET_CHECK(batch >= 1 && spec.in_features >= 1 && spec.out_features >= 1,
                name_ << ": batch " << batch << ", features " << spec.in_features << " -> " << spec.out_features
                      << " must all be positive");
  check_backend(name_, device, Layout::nchw, options.precision);
  const DType ad = activation_dtype(options.precision);
  x_ = {input_shape(), Layout::nchw, ad, device}, w_ = {weight_shape(), Layout::nchw, DType::f32, device};
  b_ = {bias_shape(), Layout::nchw, DType::f32, device}, y_ = {output_shape(), Layout::nchw, ad, device};
  impl_ = detail::make_backend(cfg_, detail::make_fc_cpu, detail::make_fc_cuda);
}

void FullyConnected::forward(const Tensor& x, const Tensor& w, const Tensor& b, const Tensor& y) {
  const ProbeScope scope = timed(false, cfg_.device);
  expect(false, {{"x", x, x_}, {"w", w, w_}, {"b", b, b_}, {"y", y, y_}});
  impl_->forward(x, w, b, y);
}

void FullyConnected::backward(const Tensor& x, const Tensor& w, const Tensor& dy, const Tensor& dx, const Tensor& dw,
                              const Tensor& db) {
  const ProbeScope scope = timed(true, cfg_.device);
  expect(true, {{"x", x, x_}, {"w", w, w_}, {"dy", dy, y_}, {"dw", dw, w_}, {"db", db, b_}});
  if (cfg_.need_input_grad) expect(true, {{"dx", dx, x_}});
  impl_->backward(x, w, dy, cfg_.need_input_grad ? dx : Tensor{}, dw, db);
}

}  // namespace alexnet

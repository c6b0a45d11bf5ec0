// Convolution: spec validation, shape checks and the backend (see conv.h).
#include "layers/conv.h"

#include "core/error.h"
#include "layers/backend.h"

namespace alexnet {

int64_t Conv::output_size(int64_t in, int kernel, int stride, int pad) { return (in + 2 * pad - kernel) / stride + 1; }

ConvAlgorithm parse_conv_algorithm(const std::string& text) {
  if (text == "direct") return ConvAlgorithm::direct;
  if (text == "winograd") return ConvAlgorithm::winograd;
  if (text == "auto") return ConvAlgorithm::automatic;
  throw Error("unknown convolution algorithm '" + text + "' (expected direct, winograd or auto)");
}

const char* conv_algorithm_name(ConvAlgorithm a) {
  switch (a) {
    case ConvAlgorithm::direct:
      return "direct";
    case ConvAlgorithm::winograd:
      return "winograd";
    case ConvAlgorithm::automatic:
      return "auto";
  }
  return "?";
}

Conv::Conv(std::string name, const ConvSpec& spec, const Shape& input, Layout layout, Device device,
           const ConvOptions& options)
    : Layer(std::move(name)) {
  const auto& s = spec;
  ALEXNET_CHECK(input.rank() == 4 && input.numel() > 0,
                name_ << ": input must be a non-empty (N, C, H, W) shape, got " << input.str());
  ALEXNET_CHECK(s.kernel >= 1 && s.stride >= 1 && s.pad >= 0 && s.groups >= 1,
                name_ << ": kernel " << s.kernel << ", stride " << s.stride << ", pad " << s.pad << ", groups "
                      << s.groups << " are not valid");
  ALEXNET_CHECK(input.c() == s.in_channels,
                name_ << ": input has " << input.c() << " channels, the spec " << s.in_channels);
  ALEXNET_CHECK(s.out_channels >= 1 && s.in_channels % s.groups == 0 && s.out_channels % s.groups == 0,
                name_ << ": channels " << s.in_channels << " -> " << s.out_channels << " are not divisible by groups "
                      << s.groups);
  ALEXNET_CHECK(input.h() + 2 * s.pad >= s.kernel && input.w() + 2 * s.pad >= s.kernel,
                name_ << ": kernel " << s.kernel << " larger than padded input " << input.str());
  Shape out{input.n(), s.out_channels, output_size(input.h(), s.kernel, s.stride, s.pad),
            output_size(input.w(), s.kernel, s.stride, s.pad)};
  const Layout in_layout = options.input_layout.value_or(layout);
  ALEXNET_CHECK(layout_fits(input, in_layout) && layout_fits(out, layout),
                name_ << ": " << input.str() << " -> " << out.str() << " cannot be stored " << layout_name(in_layout)
                      << " -> " << layout_name(layout) << " (channels must be a multiple of " << kBlock << ")");
  cfg_ = {spec,
          input,
          out,
          in_layout,
          layout,
          device,
          options.need_input_grad,
          options.algorithm,
          options.precision,
          options.relu,
          options.deterministic};
  check_backend(name_, device, layout, options.precision);
  if (in_layout != layout) check_backend(name_, device, in_layout, options.precision);
  const DType ad = activation_dtype(options.precision);
  x_ = {input, in_layout, ad, device}, w_ = {weight_shape(), Layout::nchw, DType::f32, device};
  b_ = {bias_shape(), layout, DType::f32, device}, y_ = {out, layout, ad, device};
  impl_ = detail::make_backend(cfg_, detail::make_conv_cpu, detail::make_conv_cuda);
}

Shape Conv::weight_shape() const {
  const auto& s = cfg_.spec;
  return {s.out_channels, s.in_channels / s.groups, s.kernel, s.kernel};
}

Shape Conv::bias_shape() const { return {cfg_.spec.out_channels}; }

double Conv::forward_flops() const {
  const auto& o = cfg_.output;
  return 2.0 * static_cast<double>(o.numel()) * static_cast<double>(weight_shape().numel() / o.c());
}

void Conv::forward(const Tensor& x, const Tensor& w, const Tensor& b, const Tensor& y) {
  const ProbeScope scope = timed(false, cfg_.device);
  expect(false, {{"x", x, x_}, {"w", w, w_}, {"b", b, b_}, {"y", y, y_}});
  impl_->forward(x, w, b, y);
}

void Conv::backward(const Tensor& x, const Tensor& w, const Tensor& dy, const Tensor& dx, const Tensor& dw,
                    const Tensor& db) {
  const ProbeScope scope = timed(true, cfg_.device);
  expect(true, {{"x", x, x_}, {"w", w, w_}, {"dy", dy, y_}, {"dw", dw, w_}, {"db", db, b_}});
  if (cfg_.need_input_grad) expect(true, {{"dx", dx, x_}});
  impl_->backward(x, w, dy, cfg_.need_input_grad ? dx : Tensor{}, dw, db);
}

}  // namespace alexnet

// Layer-test helpers (see test_util.h).
#include "test_util.h"

#include "layers/backend_info.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <sstream>

namespace alexnet::test {

// No runtime-compiled cuDNN engine in the tests (each takes seconds to build; a GPU window is
// short): a shape without a precompiled engine fails, naming the engines it was offered.
const bool kNoRuntimeCompiledEngines = setenv("ALEXNET_CUDNN_RUNTIME_COMPILED", "0", /*overwrite=*/0) == 0;

std::string backend_name(const ::testing::TestParamInfo<Backend>& info) {
  const Backend& b = info.param;
  return (b.device.is_cpu() ? std::string("cpu") : std::string("cuda")) + "_" + layout_name(b.layout) +
         (b.precision == Precision::fp32 ? std::string() : std::string("_") + precision_name(b.precision));
}

void PrintTo(const Backend& b, std::ostream* os) {
  *os << b.device.str() << " " << layout_name(b.layout) << " " << precision_name(b.precision);
}

std::vector<Backend> all_backends() {
  return {{Device::cpu(), Layout::nchw},
          {Device::cpu(), Layout::nhwc},
          {Device::cpu(), Layout::nchw16c},
          {Device::cuda(0), Layout::nchw},
          {Device::cuda(0), Layout::nhwc}};
}

namespace {
void add_cpu_bf16(std::vector<Backend>& v) {
  for (Layout l : {Layout::nchw, Layout::nhwc, Layout::nchw16c}) v.push_back({Device::cpu(), l, Precision::bf16});
}
}  // namespace

std::vector<Backend> activation_backends() {
  auto v = all_backends();
  add_cpu_bf16(v);
  for (Layout l : {Layout::nchw, Layout::nhwc}) v.push_back({Device::cuda(0), l, Precision::bf16});
  return v;
}

std::vector<Backend> precision_backends() {
  auto v = all_backends();
  add_cpu_bf16(v);
  for (Precision p : {Precision::tf32, Precision::bf16})
    for (Layout l : {Layout::nchw, Layout::nhwc}) v.push_back({Device::cuda(0), l, p});
  return v;
}

std::string unavailable_reason(const Backend& be) {
  std::string why = unavailable_reason(be.device);
  if (why.empty() && be.device.is_cpu() && be.precision == Precision::bf16 && !cpu_has_bf16())
    why = "CPU bf16 skipped: " + cpu_bf16_missing();
  return why;
}

::testing::AssertionResult close_for(const Backend& be, const std::vector<double>& actual,
                                     const std::vector<double>& expected, double atol, double rtol,
                                     const Shape& shape) {
  if (be.precision == Precision::fp32) return all_close(actual, expected, atol, rtol, shape);
  double mx = 0;
  for (double v : expected) mx = std::max(mx, std::fabs(v));
  const double tol = be.precision == Precision::tf32 ? 3e-3 : 2e-2;
  return all_close(actual, expected, std::max(atol, tol * mx), std::max(rtol, tol), shape);
}

int64_t channels(const Backend& be, int64_t c) {
  return be.layout == Layout::nchw16c ? (c + kBlock - 1) / kBlock * kBlock : c;
}

Layout plain_layout(Layout l) { return l == Layout::nchw16c ? Layout::nhwc : l; }

std::string unavailable_reason(const Device& d) {
  if (d.is_cpu()) return "";
  if (!cuda_built()) return "CUDA backend skipped: this build has no CUDA (ALEXNET_CUDA=OFF or no toolkit)";
  std::string why;
  const auto gpus = list_gpus(&why);
  if (gpus.empty()) return "CUDA backend skipped: no GPU (" + why + ")";
  if (d.index >= static_cast<int>(gpus.size()))
    return "CUDA backend skipped: needs " + d.str() + ", this machine has " + std::to_string(gpus.size()) + " GPU" +
           (gpus.size() == 1 ? "" : "s");
  return "";
}

TestTensor::TestTensor(const Shape& shape, const Backend& be, DType dtype)
    : dev_(shape, be.device, be.layout, dtype == DType::f32 ? activation_dtype(be.precision) : dtype),
      host_(static_cast<size_t>(shape.numel()), 0.0) {}

TestTensor TestTensor::f32(const Shape& shape, const Backend& be) {
  return TestTensor(shape, Backend{be.device, be.layout, Precision::fp32});
}

void TestTensor::upload() {
  const Tensor& t = dev_.view;
  // The reference must see exactly the values the layer sees.
  if (t.dtype == DType::f32)
    for (auto& v : host_) v = static_cast<double>(static_cast<float>(v));
  if (t.dtype == DType::bf16)
    for (auto& v : host_) v = static_cast<double>(bf16_value(bf16_bits(static_cast<float>(v))));
  const Shape& s = t.shape;
  if (t.dtype == DType::i32) {
    OwnedTensor staging(t.shape, Device::cpu(), t.layout, t.dtype);
    int32_t* p = staging.view.i32();
    for (size_t i = 0; i < host_.size(); ++i) p[i] = static_cast<int32_t>(host_[i]);
    copy(t, staging.view);
    return;
  }
  // Floats in the tensor's memory order, then converted to its dtype.
  OwnedTensor staging(t.shape, Device::cpu(), t.layout);
  float* p = staging.view.f32();
  if (s.rank() == 4) {
    for (int64_t n = 0; n < s.n(); ++n)
      for (int64_t c = 0; c < s.c(); ++c)
        for (int64_t h = 0; h < s.h(); ++h)
          for (int64_t w = 0; w < s.w(); ++w)
            p[offset4(s, t.layout, n, c, h, w)] =
                static_cast<float>(host_[static_cast<size_t>(offset4(s, Layout::nchw, n, c, h, w))]);
  } else {
    for (size_t i = 0; i < host_.size(); ++i) p[i] = static_cast<float>(host_[i]);
  }
  if (t.dtype == DType::f32) {
    copy(t, staging.view);
    return;
  }
  OwnedTensor narrow(t.shape, Device::cpu(), t.layout, t.dtype);
  convert_async(narrow.view, staging.view);  // on the host: immediate
  copy(t, narrow.view);
}

std::vector<double> TestTensor::download() const {
  const Tensor& t = dev_.view;
  std::vector<double> out(host_.size());
  const Shape& s = t.shape;
  if (t.dtype == DType::i32) {
    OwnedTensor staging(t.shape, Device::cpu(), t.layout, t.dtype);
    copy(staging.view, t);
    for (size_t i = 0; i < out.size(); ++i) out[i] = staging.view.i32()[i];
    return out;
  }
  const std::vector<float> mem = host_floats(t);  // memory order, f32 or bf16 widened
  if (s.rank() == 4) {
    const float* p = mem.data();
    for (int64_t n = 0; n < s.n(); ++n)
      for (int64_t c = 0; c < s.c(); ++c)
        for (int64_t h = 0; h < s.h(); ++h)
          for (int64_t w = 0; w < s.w(); ++w)
            out[static_cast<size_t>(offset4(s, Layout::nchw, n, c, h, w))] = p[offset4(s, t.layout, n, c, h, w)];
  } else {
    for (size_t i = 0; i < out.size(); ++i) out[i] = mem[i];
  }
  return out;
}

void TestTensor::fill_uniform(std::mt19937& rng, double lo, double hi) {
  host_ = random_vector(rng, host_.size(), lo, hi);
  upload();
}

void TestTensor::fill_nan() {
  std::fill(host_.begin(), host_.end(), std::nan(""));
  upload();
}

ref::Dims4 dims4(const Shape& s) { return {s.n(), s.c(), s.h(), s.w()}; }

::testing::AssertionResult all_close(const std::vector<double>& actual, const std::vector<double>& expected,
                                     double atol, double rtol, const Shape& shape) {
  if (actual.size() != expected.size())
    return ::testing::AssertionFailure() << "size " << actual.size() << " != expected " << expected.size();
  size_t bad = 0, first = 0;
  double worst = 0;
  for (size_t i = 0; i < actual.size(); ++i) {
    const double err = std::fabs(actual[i] - expected[i]);
    const bool ok = err <= atol + rtol * std::fabs(expected[i]);  // false for NaN
    if (!ok) {
      if (bad++ == 0) first = i;
    }
    if (!(err <= worst)) worst = err;
  }
  if (bad == 0) return ::testing::AssertionSuccess();
  std::ostringstream where;
  where << "index " << first;
  if (shape.rank() == 4) {
    const int64_t i = static_cast<int64_t>(first);
    where << " (n, c, h, w) = (" << i / (shape.c() * shape.h() * shape.w()) << ", "
          << i / (shape.h() * shape.w()) % shape.c() << ", " << i / shape.w() % shape.h() << ", " << i % shape.w()
          << ")";
  }
  return ::testing::AssertionFailure() << bad << " of " << actual.size() << " elements differ (atol " << atol
                                       << ", rtol " << rtol << "); first at " << where.str() << ": got "
                                       << actual[first] << ", expected " << expected[first] << "; worst abs error "
                                       << worst;
}

::testing::AssertionResult norm_close(const std::vector<double>& actual, const std::vector<double>& expected,
                                      double tol) {
  if (actual.size() != expected.size())
    return ::testing::AssertionFailure() << "size " << actual.size() << " != expected " << expected.size();
  double diff = 0, ref = 0;
  for (size_t i = 0; i < actual.size(); ++i) {
    diff += (actual[i] - expected[i]) * (actual[i] - expected[i]);
    ref += expected[i] * expected[i];
  }
  const double rel = std::sqrt(diff) / std::sqrt(ref);
  if (rel <= tol) return ::testing::AssertionSuccess() << "relative error " << rel;
  return ::testing::AssertionFailure() << "relative error " << rel << " (2-norm) exceeds " << tol << " over "
                                       << actual.size() << " elements";
}

std::vector<double> numeric_grad(std::vector<double>& values, const std::function<void()>& set,
                                 const std::function<double()>& loss, double eps) {
  std::vector<double> g(values.size());
  for (size_t i = 0; i < values.size(); ++i) {
    const double v = values[i];
    values[i] = v + eps;
    set();
    const double up = loss();
    values[i] = v - eps;
    set();
    const double down = loss();
    values[i] = v;
    g[i] = (up - down) / (2 * eps);
  }
  set();
  return g;
}

double dot(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

std::vector<double> random_vector(std::mt19937& rng, size_t n, double lo, double hi) {
  std::uniform_real_distribution<double> u(lo, hi);
  std::vector<double> v(n);
  for (auto& x : v) x = u(rng);
  return v;
}

std::vector<double> distinct_values(std::mt19937& rng, size_t n, double gap) {
  std::vector<double> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = (static_cast<double>(i) - static_cast<double>(n) / 2) * gap;
  std::shuffle(v.begin(), v.end(), rng);
  return v;
}

}  // namespace alexnet::test

// Shared by the layer tests: the backends to run on (skipped with the reason where unavailable),
// tensors that move between a double NCHW host copy and a device tensor in any layout, seeded
// random fills, the atol + rtol*|ref| comparison that reports the first mismatch, and a
// central-difference gradient.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <random>
#include <string>
#include <vector>

#include "core/buffer.h"
#include "core/error.h"
#include "layers/convert.h"
#include "reference.h"

namespace alexnet::test {

struct Backend {
  Device device;
  Layout layout;
  Precision precision = Precision::fp32;  // of convolutions and matrix products
};
std::string backend_name(const ::testing::TestParamInfo<Backend>& info);  // "cpu_nhwc", "cuda_nhwc_tf32"
void PrintTo(const Backend& b, std::ostream* os);                         // for gtest messages: "cpu nhwc"
// Every backend the layers have, in each activation layout; unavailable_reason() says why one
// can't run.
std::vector<Backend> all_backends();
// all_backends() and, for the layers whose arithmetic depends on it (conv, fc), the other
// precisions (the CPU's bf16; the GPU's tf32 and bf16).
std::vector<Backend> precision_backends();
// all_backends() and the CPU and GPU in bf16 (activations stored as bf16): the other layers.
std::vector<Backend> activation_backends();
// The same device and layout in fp32: where weights, biases and their gradients live.
inline Backend fp32_of(const Backend& be) { return {be.device, be.layout, Precision::fp32}; }
// all_close() with tolerances fitted to the backend's precision: fp32 as given; tf32 (inputs of
// every product rounded to 10 mantissa bits) at least 3e-3 relative, and 3e-3 of the tensor's
// largest magnitude absolute; bf16 (8 bits, and bf16 outputs) 2e-2 likewise.
::testing::AssertionResult close_for(const Backend& be, const std::vector<double>& actual,
                                     const std::vector<double>& expected, double atol, double rtol,
                                     const Shape& shape = Shape{});
std::string unavailable_reason(const Device& d);  // "" when layers can run on d here
// The same for a backend: also its precision (the CPU's bf16 needs bf16 instructions).
std::string unavailable_reason(const Backend& be);
// c, or c rounded up to whole channel blocks when the backend's layout is blocked (NCHW16C).
int64_t channels(const Backend& be, int64_t c);
// The plain layout that feeds a blocked one (images are never blocked): nhwc for nchw16c.
Layout plain_layout(Layout l);

#define SKIP_IF_UNAVAILABLE(device)                                               \
  do {                                                                            \
    const std::string alexnet_why_ = ::alexnet::test::unavailable_reason(device); \
    if (!alexnet_why_.empty()) GTEST_SKIP() << alexnet_why_;                      \
  } while (0)

// The fixture of a test run on each backend: skipped, with the reason, where the backend's device
// is not available here. Each layer's suite derives its own name from it.
class BackendTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override { SKIP_IF_UNAVAILABLE(GetParam()); }
};

// A tensor on a backend with a double-precision host copy in NCHW (row-major for rank < 4).
// Floating-point tensors take the backend's activation dtype (bf16 for bf16 backends: the host
// copy is then rounded to bf16, so the reference sees the layer's values); f32() makes an fp32 one
// whatever the backend (weights, biases and their gradients).
class TestTensor {
 public:
  TestTensor(const Shape& shape, const Backend& be, DType dtype = DType::f32);
  static TestTensor f32(const Shape& shape, const Backend& be);
  const Tensor& t() const { return dev_.view; }
  const Shape& shape() const { return dev_.view.shape; }
  std::vector<double>& host() { return host_; }
  void upload();                         // host -> device in the tensor's layout; host values become float-rounded
  std::vector<double> download() const;  // device -> NCHW doubles
  void fill_uniform(std::mt19937& rng, double lo, double hi);  // and upload
  void fill_nan();                                             // poison (so a layer that skips writing shows up)

 private:
  OwnedTensor dev_;
  std::vector<double> host_;
};

ref::Dims4 dims4(const Shape& s);

// atol + rtol * |expected|, element-wise; on failure: how many, the first index (and its
// (n, c, h, w) when a 4-D shape is given), both values and the worst error.
::testing::AssertionResult all_close(const std::vector<double>& actual, const std::vector<double>& expected,
                                     double atol, double rtol, const Shape& shape = Shape{});

// ||actual - expected|| <= tol * ||expected|| (2-norms; false for NaN); the message gives the
// relative error. For bf16 models, where a few ReLU or max-pool decisions near a tie flip and
// move single gradients by O(their size), while a wrong index moves the whole tensor.
::testing::AssertionResult norm_close(const std::vector<double>& actual, const std::vector<double>& expected,
                                      double tol);

// d(loss)/d(values[i]) by central differences; loss() must read `values` (after set()).
std::vector<double> numeric_grad(std::vector<double>& values, const std::function<void()>& set,
                                 const std::function<double()>& loss, double eps);

// sum_i r_i * y_i, the scalar whose gradient w.r.t. y is r.
double dot(const std::vector<double>& a, const std::vector<double>& b);

std::vector<double> random_vector(std::mt19937& rng, size_t n, double lo, double hi);

// Values in random order, all distinct and at least `gap` apart (no ties, no kinks for FD).
std::vector<double> distinct_values(std::mt19937& rng, size_t n, double gap);

}  // namespace alexnet::test

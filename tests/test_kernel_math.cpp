// The arithmetic of our CUDA kernels (layers/kernel_math.h) run on the CPU against the double
// reference: LRN forward and backward and max pooling forward and backward, in both memory
// orders the GPU uses. This is how the kernels' indexing is tested on machines without a GPU;
// the CUDA layer tests run the same code on a GPU.
#include <gtest/gtest.h>

#include <random>

#include "cuda/kernel_math.h"
#include "reference.h"
#include "test_util.h"

namespace alexnet::test {
namespace {

using kmath::act_index;

// NCHW doubles -> floats in memory order (channels last or not).
std::vector<float> to_memory(const std::vector<double>& v, const ref::Dims4& d, bool cl) {
  std::vector<float> out(v.size());
  for (int64_t n = 0; n < d.n; ++n)
    for (int64_t c = 0; c < d.c; ++c)
      for (int64_t p = 0; p < d.h * d.w; ++p)
        out[static_cast<size_t>(act_index(n, c, p, d.c, d.h * d.w, cl))] = static_cast<float>(v[d.at(n, c, 0, 0) + p]);
  return out;
}

std::vector<double> from_memory(const std::vector<float>& v, const ref::Dims4& d, bool cl) {
  std::vector<double> out(v.size());
  for (int64_t n = 0; n < d.n; ++n)
    for (int64_t c = 0; c < d.c; ++c)
      for (int64_t p = 0; p < d.h * d.w; ++p)
        out[d.at(n, c, 0, 0) + p] = v[static_cast<size_t>(act_index(n, c, p, d.c, d.h * d.w, cl))];
  return out;
}

class KernelMath : public ::testing::TestWithParam<bool> {};  // channels last?

TEST_P(KernelMath, LrnMatchesReference) {
  const bool cl = GetParam();
  std::mt19937 rng(71);
  for (const LrnSpec& s : {LrnSpec::paper(), LrnSpec::caffe(), LrnSpec{3, 0.05, 0.75, 2.0, LrnConvention::paper}}) {
    const ref::Dims4 d{2, 7, 3, 5};
    LrnSpec spec = s;
    spec.alpha = 0.05;  // large enough that the normalisation matters
    const auto x = random_vector(rng, static_cast<size_t>(d.size()), -2, 2);
    const auto dy = random_vector(rng, static_cast<size_t>(d.size()), -1, 1);
    const auto xm = to_memory(x, d, cl), dym = to_memory(dy, d, cl);
    std::vector<float> scale(xm.size()), y(xm.size()), dx(xm.size());
    const auto k = static_cast<float>(spec.k), coef = static_cast<float>(spec.sum_coefficient()),
               beta = static_cast<float>(spec.beta);
    for (int64_t n = 0; n < d.n; ++n)
      for (int64_t c = 0; c < d.c; ++c)
        for (int64_t p = 0; p < d.h * d.w; ++p) {
          const auto i = static_cast<size_t>(act_index(n, c, p, d.c, d.h * d.w, cl));
          scale[i] = kmath::lrn_scale(xm.data(), n, c, p, d.c, d.h * d.w, cl, spec.size, k, coef);
          y[i] = xm[i] * std::pow(scale[i], -beta);
        }
    for (int64_t n = 0; n < d.n; ++n)
      for (int64_t c = 0; c < d.c; ++c)
        for (int64_t p = 0; p < d.h * d.w; ++p)
          dx[static_cast<size_t>(act_index(n, c, p, d.c, d.h * d.w, cl))] =
              kmath::lrn_grad(xm.data(), scale.data(), dym.data(), n, c, p, d.c, d.h * d.w, cl, spec.size, coef, beta);
    SCOPED_TRACE(spec.str());
    std::vector<double> xr(x.size()), dyr(dy.size());
    for (size_t i = 0; i < x.size(); ++i) xr[i] = static_cast<float>(x[i]), dyr[i] = static_cast<float>(dy[i]);
    EXPECT_TRUE(all_close(from_memory(y, d, cl), ref::lrn_forward(xr, d, spec), 1e-6, 1e-5)) << "y";
    EXPECT_TRUE(all_close(from_memory(dx, d, cl), ref::lrn_backward(xr, dyr, d, spec), 1e-5, 1e-4)) << "dx";
  }
}

TEST_P(KernelMath, MaxPoolMatchesReference) {
  const bool cl = GetParam();
  std::mt19937 rng(72);
  for (const PoolSpec& s : {PoolSpec{3, 2, 0}, PoolSpec{3, 2, 1}, PoolSpec{2, 2, 0}, PoolSpec{3, 1, 1}}) {
    const ref::Dims4 d{2, 3, 9, 8};
    ref::Dims4 od{};
    std::vector<int64_t> ref_argmax;
    const auto x = distinct_values(rng, static_cast<size_t>(d.size()), 1e-3);
    const auto ry = ref::maxpool_forward(x, d, s, &od, &ref_argmax);
    const auto dy = random_vector(rng, static_cast<size_t>(od.size()), -1, 1);
    const auto xm = to_memory(x, d, cl), dym = to_memory(dy, od, cl);
    std::vector<float> y(static_cast<size_t>(od.size())), dx(xm.size());
    std::vector<int32_t> argmax(y.size());
    for (int64_t n = 0; n < d.n; ++n)
      for (int64_t c = 0; c < d.c; ++c)
        for (int64_t p = 0; p < od.h * od.w; ++p) {
          const auto o = static_cast<size_t>(act_index(n, c, p, d.c, od.h * od.w, cl));
          y[o] = kmath::pool_max(xm.data(), n, c, p / od.w, p % od.w, d.c, d.h, d.w, cl, s.kernel, s.stride, s.pad,
                                 &argmax[o]);
        }
    for (int64_t n = 0; n < d.n; ++n)
      for (int64_t c = 0; c < d.c; ++c)
        for (int64_t p = 0; p < d.h * d.w; ++p)
          dx[static_cast<size_t>(act_index(n, c, p, d.c, d.h * d.w, cl))] = kmath::pool_grad(
              dym.data(), argmax.data(), n, c, p / d.w, p % d.w, d.c, d.w, od.h, od.w, cl, s.kernel, s.stride, s.pad);
    SCOPED_TRACE("k=" + std::to_string(s.kernel) + " s=" + std::to_string(s.stride) + " p=" + std::to_string(s.pad));
    std::vector<double> dyr(dy.size());
    for (size_t i = 0; i < dy.size(); ++i) dyr[i] = static_cast<float>(dy[i]);
    std::vector<double> xr(x.size());
    for (size_t i = 0; i < x.size(); ++i) xr[i] = static_cast<float>(x[i]);
    EXPECT_TRUE(all_close(from_memory(y, od, cl), ref::maxpool_forward(xr, d, s, &od, &ref_argmax), 0, 0)) << "y";
    EXPECT_TRUE(all_close(from_memory(dx, d, cl), ref::maxpool_backward(dyr, ref_argmax, d.size()), 1e-6, 1e-6))
        << "dx";
  }
}

INSTANTIATE_TEST_SUITE_P(Orders, KernelMath, ::testing::Values(false, true),
                         [](const auto& info) { return std::string(info.param ? "channels_last" : "nchw"); });

}  // namespace
}  // namespace alexnet::test

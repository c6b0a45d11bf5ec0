// Dropout on every backend: the mask is the documented hash of (seed, counter, index), kept at
// rate 1-p, reused by backward, reproducible from (seed, counter), identity at inference.
#include <cmath>

#include "layers/dropout.h"
#include "test_util.h"

namespace alexnet::test {
namespace {

class DropoutTest : public BackendTest {};

// y = x * keep / (1 - p) with the mask drawn for (seed, counter); in memory order of the layout,
// so the host copy is permuted accordingly.
std::vector<double> expected_dropout(const std::vector<double>& x_nchw, const Shape& s, Layout layout, double p,
                                     uint64_t seed, uint64_t counter) {
  std::vector<double> y(x_nchw.size());
  const uint64_t base = dropout_base(seed, counter);
  const uint32_t threshold = dropout_threshold(p);
  for (int64_t n = 0; n < s.n(); ++n)
    for (int64_t c = 0; c < s.c(); ++c)
      for (int64_t h = 0; h < s.h(); ++h)
        for (int64_t w = 0; w < s.w(); ++w) {
          const auto i = static_cast<size_t>(offset4(s, Layout::nchw, n, c, h, w));
          const auto mem = static_cast<uint64_t>(offset4(s, layout, n, c, h, w));
          y[i] = dropout_keep(base, mem, threshold) ? x_nchw[i] / (1 - p) : 0.0;
        }
  return y;
}

TEST_P(DropoutTest, ForwardIsTheDocumentedMaskAndBackwardReusesIt) {
  const Backend be = GetParam();
  std::mt19937 rng(41);
  const Shape s{3, channels(be, 5), 4, 7};
  const double p = 0.5;
  Dropout drop("drop", p, s, be.layout, be.device, /*seed=*/1234, be.precision);
  TestTensor x(s, be), y(s, be), dy(s, be), dx(s, be);
  x.fill_uniform(rng, 0.5, 1.5);  // never zero: a zero output means dropped
  dy.fill_uniform(rng, 0.5, 1.5);
  for (uint64_t step = 0; step < 3; ++step) {
    SCOPED_TRACE("call " + std::to_string(step));
    EXPECT_EQ(drop.counter(), step);
    drop.forward(x.t(), y.t());
    drop.backward(dy.t(), dx.t());
    EXPECT_TRUE(close_for(be, y.download(), expected_dropout(x.host(), s, be.layout, p, 1234, step), 1e-6, 1e-6));
    EXPECT_TRUE(close_for(be, dx.download(), expected_dropout(dy.host(), s, be.layout, p, 1234, step), 1e-6, 1e-6));
  }
}

TEST_P(DropoutTest, KeepRateMasksDifferAndResumeReproduces) {
  const Backend be = GetParam();
  const Shape s{8, 64, 16, 16};  // 131072 elements
  const double p = 0.3;
  Dropout drop("drop", p, s, be.layout, be.device, 99, be.precision);
  TestTensor x(s, be), y1(s, be), y2(s, be), y3(s, be);
  std::fill(x.host().begin(), x.host().end(), 1.0);
  x.upload();
  drop.forward(x.t(), y1.t());
  drop.forward(x.t(), y2.t());
  const auto a = y1.download(), b = y2.download();
  // A kept 1 is 1 / (1 - p) as the activations store it (bf16: rounded to 8 bits, 1.4296875).
  const double scale = 1 / (1 - p);
  const double stored = be.precision == Precision::bf16 ? bf16_value(bf16_bits(static_cast<float>(scale))) : scale;
  double kept = 0, same = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    kept += a[i] != 0;
    same += (a[i] != 0) == (b[i] != 0);
    if (a[i] != 0) {
      EXPECT_NEAR(a[i], stored, 1e-6);
    }
  }
  const double n = static_cast<double>(a.size());
  const double sigma = std::sqrt(p * (1 - p) / n);
  EXPECT_NEAR(kept / n, 1 - p, 6 * sigma);                 // keep rate 0.7
  EXPECT_NEAR(same / n, p * p + (1 - p) * (1 - p), 0.01);  // independent masks agree 58%
  drop.set_counter(1);                                     // resume at the second call
  drop.forward(x.t(), y3.t());
  EXPECT_TRUE(close_for(be, y3.download(), b, 0, 0));
  Dropout other("drop", p, s, be.layout, be.device, 100, be.precision);  // another seed, another mask
  other.forward(x.t(), y3.t());
  EXPECT_FALSE(all_close(y3.download(), a, 0, 0));
}

TEST_P(DropoutTest, InferenceIsIdentity) {
  const Backend be = GetParam();
  std::mt19937 rng(43);
  const Shape s{2, 33};
  Dropout drop("drop", 0.5, s, be.layout, be.device, 7, be.precision);
  drop.set_training(false);
  TestTensor x(s, be), y(s, be), dx(s, be);
  x.fill_uniform(rng, -1, 1);
  drop.forward(x.t(), y.t());
  drop.backward(x.t(), dx.t());
  EXPECT_TRUE(close_for(be, y.download(), x.host(), 0, 0));
  EXPECT_TRUE(close_for(be, dx.download(), x.host(), 0, 0));
  EXPECT_EQ(drop.counter(), 0u);
}

TEST_P(DropoutTest, FiniteDifferenceGradient) {
  const Backend be = GetParam();
  if (be.precision != Precision::fp32) GTEST_SKIP() << "finite differences need fp32 activations";
  std::mt19937 rng(44);
  const Shape s{be.layout == Layout::nchw16c ? 1 : 2, channels(be, 3), 2, 2};
  Dropout drop("drop", 0.5, s, be.layout, be.device, 5, be.precision);
  TestTensor x(s, be), y(s, be), dy(s, be), dx(s, be);
  x.fill_uniform(rng, -1, 1);
  dy.fill_uniform(rng, -1, 1);
  drop.forward(x.t(), y.t());
  drop.backward(dy.t(), dx.t());
  auto loss = [&] {
    drop.set_counter(0);  // the same mask on every evaluation
    drop.forward(x.t(), y.t());
    return dot(y.download(), dy.host());
  };
  EXPECT_TRUE(all_close(dx.download(),
                        numeric_grad(
                            x.host(), [&] { x.upload(); }, loss, 1e-2),
                        1e-4, 1e-3));
}

INSTANTIATE_TEST_SUITE_P(Backends, DropoutTest, ::testing::ValuesIn(activation_backends()), backend_name);

TEST(DropoutSpecTest, Validation) {
  EXPECT_THROW(Dropout("d", 1.0, Shape{2, 2}, Layout::nchw, Device::cpu(), 0), Error);
  EXPECT_THROW(Dropout("d", -0.1, Shape{2, 2}, Layout::nchw, Device::cpu(), 0), Error);
  Dropout d("d", 0.5, Shape{2, 2}, Layout::nchw, Device::cpu(), 0);
  OwnedTensor t(Shape{2, 2}, Device::cpu());
  EXPECT_THROW(d.backward(*t, *t), Error);  // backward before any forward
  EXPECT_EQ(dropout_threshold(0.5), 1u << 23);
}

}  // namespace
}  // namespace alexnet::test

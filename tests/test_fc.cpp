// Fully connected on every backend against the double reference (batch 1, odd feature counts),
// backward with and without the input gradient, and a finite-difference check.
#include <cmath>

#include "layers/fc.h"
#include "test_util.h"

namespace alexnet::test {
namespace {

class FcTest : public BackendTest {};

struct FcCase {
  int64_t n;
  FcSpec spec;
};

TEST_P(FcTest, ForwardAndBackwardMatchReference) {
  const Backend be = GetParam();
  std::mt19937 rng(51);
  for (const FcCase& c :
       {FcCase{1, {7, 5}}, FcCase{4, {33, 17}}, FcCase{3, {128, 1}}, FcCase{16, {300, 64}}, FcCase{5, {1, 9}}}) {
    const int64_t n = c.n, in = c.spec.in_features, out = c.spec.out_features;
    SCOPED_TRACE("N=" + std::to_string(n) + " " + std::to_string(in) + "->" + std::to_string(out));
    FullyConnected fc("fc", c.spec, n, be.device, {.precision = be.precision});
    TestTensor x(fc.input_shape(), be), w(fc.weight_shape(), fp32_of(be)), b(fc.bias_shape(), fp32_of(be)),
        y(fc.output_shape(), be), dy(fc.output_shape(), be), dx(fc.input_shape(), be),
        dw(fc.weight_shape(), fp32_of(be)), db(fc.bias_shape(), fp32_of(be));
    x.fill_uniform(rng, -1, 1);
    w.fill_uniform(rng, -1 / std::sqrt(double(in)), 1 / std::sqrt(double(in)));
    b.fill_uniform(rng, -0.5, 0.5);
    dy.fill_uniform(rng, -1, 1);
    for (auto* t : {&y, &dx, &dw, &db}) t->fill_nan();
    fc.forward(x.t(), w.t(), b.t(), y.t());
    fc.backward(x.t(), w.t(), dy.t(), dx.t(), dw.t(), db.t());
    EXPECT_TRUE(close_for(be, y.download(), ref::fc_forward(x.host(), w.host(), b.host(), n, in, out), 1e-5, 1e-4))
        << "y";
    std::vector<double> rdx, rdw, rdb;
    ref::fc_backward(x.host(), w.host(), dy.host(), n, in, out, &rdx, &rdw, &rdb);
    EXPECT_TRUE(close_for(be, dx.download(), rdx, 1e-5, 1e-4)) << "dx";
    EXPECT_TRUE(close_for(be, dw.download(), rdw, 1e-5, 1e-4)) << "dw";
    EXPECT_TRUE(close_for(be, db.download(), rdb, 1e-5, 1e-4)) << "db";
  }
}

// Backward multiplies by the W it is given, not by one an earlier call saw (the CPU's bf16 reuses
// the forward's bf16 copy of W only for that same W, straight after that forward).
TEST_P(FcTest, BackwardUsesTheWeightsItIsGiven) {
  const Backend be = GetParam();
  std::mt19937 rng(57);
  const int64_t n = 4, in = 48, out = 20;
  FullyConnected fc("fc", {in, out}, n, be.device, {.precision = be.precision});
  TestTensor x(fc.input_shape(), be), w1(fc.weight_shape(), fp32_of(be)), w2(fc.weight_shape(), fp32_of(be)),
      b(fc.bias_shape(), fp32_of(be)), y(fc.output_shape(), be), dy(fc.output_shape(), be), dx(fc.input_shape(), be),
      dw(fc.weight_shape(), fp32_of(be)), db(fc.bias_shape(), fp32_of(be));
  x.fill_uniform(rng, -1, 1);
  w1.fill_uniform(rng, -0.3, 0.3);
  w2.fill_uniform(rng, -0.3, 0.3);
  b.fill_uniform(rng, -0.5, 0.5);
  dy.fill_uniform(rng, -1, 1);
  fc.forward(x.t(), w1.t(), b.t(), y.t());
  for (TestTensor* w : {&w2, &w1}) {  // another W than the forward's, then the forward's again
    SCOPED_TRACE(w == &w2 ? "another W" : "the forward's W after a backward");
    dx.fill_nan();
    fc.backward(x.t(), w->t(), dy.t(), dx.t(), dw.t(), db.t());
    std::vector<double> rdx, rdw, rdb;
    ref::fc_backward(x.host(), w->host(), dy.host(), n, in, out, &rdx, &rdw, &rdb);
    EXPECT_TRUE(close_for(be, dx.download(), rdx, 1e-5, 1e-4)) << "dx";
  }
}

TEST_P(FcTest, FusedReluForward) {
  const Backend be = GetParam();
  std::mt19937 rng(55);
  FullyConnected fc("fc", {40, 24}, 6, be.device, {.precision = be.precision, .relu = true});
  TestTensor x(fc.input_shape(), be), w(fc.weight_shape(), fp32_of(be)), b(fc.bias_shape(), fp32_of(be)),
      y(fc.output_shape(), be);
  x.fill_uniform(rng, -1, 1);
  w.fill_uniform(rng, -0.3, 0.3);
  b.fill_uniform(rng, -0.5, 0.5);
  y.fill_nan();
  fc.forward(x.t(), w.t(), b.t(), y.t());
  const auto expected = ref::relu_forward(ref::fc_forward(x.host(), w.host(), b.host(), 6, 40, 24));
  size_t zeros = 0;
  for (double v : expected) zeros += v == 0;
  ASSERT_GT(zeros, expected.size() / 8) << "too few negative pre-activations to test the ReLU";
  EXPECT_TRUE(close_for(be, y.download(), expected, 1e-5, 1e-4));
}

TEST_P(FcTest, AcceptsAFlattenedActivation) {
  // fc6 reads pool5's (N, C, H, W) output flattened in its memory order.
  const Backend be = GetParam();
  std::mt19937 rng(52);
  const Shape act{2, channels(be, 4), 3, 3};
  const int64_t features = act.numel() / 2;
  FullyConnected fc("fc6", {features, 5}, 2, be.device, {.precision = be.precision});
  TestTensor x(act, be), w(fc.weight_shape(), fp32_of(be)), b(fc.bias_shape(), fp32_of(be)), y(fc.output_shape(), be);
  x.fill_uniform(rng, -1, 1);
  w.fill_uniform(rng, -0.2, 0.2);
  b.fill_uniform(rng, -0.2, 0.2);
  fc.forward(x.t().reshaped(Shape{2, features}), w.t(), b.t(), y.t());
  // The reference sees the features in the layout's memory order.
  std::vector<double> flat(static_cast<size_t>(act.numel()));
  for (int64_t n = 0; n < 2; ++n)
    for (int64_t c = 0; c < act.c(); ++c)
      for (int64_t h = 0; h < 3; ++h)
        for (int64_t w2 = 0; w2 < 3; ++w2)
          flat[static_cast<size_t>(offset4(act, be.layout, n, c, h, w2))] =
              x.host()[static_cast<size_t>(offset4(act, Layout::nchw, n, c, h, w2))];
  EXPECT_TRUE(close_for(be, y.download(), ref::fc_forward(flat, w.host(), b.host(), 2, features, 5), 1e-5, 1e-4));
}

TEST_P(FcTest, FiniteDifferenceGradient) {
  const Backend be = GetParam();
  if (be.precision != Precision::fp32) GTEST_SKIP() << "finite differences need fp32 products";
  std::mt19937 rng(53);
  FullyConnected fc("fc", {6, 4}, 3, be.device);
  TestTensor x(fc.input_shape(), be), w(fc.weight_shape(), fp32_of(be)), b(fc.bias_shape(), fp32_of(be)),
      y(fc.output_shape(), be), dy(fc.output_shape(), be), dx(fc.input_shape(), be), dw(fc.weight_shape(), fp32_of(be)),
      db(fc.bias_shape(), fp32_of(be));
  x.fill_uniform(rng, -1, 1);
  w.fill_uniform(rng, -0.5, 0.5);
  b.fill_uniform(rng, -0.5, 0.5);
  dy.fill_uniform(rng, -1, 1);
  fc.backward(x.t(), w.t(), dy.t(), dx.t(), dw.t(), db.t());
  auto loss = [&] {
    fc.forward(x.t(), w.t(), b.t(), y.t());
    return dot(y.download(), dy.host());
  };
  EXPECT_TRUE(all_close(dx.download(),
                        numeric_grad(
                            x.host(), [&] { x.upload(); }, loss, 1e-2),
                        1e-3, 1e-3))
      << "dx";
  EXPECT_TRUE(all_close(dw.download(),
                        numeric_grad(
                            w.host(), [&] { w.upload(); }, loss, 1e-2),
                        1e-3, 1e-3))
      << "dw";
  EXPECT_TRUE(all_close(db.download(),
                        numeric_grad(
                            b.host(), [&] { b.upload(); }, loss, 1e-2),
                        1e-3, 1e-3))
      << "db";
}

TEST_P(FcTest, BackwardWithoutInputGradient) {
  const Backend be = GetParam();
  std::mt19937 rng(54);
  FullyConnected fc("fc", {5, 3}, 2, be.device, {.need_input_grad = false, .precision = be.precision});
  TestTensor x(fc.input_shape(), be), w(fc.weight_shape(), fp32_of(be)), dy(fc.output_shape(), be),
      dw(fc.weight_shape(), fp32_of(be)), db(fc.bias_shape(), fp32_of(be));
  x.fill_uniform(rng, -1, 1);
  w.fill_uniform(rng, -1, 1);
  dy.fill_uniform(rng, -1, 1);
  fc.backward(x.t(), w.t(), dy.t(), Tensor{}, dw.t(), db.t());
  std::vector<double> rdx, rdw, rdb;
  ref::fc_backward(x.host(), w.host(), dy.host(), 2, 5, 3, &rdx, &rdw, &rdb);
  EXPECT_TRUE(close_for(be, dw.download(), rdw, 1e-5, 1e-4));
  EXPECT_TRUE(close_for(be, db.download(), rdb, 1e-5, 1e-4));
}

INSTANTIATE_TEST_SUITE_P(Backends, FcTest, ::testing::ValuesIn(precision_backends()), backend_name);

TEST(FcSpecTest, Validation) {
  EXPECT_THROW(FullyConnected("fc", {0, 3}, 2, Device::cpu()), Error);
  EXPECT_THROW(FullyConnected("fc", {3, 3}, 0, Device::cpu()), Error);
  FullyConnected fc6("fc6", {9216, 2048}, 1, Device::cpu());
  EXPECT_EQ(fc6.param_count(), 9216 * 2048 + 2048);
}

}  // namespace
}  // namespace alexnet::test

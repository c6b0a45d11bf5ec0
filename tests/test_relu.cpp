// ReLU on every backend: out of place and in place, 4-D in each layout and 2-D, against the
// reference, plus a finite-difference check away from the kink.
#include "layers/relu.h"
#include "test_util.h"

namespace alexnet::test {
namespace {

class ReluTest : public BackendTest {};

TEST_P(ReluTest, ForwardAndBackwardMatchReference) {
  const Backend be = GetParam();
  std::mt19937 rng(31);
  for (const Shape& s : {Shape{2, 5, 7, 3}, Shape{1, 1, 1, 1}, Shape{3, 37}, Shape{4, 16, 6, 6}}) {
    if (!layout_fits(s, be.layout)) continue;
    SCOPED_TRACE(s.str());
    Relu relu("relu", s, be.layout, be.device, be.precision);
    TestTensor x(s, be), y(s, be), dy(s, be), dx(s, be);
    x.fill_uniform(rng, -1, 1);
    dy.fill_uniform(rng, -1, 1);
    y.fill_nan();
    dx.fill_nan();
    relu.forward(x.t(), y.t());
    relu.backward(y.t(), dy.t(), dx.t());
    const auto ry = ref::relu_forward(x.host());
    EXPECT_TRUE(close_for(be, y.download(), ry, 0, 0)) << "y";
    EXPECT_TRUE(close_for(be, dx.download(), ref::relu_backward(ry, dy.host()), 0, 0)) << "dx";
  }
}

TEST_P(ReluTest, InPlace) {
  const Backend be = GetParam();
  std::mt19937 rng(32);
  const Shape s{2, channels(be, 3), 4, 5};
  Relu relu("relu", s, be.layout, be.device, be.precision);
  TestTensor x(s, be), dy(s, be);
  x.fill_uniform(rng, -1, 1);
  dy.fill_uniform(rng, -1, 1);
  const auto ry = ref::relu_forward(x.host());
  const auto rdx = ref::relu_backward(ry, dy.host());
  relu.forward(x.t(), x.t());
  relu.backward(x.t(), dy.t(), dy.t());
  EXPECT_TRUE(close_for(be, x.download(), ry, 0, 0)) << "y in place of x";
  EXPECT_TRUE(close_for(be, dy.download(), rdx, 0, 0)) << "dx in place of dy";
}

TEST_P(ReluTest, FiniteDifferenceGradient) {
  const Backend be = GetParam();
  if (be.precision != Precision::fp32) GTEST_SKIP() << "finite differences need fp32 activations";
  std::mt19937 rng(33);
  const Shape s{2, channels(be, 3), 3, 3};
  Relu relu("relu", s, be.layout, be.device, be.precision);
  TestTensor x(s, be), y(s, be), dy(s, be), dx(s, be);
  x.host() = distinct_values(rng, static_cast<size_t>(s.numel()), 0.05);
  for (auto& v : x.host()) v += 0.025;  // no value within eps of the kink at 0
  x.upload();
  dy.fill_uniform(rng, -1, 1);
  relu.forward(x.t(), y.t());
  relu.backward(y.t(), dy.t(), dx.t());
  auto loss = [&] {
    relu.forward(x.t(), y.t());
    return dot(y.download(), dy.host());
  };
  EXPECT_TRUE(all_close(dx.download(),
                        numeric_grad(
                            x.host(), [&] { x.upload(); }, loss, 1e-2),
                        1e-4, 1e-3));
}

INSTANTIATE_TEST_SUITE_P(Backends, ReluTest, ::testing::ValuesIn(activation_backends()), backend_name);

}  // namespace
}  // namespace alexnet::test

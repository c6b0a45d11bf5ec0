// LRN on every backend against the double reference, in both conventions (paper: k=2, alpha*sum;
// Caffe/PyTorch: k=1, alpha/n*sum), with channel counts below, at and above the window.
#include "layers/lrn.h"
#include "test_util.h"

namespace alexnet::test {
namespace {

struct LrnCase {
  Shape shape;
  LrnSpec spec;
};

std::vector<LrnCase> cases() {
  LrnSpec big_alpha = LrnSpec::paper();
  big_alpha.alpha = 0.05;  // make the normalisation matter at unit-scale inputs
  LrnSpec caffe_big = LrnSpec::caffe();
  caffe_big.alpha = 0.5;
  LrnSpec size3 = LrnSpec::paper();
  size3.size = 3;
  size3.alpha = 0.1;
  size3.beta = 0.6;
  return {
      {Shape{2, 8, 5, 5}, big_alpha},         {Shape{1, 7, 3, 4}, caffe_big},  {Shape{3, 3, 4, 3}, big_alpha},  // C < n
      {Shape{2, 1, 3, 3}, caffe_big},         {Shape{2, 6, 5, 3}, size3},      {Shape{2, 48, 5, 5}, LrnSpec::paper()},
      {Shape{1, 16, 4, 4}, LrnSpec::caffe()}, {Shape{2, 32, 3, 3}, big_alpha},
  };
}

class LrnTest : public BackendTest {};

TEST_P(LrnTest, ForwardAndBackwardMatchReference) {
  const Backend be = GetParam();
  std::mt19937 rng(11);
  for (const auto& c : cases()) {
    if (!layout_fits(c.shape, be.layout)) continue;
    SCOPED_TRACE(c.shape.str() + " " + c.spec.str());
    Lrn lrn("norm", c.spec, c.shape, be.layout, be.device, be.precision);
    TestTensor x(c.shape, be), y(c.shape, be), dy(c.shape, be), dx(c.shape, be);
    x.fill_uniform(rng, -3, 3);
    dy.fill_uniform(rng, -1, 1);
    y.fill_nan();
    dx.fill_nan();
    lrn.forward(x.t(), y.t());
    lrn.backward(x.t(), dy.t(), dx.t());
    const auto d = dims4(c.shape);
    EXPECT_TRUE(close_for(be, y.download(), ref::lrn_forward(x.host(), d, c.spec), 1e-5, 1e-4, c.shape)) << "y";
    EXPECT_TRUE(close_for(be, dx.download(), ref::lrn_backward(x.host(), dy.host(), d, c.spec), 1e-5, 1e-4, c.shape))
        << "dx";
  }
}

TEST_P(LrnTest, ConventionsDifferAsDocumented) {
  // The same numbers under both conventions: paper alpha = a equals caffe alpha = a * n.
  const Backend be = GetParam();
  std::mt19937 rng(12);
  const Shape s{2, channels(be, 9), 3, 3};
  LrnSpec paper{5, 0.02, 0.75, 2.0, LrnConvention::paper};
  LrnSpec caffe{5, 0.1, 0.75, 2.0, LrnConvention::caffe};
  Lrn a("a", paper, s, be.layout, be.device, be.precision), b("b", caffe, s, be.layout, be.device, be.precision);
  TestTensor x(s, be), ya(s, be), yb(s, be);
  x.fill_uniform(rng, -3, 3);
  a.forward(x.t(), ya.t());
  b.forward(x.t(), yb.t());
  EXPECT_TRUE(close_for(be, ya.download(), yb.download(), 1e-6, 1e-6));
  caffe.alpha = 0.02;  // the same alpha under the other convention normalises less
  Lrn c("c", caffe, s, be.layout, be.device, be.precision);
  TestTensor yc(s, be);
  c.forward(x.t(), yc.t());
  EXPECT_FALSE(all_close(ya.download(), yc.download(), 1e-6, 1e-6));
}

TEST_P(LrnTest, FiniteDifferenceGradient) {
  const Backend be = GetParam();
  if (be.precision != Precision::fp32) GTEST_SKIP() << "finite differences need fp32 activations";
  std::mt19937 rng(13);
  const Shape s{be.layout == Layout::nchw16c ? 1 : 2, channels(be, 6), 3, 2};
  LrnSpec spec = LrnSpec::paper();
  spec.alpha = 0.2;
  Lrn lrn("norm", spec, s, be.layout, be.device, be.precision);
  TestTensor x(s, be), y(s, be), dy(s, be), dx(s, be);
  x.fill_uniform(rng, -2, 2);
  dy.fill_uniform(rng, -1, 1);
  lrn.forward(x.t(), y.t());
  lrn.backward(x.t(), dy.t(), dx.t());
  auto loss = [&] {
    lrn.forward(x.t(), y.t());
    return dot(y.download(), dy.host());
  };
  EXPECT_TRUE(all_close(dx.download(),
                        numeric_grad(
                            x.host(), [&] { x.upload(); }, loss, 1e-2),
                        2e-3, 5e-3));
}

INSTANTIATE_TEST_SUITE_P(Backends, LrnTest, ::testing::ValuesIn(activation_backends()), backend_name);

TEST(LrnSpecTest, ConventionsAndValidation) {
  EXPECT_DOUBLE_EQ(LrnSpec::paper().sum_coefficient(), 1e-4);
  EXPECT_DOUBLE_EQ(LrnSpec::paper().k, 2.0);
  EXPECT_DOUBLE_EQ(LrnSpec::caffe().sum_coefficient(), 1e-4 / 5);
  EXPECT_DOUBLE_EQ(LrnSpec::caffe().k, 1.0);
  EXPECT_EQ(parse_lrn_convention("paper"), LrnConvention::paper);
  EXPECT_EQ(parse_lrn_convention("caffe"), LrnConvention::caffe);
  EXPECT_THROW(parse_lrn_convention("tf"), Error);
  LrnSpec even = LrnSpec::paper();
  even.size = 4;
  EXPECT_THROW(Lrn("n", even, Shape{1, 4, 2, 2}, Layout::nchw, Device::cpu()), Error);
}

}  // namespace
}  // namespace alexnet::test

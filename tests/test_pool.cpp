// Max pooling on every backend against the double reference (overlapping 3/2, 2/2, padding, odd
// sizes, batch 1), with distinct input values so that the argmax is unambiguous.
#include "layers/pool.h"
#include "test_util.h"

namespace alexnet::test {
namespace {

struct PoolCase {
  Shape shape;
  PoolSpec spec;
};

std::vector<PoolCase> cases() {
  return {{Shape{2, 3, 7, 7}, {3, 2, 0}}, {Shape{1, 4, 13, 13}, {3, 2, 0}}, {Shape{2, 2, 6, 9}, {2, 2, 0}},
          {Shape{3, 5, 8, 7}, {3, 2, 1}}, {Shape{1, 1, 5, 5}, {3, 1, 1}},   {Shape{2, 16, 27, 27}, {3, 2, 0}},
          {Shape{2, 32, 8, 7}, {3, 2, 1}}};
}

class PoolTest : public BackendTest {};

TEST_P(PoolTest, ForwardAndBackwardMatchReference) {
  const Backend be = GetParam();
  std::mt19937 rng(21);
  for (const auto& c : cases()) {
    if (!layout_fits(c.shape, be.layout)) continue;
    std::ostringstream name;
    name << c.shape.str() << " k" << c.spec.kernel << " s" << c.spec.stride << " p" << c.spec.pad;
    SCOPED_TRACE(name.str());
    MaxPool pool("pool", c.spec, c.shape, be.layout, be.device, be.precision);
    TestTensor x(c.shape, be), y(pool.output_shape(), be), dy(pool.output_shape(), be), dx(c.shape, be);
    x.host() = distinct_values(rng, static_cast<size_t>(c.shape.numel()), 0.01);
    x.upload();
    dy.fill_uniform(rng, -1, 1);
    y.fill_nan();
    dx.fill_nan();
    pool.forward(x.t(), y.t());
    pool.backward(dy.t(), dx.t());
    ref::Dims4 yd{};
    std::vector<int64_t> argmax;
    auto ry = ref::maxpool_forward(x.host(), dims4(c.shape), c.spec, &yd, &argmax);
    ASSERT_EQ(yd.size(), pool.output_shape().numel());
    EXPECT_TRUE(close_for(be, y.download(), ry, 0, 0, pool.output_shape())) << "y";
    EXPECT_TRUE(
        close_for(be, dx.download(), ref::maxpool_backward(dy.host(), argmax, c.shape.numel()), 1e-6, 1e-6, c.shape))
        << "dx";
  }
}

TEST_P(PoolTest, FiniteDifferenceGradient) {
  const Backend be = GetParam();
  if (be.precision != Precision::fp32) GTEST_SKIP() << "finite differences need fp32 activations";
  std::mt19937 rng(22);
  const Shape s{be.layout == Layout::nchw16c ? 1 : 2, channels(be, 3), 5, 5};
  MaxPool pool("pool", {3, 2, 0}, s, be.layout, be.device);
  TestTensor x(s, be), y(pool.output_shape(), be), dy(pool.output_shape(), be), dx(s, be);
  x.host() = distinct_values(rng, static_cast<size_t>(s.numel()), 0.1);  // gap 0.1 > 2 eps: no kinks
  x.upload();
  dy.fill_uniform(rng, -1, 1);
  pool.forward(x.t(), y.t());
  pool.backward(dy.t(), dx.t());
  auto loss = [&] {
    pool.forward(x.t(), y.t());
    return dot(y.download(), dy.host());
  };
  EXPECT_TRUE(all_close(dx.download(),
                        numeric_grad(
                            x.host(), [&] { x.upload(); }, loss, 1e-2),
                        1e-3, 1e-3));
}

INSTANTIATE_TEST_SUITE_P(Backends, PoolTest, ::testing::ValuesIn(activation_backends()), backend_name);

TEST(PoolSpecTest, AlexNetSizes) {
  EXPECT_EQ(MaxPool("p1", {3, 2, 0}, Shape{1, 48, 55, 55}, Layout::nhwc, Device::cpu()).output_shape(),
            (Shape{1, 48, 27, 27}));
  EXPECT_EQ(MaxPool("p5", {3, 2, 0}, Shape{1, 128, 13, 13}, Layout::nhwc, Device::cpu()).output_shape(),
            (Shape{1, 128, 6, 6}));
  EXPECT_THROW(MaxPool("p", {5, 2, 0}, Shape{1, 1, 4, 4}, Layout::nchw, Device::cpu()), Error);
}

}  // namespace
}  // namespace alexnet::test

// Convolution on every backend against the double reference: forward and backward on random
// shapes (odd sizes, groups, strides, padding, batch 1), and a finite-difference gradient check.
#include <cmath>

#include "layers/backend_info.h"
#include "layers/conv.h"
#include "test_util.h"

namespace alexnet::test {
namespace {

struct ConvCase {
  int64_t n, h, w;
  ConvSpec spec;
  // A shape AlexNet never runs (groups 3, 1-4 channels per group, stride 3): cuDNN may have no
  // engine for it, as NVIDIA's own convolution fuzzer expects of such grouped convolutions.
  bool exotic = false;
};

std::string describe(const ConvCase& c) {
  std::ostringstream os;
  os << "N=" << c.n << " C=" << c.spec.in_channels << " HxW=" << c.h << "x" << c.w << " O=" << c.spec.out_channels
     << " k=" << c.spec.kernel << " s=" << c.spec.stride << " p=" << c.spec.pad << " g=" << c.spec.groups;
  return os.str();
}

std::vector<ConvCase> cases() {
  std::vector<ConvCase> v = {
      {1, 9, 9, {3, 4, 3, 1, 1, 1}},        // batch 1, same padding
      {2, 23, 23, {3, 8, 11, 4, 0, 1}},     // conv1-like: 11x11 stride 4
      {2, 11, 9, {6, 4, 5, 1, 2, 2}},       // conv2-like: 5x5 pad 2, groups 2, non-square
      {3, 7, 7, {4, 6, 3, 1, 1, 2}},        // conv4/5-like: 3x3 pad 1 groups 2
      {2, 8, 5, {6, 9, 3, 2, 0, 3}, true},  // groups 3, stride 2, odd output channels
      {1, 6, 6, {5, 3, 1, 1, 0, 1}},        // 1x1 kernel, odd channels
      // Whole blocks of 16 channels per group, so that the blocked layout runs them too.
      {2, 9, 7, {16, 32, 3, 1, 1, 1}},
      {2, 11, 11, {32, 32, 5, 1, 2, 2}},
      {1, 13, 13, {32, 16, 3, 2, 0, 1}},
  };
  std::mt19937 rng(20240601);  // a fixed, random-looking set of shapes
  for (int i = 0; i < 6; ++i) {
    std::uniform_int_distribution<int> g_d(1, 3), cpg(1, 4), k_d(0, 2), s_d(1, 3), n_d(1, 3);
    ConvSpec s;
    s.groups = g_d(rng);
    s.in_channels = s.groups * cpg(rng);
    s.out_channels = s.groups * cpg(rng);
    s.kernel = 1 + 2 * k_d(rng);
    s.stride = s_d(rng);
    s.pad = std::uniform_int_distribution<int>(0, s.kernel / 2)(rng);
    std::uniform_int_distribution<int> hw(s.kernel, 15);
    v.push_back({n_d(rng), hw(rng), hw(rng), s, true});
  }
  return v;
}

// The blocked layout needs whole blocks of channels in every group.
bool runs_on(const ConvCase& c, const Backend& be) {
  if (be.layout != Layout::nchw16c) return true;
  return (c.spec.in_channels / c.spec.groups) % kBlock == 0 && (c.spec.out_channels / c.spec.groups) % kBlock == 0;
}

ConvOptions options(const Backend& be) {
  ConvOptions o;
  o.precision = be.precision;
  return o;
}

// The convolution of case c, or nullptr when it is an exotic shape for which cuDNN offers no
// engine on this GPU (the reason goes into *lacking); every other failure is the test's.
std::unique_ptr<Conv> build(const ConvCase& c, const Backend& be, std::vector<std::string>* lacking) {
  const Shape in{c.n, c.spec.in_channels, c.h, c.w};
  try {
    return std::make_unique<Conv>("conv", c.spec, in, be.layout, be.device, options(be));
  } catch (const Error& e) {
    const std::string what = e.what();
    if (!be.device.is_cuda() || !c.exotic || what.find("no cuDNN engine") == std::string::npos) throw;
    lacking->push_back(describe(c) + ": " + what.substr(0, 300));
    return nullptr;
  }
}

// Cases left out for want of a cuDNN engine are said, not hidden (AlexNet's shapes never are).
void report_lacking(const std::vector<std::string>& lacking) {
  for (const std::string& l : lacking) std::printf("  no cuDNN engine, case left out: %s\n", l.c_str());
}

class ConvTest : public BackendTest {};

TEST_P(ConvTest, ForwardMatchesReference) {
  const Backend be = GetParam();
  std::mt19937 rng(1);
  std::vector<std::string> lacking;
  for (const auto& c : cases()) {
    if (!runs_on(c, be)) continue;
    SCOPED_TRACE(describe(c));
    const Shape in{c.n, c.spec.in_channels, c.h, c.w};
    const auto built = build(c, be, &lacking);
    if (!built) continue;
    Conv& conv = *built;
    TestTensor x(in, be), w(conv.weight_shape(), {be.device, Layout::nchw}), b(conv.bias_shape(), fp32_of(be)),
        y(conv.output_shape(), be);
    const double fan_in = static_cast<double>(conv.weight_shape().numel() / c.spec.out_channels);
    x.fill_uniform(rng, -1, 1);
    w.fill_uniform(rng, -1 / std::sqrt(fan_in), 1 / std::sqrt(fan_in));
    b.fill_uniform(rng, -0.5, 0.5);
    y.fill_nan();
    conv.forward(x.t(), w.t(), b.t(), y.t());
    ref::Dims4 yd{};
    auto expected = ref::conv_forward(x.host(), dims4(in), w.host(), b.host(), c.spec, &yd);
    ASSERT_EQ(dims4(conv.output_shape()).size(), yd.size());
    EXPECT_TRUE(close_for(be, y.download(), expected, 1e-5, 1e-4, conv.output_shape()));
  }
  report_lacking(lacking);
}

TEST_P(ConvTest, BackwardMatchesReference) {
  const Backend be = GetParam();
  std::mt19937 rng(2);
  std::vector<std::string> lacking;
  for (const auto& c : cases()) {
    if (!runs_on(c, be)) continue;
    SCOPED_TRACE(describe(c));
    const Shape in{c.n, c.spec.in_channels, c.h, c.w};
    const auto built = build(c, be, &lacking);
    if (!built) continue;
    Conv& conv = *built;
    const Backend plain{be.device, Layout::nchw};
    TestTensor x(in, be), w(conv.weight_shape(), plain), dy(conv.output_shape(), be), dx(in, be),
        dw(conv.weight_shape(), plain), db(conv.bias_shape(), fp32_of(be));
    x.fill_uniform(rng, -1, 1);
    w.fill_uniform(rng, -0.3, 0.3);
    dy.fill_uniform(rng, -1, 1);
    dx.fill_nan();
    dw.fill_nan();
    db.fill_nan();
    conv.backward(x.t(), w.t(), dy.t(), dx.t(), dw.t(), db.t());
    std::vector<double> rdx, rdw, rdb;
    ref::conv_backward(x.host(), dims4(in), w.host(), dy.host(), c.spec, &rdx, &rdw, &rdb);
    EXPECT_TRUE(close_for(be, dx.download(), rdx, 1e-5, 1e-4, in)) << "dx";
    EXPECT_TRUE(close_for(be, dw.download(), rdw, 1e-4, 1e-4)) << "dw";
    EXPECT_TRUE(close_for(be, db.download(), rdb, 1e-4, 1e-4)) << "db";
  }
  report_lacking(lacking);
}

TEST_P(ConvTest, FusedReluForward) {
  // The ReLU that follows, applied by the convolution's forward: y = max(conv + b, 0).
  const Backend be = GetParam();
  std::mt19937 rng(6);
  const ConvSpec spec{channels(be, 6), channels(be, 8), 3, 1, 1, 1};
  const Shape in{2, spec.in_channels, 7, 6};
  ConvOptions o = options(be);
  o.relu = true;
  Conv conv("conv", spec, in, be.layout, be.device, o);
  TestTensor x(in, be), w(conv.weight_shape(), {be.device, Layout::nchw}), b(conv.bias_shape(), fp32_of(be)),
      y(conv.output_shape(), be);
  x.fill_uniform(rng, -1, 1);
  w.fill_uniform(rng, -0.3, 0.3);
  b.fill_uniform(rng, -0.5, 0.5);
  y.fill_nan();
  conv.forward(x.t(), w.t(), b.t(), y.t());
  ref::Dims4 yd{};
  const auto expected = ref::relu_forward(ref::conv_forward(x.host(), dims4(in), w.host(), b.host(), spec, &yd));
  size_t zeros = 0;
  for (double v : expected) zeros += v == 0;
  ASSERT_GT(zeros, expected.size() / 8) << "too few negative pre-activations to test the ReLU";
  EXPECT_TRUE(close_for(be, y.download(), expected, 1e-5, 1e-4, conv.output_shape()));
}

TEST_P(ConvTest, FirstLayerReadsAPlainInputAndComputesNoDx) {
  // conv1: 3-channel images in a plain layout, output in the backend's layout, no dx.
  const Backend be = GetParam();
  std::mt19937 rng(3);
  const ConvSpec spec{3, channels(be, 4), 3, 2, 1, 1};
  const Shape in{2, 3, 9, 9};
  const Backend image_be{be.device, plain_layout(be.layout), be.precision};
  Conv conv("conv1", spec, in, be.layout, be.device, ConvOptions::first_layer(image_be.layout, be.precision));
  const Backend plain{be.device, Layout::nchw};
  TestTensor x(in, image_be), y(conv.output_shape(), be), b(conv.bias_shape(), fp32_of(be)),
      w(conv.weight_shape(), plain), dy(conv.output_shape(), be), dw(conv.weight_shape(), plain),
      db(conv.bias_shape(), fp32_of(be));
  x.fill_uniform(rng, -1, 1);
  w.fill_uniform(rng, -0.3, 0.3);
  dy.fill_uniform(rng, -1, 1);
  b.fill_uniform(rng, -0.5, 0.5);
  conv.forward(x.t(), w.t(), b.t(), y.t());
  ref::Dims4 yd{};
  EXPECT_TRUE(
      close_for(be, y.download(), ref::conv_forward(x.host(), dims4(in), w.host(), b.host(), spec, &yd), 1e-5, 1e-4));
  conv.backward(x.t(), w.t(), dy.t(), Tensor{}, dw.t(), db.t());
  std::vector<double> rdx, rdw, rdb;
  ref::conv_backward(x.host(), dims4(in), w.host(), dy.host(), spec, &rdx, &rdw, &rdb);
  EXPECT_TRUE(close_for(be, dw.download(), rdw, 1e-4, 1e-4));
  EXPECT_TRUE(close_for(be, db.download(), rdb, 1e-4, 1e-4));
}

TEST_P(ConvTest, FiniteDifferenceGradient) {
  const Backend be = GetParam();
  if (be.precision != Precision::fp32) GTEST_SKIP() << "finite differences need fp32 products";
  std::mt19937 rng(4);
  const int64_t c = be.layout == Layout::nchw16c ? 32 : 4;  // two groups of whole blocks
  const ConvSpec spec{c, c, 3, 2, 1, 2};
  const Shape in{be.layout == Layout::nchw16c ? 1 : 2, c, 5, 4};
  Conv conv("conv", spec, in, be.layout, be.device);
  const Backend plain{be.device, Layout::nchw};
  TestTensor x(in, be), w(conv.weight_shape(), plain), b(conv.bias_shape(), fp32_of(be)), y(conv.output_shape(), be),
      dy(conv.output_shape(), be), dx(in, be), dw(conv.weight_shape(), plain), db(conv.bias_shape(), fp32_of(be));
  x.fill_uniform(rng, -1, 1);
  w.fill_uniform(rng, -0.5, 0.5);
  b.fill_uniform(rng, -0.5, 0.5);
  dy.fill_uniform(rng, -1, 1);  // L = sum(dy * y)
  auto loss = [&] {
    conv.forward(x.t(), w.t(), b.t(), y.t());
    return dot(y.download(), dy.host());
  };
  conv.backward(x.t(), w.t(), dy.t(), dx.t(), dw.t(), db.t());
  const double eps = 1e-2;
  EXPECT_TRUE(all_close(dx.download(),
                        numeric_grad(
                            x.host(), [&] { x.upload(); }, loss, eps),
                        2e-3, 2e-3))
      << "dx";
  EXPECT_TRUE(all_close(dw.download(),
                        numeric_grad(
                            w.host(), [&] { w.upload(); }, loss, eps),
                        2e-3, 2e-3))
      << "dw";
  EXPECT_TRUE(all_close(db.download(),
                        numeric_grad(
                            b.host(), [&] { b.upload(); }, loss, eps),
                        2e-3, 2e-3))
      << "db";
}

TEST_P(ConvTest, RejectsWrongShapesNamingTheLayer) {
  const Backend be = GetParam();
  const ConvSpec spec{16, 4 * kBlock, 3, 1, 1, 1};
  Conv conv("conv7", spec, Shape{2, 16, 8, 8}, be.layout, be.device, options(be));
  TestTensor x(Shape{2, 16, 8, 7}, be), w(conv.weight_shape(), {be.device, Layout::nchw}),
      b(conv.bias_shape(), fp32_of(be)), y(conv.output_shape(), be);
  try {
    conv.forward(x.t(), w.t(), b.t(), y.t());
    FAIL() << "no error for a wrong input shape";
  } catch (const Error& e) {
    const std::string want =
        std::string("conv7.forward: x is ") + dtype_name(activation_dtype(be.precision)) + " (2, 16, 8, 7)";
    EXPECT_NE(std::string(e.what()).find(want), std::string::npos) << e.what();
  }
}

// Forward and backward of a convolution built with `algo` against the double reference.
void check_algorithm(const Backend& be, const ConvSpec& spec, const Shape& in, ConvAlgorithm algo, std::mt19937& rng,
                     bool expect_winograd) {
  SCOPED_TRACE(conv_algorithm_name(algo));
  Conv conv("conv3", spec, in, be.layout, be.device, {.algorithm = algo, .precision = be.precision});
  if (expect_winograd) {
    EXPECT_NE(conv.implementation().find("wino"), std::string::npos) << conv.implementation();
  }
  const Backend plain{be.device, Layout::nchw};
  TestTensor x(in, be), w(conv.weight_shape(), plain), b(conv.bias_shape(), fp32_of(be)), y(conv.output_shape(), be),
      dy(conv.output_shape(), be), dx(in, be), dw(conv.weight_shape(), plain), db(conv.bias_shape(), fp32_of(be));
  const double r = 1 / std::sqrt(static_cast<double>(spec.in_channels) * 9);
  x.fill_uniform(rng, -1, 1);
  w.fill_uniform(rng, -r, r);
  b.fill_uniform(rng, -0.5, 0.5);
  dy.fill_uniform(rng, -1, 1);
  conv.forward(x.t(), w.t(), b.t(), y.t());
  conv.backward(x.t(), w.t(), dy.t(), dx.t(), dw.t(), db.t());
  ref::Dims4 yd{};
  std::vector<double> rdx, rdw, rdb;
  ref::conv_backward(x.host(), dims4(in), w.host(), dy.host(), spec, &rdx, &rdw, &rdb);
  // The same tolerances as the direct algorithm.
  EXPECT_TRUE(close_for(be, y.download(), ref::conv_forward(x.host(), dims4(in), w.host(), b.host(), spec, &yd), 1e-5,
                        1e-4, conv.output_shape()))
      << "y";
  EXPECT_TRUE(close_for(be, dx.download(), rdx, 1e-5, 1e-4, in)) << "dx";
  EXPECT_TRUE(close_for(be, dw.download(), rdw, 1e-4, 1e-4)) << "dw";
  EXPECT_TRUE(close_for(be, db.download(), rdb, 1e-4, 1e-4)) << "db";
}

TEST_P(ConvTest, WinogradMatchesReference) {
  // Winograd F(4x4, 3x3) on the CPU needs the blocked layout and AVX-512: there both `winograd` and
  // `automatic` run it; in the CPU's other layouts asking for it fails clearly and `automatic`
  // runs direct. On GPUs both choose among cuDNN's engines by their Winograd notes and must
  // compute the same convolution.
  const Backend be = GetParam();
  std::mt19937 rng(5);
  const ConvSpec spec{32, 48, 3, 1, 1, 1};
  const Shape in{2, 32, 13, 13};
  if (be.device.is_cuda()) {
    for (auto algo : {ConvAlgorithm::winograd, ConvAlgorithm::automatic})
      check_algorithm(be, spec, in, algo, rng, false);
    return;
  }
  const bool blocked = be.layout == Layout::nchw16c;
  // oneDNN has no bf16 Winograd: there, as in the plain layouts, winograd is refused and
  // automatic runs direct.
  const bool bf16 = be.precision == Precision::bf16;
  if (!blocked || !cpu_has_avx512() || bf16) {
    EXPECT_THROW(Conv("conv3", spec, in, be.layout, be.device,
                      {.algorithm = ConvAlgorithm::winograd, .precision = be.precision}),
                 Error);
    check_algorithm(be, spec, in, ConvAlgorithm::automatic, rng, false);
    Conv automatic("conv3", spec, in, be.layout, be.device,
                   {.algorithm = ConvAlgorithm::automatic, .precision = be.precision});
    EXPECT_EQ(automatic.implementation().find("wino"), std::string::npos) << automatic.implementation();
    if (blocked && !bf16)
      GTEST_SKIP() << "oneDNN has Winograd only on AVX-512 CPUs; this one dispatches to " << dnnl_cpu_isa();
    return;
  }
  for (auto algo : {ConvAlgorithm::winograd, ConvAlgorithm::automatic}) check_algorithm(be, spec, in, algo, rng, true);
}

INSTANTIATE_TEST_SUITE_P(Backends, ConvTest, ::testing::ValuesIn(precision_backends()), backend_name);

TEST(ConvSpecTest, RejectsInvalidSpecs) {
  const Shape in{1, 6, 8, 8};
  EXPECT_THROW(Conv("c", ConvSpec{6, 4, 3, 1, 0, 4}, in, Layout::nchw, Device::cpu()), Error);     // 6 % 4
  EXPECT_THROW(Conv("c", ConvSpec{5, 4, 3, 1, 0, 1}, in, Layout::nchw, Device::cpu()), Error);     // C mismatch
  EXPECT_THROW(Conv("c", ConvSpec{6, 4, 11, 1, 0, 1}, in, Layout::nchw, Device::cpu()), Error);    // kernel > input
  EXPECT_THROW(Conv("c", ConvSpec{6, 4, 3, 0, 0, 1}, in, Layout::nchw, Device::cpu()), Error);     // stride 0
  EXPECT_THROW(Conv("c", ConvSpec{6, 4, 3, 1, 0, 1}, in, Layout::nchw16c, Device::cpu()), Error);  // 6 channels blocked
  EXPECT_EQ(parse_conv_algorithm("auto"), ConvAlgorithm::automatic);
  EXPECT_THROW(parse_conv_algorithm("fft"), Error);
}

TEST(ConvSpecTest, OutputSizeAndCounts) {
  EXPECT_EQ(Conv::output_size(227, 11, 4, 0), 55);
  EXPECT_EQ(Conv::output_size(27, 5, 1, 2), 27);
  EXPECT_EQ(Conv::output_size(13, 3, 1, 1), 13);
  Conv conv2("conv2", ConvSpec{48, 128, 5, 1, 2, 1}, Shape{1, 48, 27, 27}, Layout::nhwc, Device::cpu());
  EXPECT_EQ(conv2.param_count(), 128 * 48 * 25 + 128);
  EXPECT_DOUBLE_EQ(conv2.forward_flops(), 2.0 * 128 * 27 * 27 * 48 * 25);
}

}  // namespace
}  // namespace alexnet::test

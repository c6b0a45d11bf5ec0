// The two-tower AlexNet against a single-network reference in double precision (grouped
// convolutions for conv2/4/5, full conv3 and fc layers with the towers' weights concatenated, LRN
// within each tower's half as in the paper): logits, loss and every parameter gradient, in each
// layout. Also: the parameter count of the default model, the flat buffer order, and SGD.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <random>

#include "core/random.h"
#include "layers/backend_info.h"
#include "model/model.h"
#include "reference.h"
#include "test_util.h"

namespace alexnet::test {
namespace {

using Vec = std::vector<double>;

// Channels [c0, c0 + c) of an NCHW tensor.
Vec take_channels(const Vec& v, const ref::Dims4& d, int64_t c0, int64_t c) {
  Vec out(static_cast<size_t>(d.n * c * d.h * d.w));
  const ref::Dims4 od{d.n, c, d.h, d.w};
  for (int64_t n = 0; n < d.n; ++n)
    for (int64_t k = 0; k < c; ++k)
      for (int64_t i = 0; i < d.h * d.w; ++i) out[od.at(n, k, 0, 0) + i] = v[d.at(n, c0 + k, 0, 0) + i];
  return out;
}

void put_channels(Vec& v, const ref::Dims4& d, int64_t c0, const Vec& part, int64_t c) {
  const ref::Dims4 pd{d.n, c, d.h, d.w};
  for (int64_t n = 0; n < d.n; ++n)
    for (int64_t k = 0; k < c; ++k)
      for (int64_t i = 0; i < d.h * d.w; ++i) v[d.at(n, c0 + k, 0, 0) + i] = part[pd.at(n, k, 0, 0) + i];
}

// LRN within each half of the channels (each tower normalises its own).
Vec lrn_halves(const Vec& x, const ref::Dims4& d, const LrnSpec& s, const Vec* dy) {
  const int64_t h = d.c / 2;
  const ref::Dims4 hd{d.n, h, d.h, d.w};
  Vec out(x.size());
  for (int t = 0; t < 2; ++t) {
    Vec xt = take_channels(x, d, t * h, h);
    Vec r = dy ? ref::lrn_backward(xt, take_channels(*dy, d, t * h, h), hd, s) : ref::lrn_forward(xt, hd, s);
    put_channels(out, d, t * h, r, h);
  }
  return out;
}

// The model's fc6 input order, whatever its layout: per image, tower 0's pool5 half in (C, H, W)
// order, then tower 1's. Returns (N, 2 * F5) from the NCHW reference pool5, and back.
Vec gather_features(const Vec& p5, const ref::Dims4& d) {
  const Layout layout = Layout::nchw;
  const int64_t half = d.c / 2, f5 = half * d.h * d.w;
  const Shape hs{d.n, half, d.h, d.w};
  Vec out(static_cast<size_t>(d.n * 2 * f5));
  for (int t = 0; t < 2; ++t)
    for (int64_t n = 0; n < d.n; ++n)
      for (int64_t c = 0; c < half; ++c)
        for (int64_t y = 0; y < d.h; ++y)
          for (int64_t x = 0; x < d.w; ++x)
            out[n * 2 * f5 + t * f5 + offset4(hs, layout, 0, c, y, x)] = p5[d.at(n, t * half + c, y, x)];
  return out;
}

Vec scatter_features(const Vec& g, const ref::Dims4& d) {
  const Layout layout = Layout::nchw;
  const int64_t half = d.c / 2, f5 = half * d.h * d.w;
  const Shape hs{d.n, half, d.h, d.w};
  Vec out(static_cast<size_t>(d.size()));
  for (int t = 0; t < 2; ++t)
    for (int64_t n = 0; n < d.n; ++n)
      for (int64_t c = 0; c < half; ++c)
        for (int64_t y = 0; y < d.h; ++y)
          for (int64_t x = 0; x < d.w; ++x)
            out[d.at(n, t * half + c, y, x)] = g[n * 2 * f5 + t * f5 + offset4(hs, layout, 0, c, y, x)];
  return out;
}

Vec download(const Tensor& t) {
  const std::vector<float> v = host_floats(t);  // any device, f32 or bf16
  return Vec(v.begin(), v.end());
}

// The two towers' tensors of one parameter concatenated along the first dim (output channels).
Vec concat_towers(AlexNet& net, const std::string& layer, bool bias, bool grad) {
  Vec out;
  for (int t = 0; t < 2; ++t) {
    const TowerParams& p = net.params(t);
    const ParamEntry& e = bias ? p.layout.bias(layer) : p.layout.weight(layer);
    const Vec v = download(grad ? p.grad(e) : p.value(e));
    out.insert(out.end(), v.begin(), v.end());
  }
  return out;
}

struct RefOut {
  Vec logits;
  double loss = 0;
  std::map<std::string, Vec> grads;  // "conv1.w" -> both towers concatenated
};

// The single network, forward and backward, from the model's weights and inputs.
// How far a bf16 model's weight gradients may be from fp32's or the double reference's, as the
// 2-norm of the difference over the norm of the reference. bf16 rounds every activation and
// gradient to 8 bits, so units near a ReLU's 0 and pooling windows near a tie go the other way:
// each such flip zeroes, creates or moves a whole path of gradient, and single elements are off
// by their own size while the tensor as a whole agrees. Measured here: up to 0.24 (conv1, full
// width), falling to 0.01 at fc8; PyTorch's bf16 autocast against float64 on the same kind of
// network, measured the same way: conv1 0.25, conv2 0.10, fc6 0.05, fc8 0.01. A wrong index or a
// missing term is an error of order 1.
constexpr double kBf16GradientError = 0.3;

RefOut reference(AlexNet& net, const Vec& images, const std::vector<int32_t>& labels) {
  const ModelOptions& o = net.options();
  const ModelConfig& m = o.config;
  const int64_t n = o.batch, s = m.input_size;
  const int64_t c1 = m.conv_channels(1), c2 = m.conv_channels(2), c3 = m.conv_channels(3), c4 = m.conv_channels(4),
                c5 = m.conv_channels(5), f = m.fc_width();
  auto W = [&](const char* l) { return concat_towers(net, l, false, false); };
  auto B = [&](const char* l) { return concat_towers(net, l, true, false); };
  const PoolSpec pool{3, 2, 0};
  const ConvSpec k1{3, 2 * c1, 11, 4, 0, 1}, k2{2 * c1, 2 * c2, 5, 1, 2, 2}, k3{2 * c2, 2 * c3, 3, 1, 1, 1},
      k4{2 * c3, 2 * c4, 3, 1, 1, 2}, k5{2 * c4, 2 * c5, 3, 1, 1, 2};

  // Forward.
  const ref::Dims4 d0{n, 3, s, s};
  ref::Dims4 d1{}, dp1{}, d2{}, dp2{}, d3{}, d4{}, d5{}, dp5{};
  Vec a1 = ref::relu_forward(ref::conv_forward(images, d0, W("conv1"), B("conv1"), k1, &d1));
  Vec n1 = lrn_halves(a1, d1, m.lrn, nullptr);
  std::vector<int64_t> am1, am2, am5;
  Vec p1 = ref::maxpool_forward(n1, d1, pool, &dp1, &am1);
  Vec a2 = ref::relu_forward(ref::conv_forward(p1, dp1, W("conv2"), B("conv2"), k2, &d2));
  Vec n2 = lrn_halves(a2, d2, m.lrn, nullptr);
  Vec p2 = ref::maxpool_forward(n2, d2, pool, &dp2, &am2);
  Vec a3 = ref::relu_forward(ref::conv_forward(p2, dp2, W("conv3"), B("conv3"), k3, &d3));
  Vec a4 = ref::relu_forward(ref::conv_forward(a3, d3, W("conv4"), B("conv4"), k4, &d4));
  Vec a5 = ref::relu_forward(ref::conv_forward(a4, d4, W("conv5"), B("conv5"), k5, &d5));
  Vec p5 = ref::maxpool_forward(a5, d5, pool, &dp5, &am5);
  const int64_t f6in = dp5.c * dp5.h * dp5.w;
  Vec g6 = gather_features(p5, dp5);
  Vec a6 = ref::relu_forward(ref::fc_forward(g6, W("fc6"), B("fc6"), n, f6in, 2 * f));
  Vec a7 = ref::relu_forward(ref::fc_forward(a6, W("fc7"), B("fc7"), n, 2 * f, 2 * f));
  RefOut out;
  out.logits = ref::fc_forward(a7, W("fc8"), B("fc8"), n, 2 * f, m.classes);
  ref::LossRef loss = ref::softmax_loss(out.logits, labels, n, m.classes);
  out.loss = loss.loss;

  // Backward.
  Vec dx, dw, db;
  auto keep = [&](const char* l) {
    out.grads[std::string(l) + ".w"] = dw;
    out.grads[std::string(l) + ".b"] = db;
  };
  ref::fc_backward(a7, W("fc8"), loss.dlogits, n, 2 * f, m.classes, &dx, &dw, &db);
  keep("fc8");
  ref::fc_backward(a6, W("fc7"), ref::relu_backward(a7, dx), n, 2 * f, 2 * f, &dx, &dw, &db);
  keep("fc7");
  ref::fc_backward(g6, W("fc6"), ref::relu_backward(a6, dx), n, f6in, 2 * f, &dx, &dw, &db);
  keep("fc6");
  Vec dp5v = scatter_features(dx, dp5);
  Vec da5 = ref::relu_backward(a5, ref::maxpool_backward(dp5v, am5, d5.size()));
  ref::conv_backward(a4, d4, W("conv5"), da5, k5, &dx, &dw, &db);
  keep("conv5");
  ref::conv_backward(a3, d3, W("conv4"), ref::relu_backward(a4, dx), k4, &dx, &dw, &db);
  keep("conv4");
  ref::conv_backward(p2, dp2, W("conv3"), ref::relu_backward(a3, dx), k3, &dx, &dw, &db);
  keep("conv3");
  Vec dn2 = ref::maxpool_backward(dx, am2, d2.size());
  Vec da2 = ref::relu_backward(a2, lrn_halves(a2, d2, m.lrn, &dn2));
  ref::conv_backward(p1, dp1, W("conv2"), da2, k2, &dx, &dw, &db);
  keep("conv2");
  Vec dn1 = ref::maxpool_backward(dx, am1, d1.size());
  Vec da1 = ref::relu_backward(a1, lrn_halves(a1, d1, m.lrn, &dn1));
  ref::conv_backward(images, d0, W("conv1"), da1, k1, &dx, &dw, &db);
  keep("conv1");
  return out;
}

// Weights large enough that every layer matters (Caffe's 0.01 would make LRN an identity).
void randomize(AlexNet& net, uint64_t seed) {
  for (int t = 0; t < 2; ++t) {
    TowerParams& p = net.params(t);
    for (const auto& e : p.layout.entries()) {
      const Tensor v = p.value(e);
      const int64_t fan_in = e.is_bias ? 1 : e.numel() / e.shape[0];
      const double scale = e.is_bias ? 0.1 : 1.7 / std::sqrt(static_cast<double>(fan_in));
      OwnedTensor h(v.shape, Device::cpu());  // written here, then copied to the tower's device
      for (int64_t i = 0; i < v.numel(); ++i)
        h->f32()[i] =
            static_cast<float>(scale * (2 * hashed_uniform(seed + 7 * static_cast<uint64_t>(t), e.offset + i) - 1));
      copy(v, *h);
    }
  }
}

struct ModelCase {
  Layout layout;
  double width;
  Device device = Device::cpu();  // tower 0
  Device tower1 = Device::cpu();  // tower 1
  Precision precision = Precision::fp32;
  bool fuse_relu = true;
};

std::string case_name(const ::testing::TestParamInfo<ModelCase>& info) {
  const ModelCase& c = info.param;
  std::string name = std::string(c.device.is_cpu() ? "cpu" : "cuda") + "_" + layout_name(c.layout);
  if (c.tower1 != c.device) name += "_two_gpus";
  if (c.precision != Precision::fp32) name += std::string("_") + precision_name(c.precision);
  if (!c.fuse_relu) name += "_unfused_relu";
  return name;
}

// What ctest shows as the parameter (gtest would print the struct's bytes).
void PrintTo(const ModelCase& c, std::ostream* os) {
  *os << c.device.str();
  if (c.tower1 != c.device) *os << "," << c.tower1.str();
  *os << " " << layout_name(c.layout) << " " << precision_name(c.precision) << " width " << c.width
      << (c.fuse_relu ? "" : " unfused ReLU");
}

class ModelEquivalence : public ::testing::TestWithParam<ModelCase> {
 protected:
  void SetUp() override {
    SKIP_IF_UNAVAILABLE((Backend{GetParam().device, GetParam().layout, GetParam().precision}));
    SKIP_IF_UNAVAILABLE(GetParam().tower1);
  }
};

TEST_P(ModelEquivalence, TwoTowersEqualTheSingleNetwork) {
  const ModelCase& mc = GetParam();
  ModelOptions o;
  o.device = mc.device;
  if (mc.tower1 != mc.device) o.tower1_device = mc.tower1;
  o.precision = mc.precision;
  o.fuse_relu = mc.fuse_relu;
  o.config.input_size = 67;
  o.config.classes = 10;
  o.config.width = GetParam().width;
  o.config.lrn.alpha = 0.05;  // make the normalisation matter at these activation sizes
  o.layout = GetParam().layout;
  o.batch = 2;
  o.dropout = 0;
  o.seed = 3;
  o.conv_algorithm = ConvAlgorithm::automatic;
  AlexNet net(o);
  randomize(net, 11);
  const Tensor& img = net.images();
  std::mt19937 rng(5);
  std::uniform_real_distribution<double> u(-1, 1);
  Vec images(static_cast<size_t>(img.numel()));
  const Shape& is = img.shape;
  for (int64_t nn = 0; nn < is.n(); ++nn)
    for (int64_t c = 0; c < 3; ++c)
      for (int64_t y = 0; y < is.h(); ++y)
        for (int64_t x = 0; x < is.w(); ++x) {
          const float v = static_cast<float>(u(rng));
          images[static_cast<size_t>(offset4(is, Layout::nchw, nn, c, y, x))] = v;
          img.f32()[offset4(is, img.layout, nn, c, y, x)] = v;
        }
  std::vector<int32_t> labels = {3, 8};
  for (int i = 0; i < 2; ++i) net.labels().i32()[i] = labels[static_cast<size_t>(i)];

  net.upload_batch();
  net.forward();
  net.loss();
  net.backward();
  const LossStats st = net.loss_stats();
  const RefOut r = reference(net, images, labels);

  // Relative to the tensor's largest value; TF32 rounds every product's inputs to 10 bits, bf16
  // every activation and gradient to 8.
  const double tol = mc.precision == Precision::tf32 ? 1e-2 : mc.precision == Precision::bf16 ? 5e-2 : 1e-4;
  auto close = [&](const Vec& got, const Vec& want) {
    double mx = 0;
    for (double v : want) mx = std::max(mx, std::fabs(v));
    return all_close(got, want, tol * mx, 10 * tol);
  };
  EXPECT_TRUE(close(download(net.logits()), r.logits)) << "logits";
  EXPECT_NEAR(st.loss, r.loss, tol * r.loss);
  for (const char* l : {"conv1", "conv2", "conv3", "conv4", "conv5", "fc6", "fc7", "fc8"}) {
    const Vec w = concat_towers(net, l, false, true), b = concat_towers(net, l, true, true);
    const Vec &rw = r.grads.at(std::string(l) + ".w"), &rb = r.grads.at(std::string(l) + ".b");
    if (mc.precision == Precision::bf16) {
      EXPECT_TRUE(norm_close(w, rw, kBf16GradientError)) << l << " weights";
      EXPECT_TRUE(norm_close(b, rb, kBf16GradientError)) << l << " biases";
      continue;
    }
    EXPECT_TRUE(close(w, rw)) << l << " weights";
    EXPECT_TRUE(close(b, rb)) << l << " biases";
  }
}

INSTANTIATE_TEST_SUITE_P(
    Layouts, ModelEquivalence,
    ::testing::Values(ModelCase{Layout::nchw, 0.25}, ModelCase{Layout::nhwc, 0.25}, ModelCase{Layout::nchw16c, 1.0},
                      ModelCase{Layout::nhwc, 0.25, Device::cpu(), Device::cpu(), Precision::fp32, false},
                      // The CPU in bf16 (where it has the instructions), plain and blocked.
                      ModelCase{Layout::nhwc, 0.25, Device::cpu(), Device::cpu(), Precision::bf16},
                      ModelCase{Layout::nchw16c, 1.0, Device::cpu(), Device::cpu(), Precision::bf16},
                      // On GPUs: both towers on one, in each layout and precision,
                      // and the 2012 split over two GPUs.
                      ModelCase{Layout::nchw, 0.25, Device::cuda(0), Device::cuda(0)},
                      ModelCase{Layout::nhwc, 0.25, Device::cuda(0), Device::cuda(0)},
                      ModelCase{Layout::nhwc, 0.25, Device::cuda(0), Device::cuda(0), Precision::tf32},
                      ModelCase{Layout::nhwc, 0.25, Device::cuda(0), Device::cuda(0), Precision::bf16},
                      ModelCase{Layout::nhwc, 0.25, Device::cuda(0), Device::cuda(1)}),
    case_name);

// The full AlexNet (227x227, 1000 classes, dropout on) on another backend against the CPU's
// blocked layout: the same weights (the initialisation is generated on the host), inputs and
// dropout masks (the same hash), then logits, loss and every gradient agree, and three SGD steps
// keep the losses and the weights together. Tolerances are relative to each tensor's largest
// value, per precision. The other backend: the CPU in NHWC (other oneDNN kernels) or in bf16,
// or a GPU.
class FullModelMatchesCpu : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override { SKIP_IF_UNAVAILABLE(GetParam()); }
};

TEST_P(FullModelMatchesCpu, ForwardBackwardAndThreeSteps) {
  const Backend be = GetParam();
  const Precision precision = be.precision;
  // Different algorithms (the blocked CPU layout runs Winograd for conv3-5) and summation orders
  // compound over eight layers; indexing mistakes are O(1) errors.
  const double tol = precision == Precision::fp32 ? 1e-2 : precision == Precision::tf32 ? 3e-2 : 8e-2;
  ModelOptions o;
  o.batch = 8;
  o.seed = 5;
  // The reference: the CPU's blocked layout (Winograd conv3-5) on AVX-512, else NCHW (oneDNN's
  // gemm convolutions): another layout and other algorithms than the backend under test.
  o.layout = cpu_has_avx512() ? best_layout(o.config, Device::cpu()) : Layout::nchw;
  AlexNet cpu(o);
  o.device = be.device;
  o.layout = be.layout;
  o.precision = precision;
  AlexNet gpu(o);  // "gpu": the backend under test
  // Weights scaled by fan-in and random biases, not Caffe's recipe: with std 0.01 and biases 0.1
  // the outputs of conv2, conv4 and conv5 are the bias plus a tiny signal, so every max-pooling
  // window holds near-ties and the last bit of a convolution decides where its gradient goes.
  randomize(cpu, 13);
  randomize(gpu, 13);
  for (AlexNet* net : {&cpu, &gpu}) {  // the same batch, written in each model's image layout
    const Tensor& img = net->images();
    const Shape& s = img.shape;
    for (int64_t n = 0; n < s.n(); ++n)
      for (int64_t c = 0; c < 3; ++c)
        for (int64_t y = 0; y < s.h(); ++y)
          for (int64_t x = 0; x < s.w(); ++x)
            img.f32()[offset4(s, img.layout, n, c, y, x)] =
                static_cast<float>(hashed_normal(77, static_cast<uint64_t>(offset4(s, Layout::nchw, n, c, y, x))));
    for (int64_t i = 0; i < s.n(); ++i) net->labels().i32()[i] = static_cast<int32_t>((i * 131) % 1000);
    net->upload_batch();
  }
  auto close = [&](const Vec& got, const Vec& want) {
    double mx = 0;
    for (double v : want) mx = std::max(mx, std::fabs(v));
    return all_close(got, want, tol * mx, 10 * tol);
  };
  const double lr = 0.01;
  const SgdConfig sgd{.momentum = 0.9, .weight_decay = 0.0005};
  for (int step = 0; step < 3; ++step) {
    SCOPED_TRACE("step " + std::to_string(step + 1));
    for (AlexNet* net : {&cpu, &gpu}) {
      net->forward();
      net->loss();
      net->backward();
    }
    const LossStats a = cpu.loss_stats(), b = gpu.loss_stats();
    EXPECT_NEAR(b.loss, a.loss, tol * a.loss);
    if (step == 0) {
      EXPECT_TRUE(close(download(gpu.logits()), download(cpu.logits()))) << "logits";
      for (const char* l : {"conv1", "conv2", "conv3", "conv4", "conv5", "fc6", "fc7", "fc8"})
        for (bool bias : {false, true}) {
          const Vec got = concat_towers(gpu, l, bias, true), want = concat_towers(cpu, l, bias, true);
          // bf16: as a whole (see kBf16GradientError)
          EXPECT_TRUE(precision == Precision::bf16 ? norm_close(got, want, kBf16GradientError) : close(got, want))
              << l << (bias ? " biases" : " weights");
        }
    }
    cpu.update(lr, sgd);
    gpu.update(lr, sgd);
  }
  for (const char* l : {"conv1", "conv3", "fc6", "fc8"})
    EXPECT_TRUE(close(concat_towers(gpu, l, false, false), concat_towers(cpu, l, false, false)))
        << l << " after 3 steps";
}

INSTANTIATE_TEST_SUITE_P(Backends, FullModelMatchesCpu,
                         ::testing::Values(Backend{Device::cpu(), Layout::nhwc},
                                           Backend{Device::cpu(), Layout::nchw16c, Precision::bf16},
                                           Backend{Device::cuda(0), Layout::nhwc, Precision::fp32},
                                           Backend{Device::cuda(0), Layout::nhwc, Precision::tf32},
                                           Backend{Device::cuda(0), Layout::nhwc, Precision::bf16}),
                         backend_name);

TEST(ModelTest, DefaultModelHasThePapersParameterCount) {
  ModelOptions o;
  o.batch = 1;
  AlexNet net(o);
  EXPECT_EQ(net.param_count(), kAlexNetParams);
  EXPECT_EQ(net.params(0).layout.total(), kAlexNetParams / 2);
  EXPECT_EQ(net.params(1).layout.total(), kAlexNetParams / 2);
  // Reverse layer order in the flat buffer: fc8 first, conv1 last.
  const auto& e = net.params(0).layout.entries();
  EXPECT_EQ(e.front().layer, "fc8");
  EXPECT_EQ(e.back().layer, "conv1");
  EXPECT_EQ(e.back().offset + e.back().numel(), net.params(0).layout.total());
}

TEST(ModelTest, InitRecipes) {
  ModelOptions o;
  o.batch = 1;
  o.config.input_size = 67;
  for (InitRecipe r : {InitRecipe::caffe, InitRecipe::paper}) {
    o.init = r;
    AlexNet net(o);
    const TowerParams& p = net.params(1);
    auto mean_sd = [&](const ParamEntry& e) {
      const Vec v = download(p.value(e));
      double s = 0, s2 = 0;
      for (double x : v) s += x, s2 += x * x;
      const double m = s / v.size();
      return std::pair{m, std::sqrt(s2 / v.size() - m * m)};
    };
    const double one = r == InitRecipe::caffe ? 0.1 : 1.0;
    EXPECT_NEAR(mean_sd(p.layout.weight("conv2")).second, 0.01, 0.0005);
    EXPECT_NEAR(mean_sd(p.layout.weight("fc6")).second, r == InitRecipe::caffe ? 0.005 : 0.01, 0.0002);
    EXPECT_NEAR(mean_sd(p.layout.weight("fc6")).first, 0.0, 0.0002);
    EXPECT_EQ(mean_sd(p.layout.bias("conv2")).first, static_cast<float>(one));
    EXPECT_EQ(mean_sd(p.layout.bias("conv1")).first, 0.0);
    EXPECT_EQ(mean_sd(p.layout.bias("fc8")).first, 0.0);
    EXPECT_EQ(mean_sd(p.layout.bias("fc7")).first, static_cast<float>(one));
  }
  // Seeded: the same seed gives the same weights, another seed others; the towers differ.
  o.init = InitRecipe::caffe;
  AlexNet a(o), b(o);
  o.seed = 2;
  AlexNet c(o);
  EXPECT_EQ(download(a.params(0).all_values()), download(b.params(0).all_values()));
  EXPECT_NE(download(a.params(0).all_values()), download(c.params(0).all_values()));
  EXPECT_NE(download(a.params(0).all_values()), download(a.params(1).all_values()));
}

TEST(SgdTest, PaperUpdateRule) {
  OwnedTensor w(Shape{3}, Device::cpu()), g(Shape{3}, Device::cpu()), v(Shape{3}, Device::cpu());
  const float w0[3] = {1, -2, 0.5f}, g0[3] = {0.1f, 0.2f, -0.3f}, v0[3] = {0.01f, 0, -0.02f};
  std::copy(w0, w0 + 3, w->f32());
  std::copy(g0, g0 + 3, g->f32());
  std::copy(v0, v0 + 3, v->f32());
  const SgdConfig c{.momentum = 0.9, .weight_decay = 0.0005};
  sgd_update(*w, *g, *v, 0.1, c);
  for (int i = 0; i < 3; ++i) {
    const double vi = 0.9 * v0[i] - 0.0005 * 0.1 * w0[i] - 0.1 * g0[i];
    EXPECT_NEAR(v->f32()[i], vi, 1e-7);
    EXPECT_NEAR(w->f32()[i], w0[i] + vi, 1e-7);
  }
}

TEST(SgdTest, LearningRateSchedule) {
  LrSchedule s;
  s.base_lr = 0.01;
  s.decay_steps = {100, 200};
  EXPECT_DOUBLE_EQ(s.at(0), 0.01);
  EXPECT_DOUBLE_EQ(s.at(99), 0.01);
  EXPECT_NEAR(s.at(100), 0.001, 1e-15);
  EXPECT_NEAR(s.at(250), 0.0001, 1e-15);
  s.linear_scaling = true;
  s.global_batch = 1024;
  EXPECT_DOUBLE_EQ(s.peak(), 0.08);
  s.warmup_steps = 4;
  s.decay_steps.clear();
  EXPECT_DOUBLE_EQ(s.at(0), 0.02);
  EXPECT_DOUBLE_EQ(s.at(3), 0.08);
  EXPECT_DOUBLE_EQ(s.at(10), 0.08);
}

}  // namespace
}  // namespace alexnet::test

// The two-tower AlexNet (see model.h). Per tower, in execution order:
//   conv1 11x11/4 relu norm pool | conv2 5x5 relu norm pool | gather | conv3 relu | conv4 relu |
//   conv5 relu pool | gather | fc6 relu drop | gather | fc7 relu drop | gather | fc8 | gather logits
// ReLUs run in place (their backward reads the output). Backward walks the same list in reverse
// with reduce-scatters where forward gathered.
#include "model/model.h"


#include "layers/conv.h"
#include "layers/dropout.h"
#include "core/error.h"
#include "model/exchange.h"
#include "layers/fc.h"
#include "model/gpu_timer.h"
#include "layers/lrn.h"
#include "layers/pool.h"
#include "core/random.h"
#include "layers/relu.h"
#include "core/clock.h"
#include "layers/backend_info.h"
#include "layers/convert.h"

namespace alexnet {

// Times one row (layer of both towers) in one direction, for one tower, when timing is on: the
// host clock on the CPU, CUDA events on the tower's GPU stream (read after the step).
class AlexNet::Scope {
 public:
  Scope(AlexNet& m, int row, bool backward, int tower = 0) : m_(m), row_(row), tower_(tower), backward_(backward) {
    if (!m_.timing_) return;
    if (m_.gpu_timer_) span_ = m_.gpu_timer_->begin(m_.dev_[static_cast<size_t>(tower)]);
    else t0_ = now_seconds();
  }
  ~Scope() {
    if (!m_.timing_) return;
    if (span_ >= 0) {
      try {
        m_.gpu_timer_->end(span_);
        m_.spans_.push_back({row_, tower_, backward_});
      } catch (...) {
        // A failing event record must not throw from a destructor; the layer's own error surfaces.
      }
      return;
    }
    (backward_ ? m_.bwd_s_ : m_.fwd_s_)[static_cast<size_t>(row_)] += now_seconds() - t0_;
  }

 private:
  AlexNet& m_;
  int row_, tower_;
  bool backward_;
  double t0_ = 0;
  int span_ = -1;
};

struct AlexNet::Tower {
  // Layers.
  std::unique_ptr<Conv> conv1, conv2, conv3, conv4, conv5;
  std::unique_ptr<Relu> relu1, relu2, relu3, relu4, relu5, relu6, relu7;
  std::unique_ptr<Lrn> norm1, norm2;
  std::unique_ptr<MaxPool> pool1, pool2, pool5;
  std::unique_ptr<FullyConnected> fc6, fc7, fc8;
  std::unique_ptr<Dropout> drop6, drop7;
  // Activations (after ReLU where one follows, in place).
  OwnedTensor c1, n1, p1;  // (N, C1, 55, 55) (N, C1, 55, 55) (N, C1, 27, 27)
  OwnedTensor c2, n2, p2;  // (N, C2, 27, 27) (N, C2, 27, 27) (N, C2, 13, 13)
  OwnedTensor c3, c4, c5;  // (N, C3, 13, 13) (N, C4, 13, 13) (N, C5, 13, 13)
  OwnedTensor p5;          // (N, C5, 6, 6)
  // pool5 and its gradient in NCHW: fc6 reads the features of a tower in (C, H, W) order whatever
  // the layout, so its weights (and checkpoints) mean the same on every backend. Views of p5 and
  // dp5 when the layout is NCHW already.
  Tensor p5c, dp5c;        // (N, C5, 6, 6) NCHW
  OwnedTensor p5c_own, dp5c_own;
  OwnedTensor f6, d6, f7, d7, f8;  // (N, F) x 4, (N, classes/2)
  // Gradients.
  OwnedTensor dc1, dn1, dp1, dc2, dn2, dp2;  // shapes as above
  OwnedTensor dg3;                           // (N, 2*C2, 13, 13) conv3's input gradient, both halves
  OwnedTensor dc3, dc4, dc5, dp5;
  OwnedTensor dg6, dg7, dg8;                 // (N, 2*F5), (N, 2*F), (N, 2*F)
  OwnedTensor df6, dd6, df7, dd7, df8;
  // Rows of the timing table.
  int r_conv1, r_relu1, r_norm1, r_pool1, r_conv2, r_relu2, r_norm2, r_pool2, r_conv3, r_relu3, r_conv4,
      r_relu4, r_conv5, r_relu5, r_pool5, r_fc6, r_relu6, r_drop6, r_fc7, r_relu7, r_drop7, r_fc8;
};

int AlexNet::row(const std::string& name) {
  for (size_t i = 0; i < rows_.size(); ++i)
    if (rows_[i] == name) return static_cast<int>(i);
  rows_.push_back(name);
  fwd_s_.push_back(0);
  bwd_s_.push_back(0);
  return static_cast<int>(rows_.size() - 1);
}

void AlexNet::clear_timing() {
  std::fill(fwd_s_.begin(), fwd_s_.end(), 0.0);
  std::fill(bwd_s_.begin(), bwd_s_.end(), 0.0);
  if (gpu_timer_) gpu_timer_->clear();
  spans_.clear();
}

void AlexNet::collect_gpu_timing() const {
  if (!gpu_timer_ || spans_.empty()) return;
  const std::vector<double> secs = gpu_timer_->collect();
  // Per row, direction and tower; one GPU runs the towers one after the other (sum), two GPUs
  // side by side (the slower one).
  const size_t rows = rows_.size();
  std::vector<double> per(rows * 2 * kTowers, 0.0);
  for (size_t i = 0; i < spans_.size() && i < secs.size(); ++i) {
    const Span& sp = spans_[i];
    per[(static_cast<size_t>(sp.row) * 2 + sp.backward) * kTowers + static_cast<size_t>(sp.tower)] += secs[i];
  }
  const bool side_by_side = dev_[0] != dev_[1];
  for (size_t r = 0; r < rows; ++r)
    for (int b = 0; b < 2; ++b) {
      const double t0 = per[(r * 2 + static_cast<size_t>(b)) * kTowers], t1 = per[(r * 2 + static_cast<size_t>(b)) * kTowers + 1];
      (b ? bwd_s_ : fwd_s_)[r] += side_by_side ? std::max(t0, t1) : t0 + t1;
    }
  spans_.clear();
}

const std::vector<double>& AlexNet::forward_seconds() const {
  collect_gpu_timing();
  return fwd_s_;
}

const std::vector<double>& AlexNet::backward_seconds() const {
  collect_gpu_timing();
  return bwd_s_;
}

Layout best_layout(const ModelConfig& m, const Device& d) {
  if (!d.is_cpu()) return Layout::nhwc;  // cuDNN's fast engines read channels last
  if (!cpu_has_avx512()) return Layout::nhwc;  // oneDNN's nChw16c kernels are AVX-512 only
  for (int l = 1; l <= 5; ++l)
    if (m.conv_channels(l) % kBlock != 0) return Layout::nhwc;
  return Layout::nchw16c;
}

Layout image_layout(Layout activations) {
  // oneDNN's JIT "first convolution" reads plain NCHW images into blocked outputs; NHWC images
  // into a blocked conv1 fall to its reference kernel (1000x slower).
  return activations == Layout::nchw16c ? Layout::nchw : activations;
}

AlexNet::AlexNet(const ModelOptions& o) : opt_(o) {
  const ModelConfig& m = o.config;
  m.validate();
  ALEXNET_CHECK(o.batch >= 1, "batch size must be at least 1, got " << o.batch);
  ALEXNET_CHECK(o.dropout >= 0 && o.dropout < 1, "dropout must be in [0, 1), got " << o.dropout);
  dev_ = {o.device, o.tower1_device.value_or(o.device)};
  ALEXNET_CHECK(dev_[0].is_cpu() == dev_[1].is_cpu(),
                "towers on " << dev_[0].str() << " and " << dev_[1].str() << ": both on the CPU or both on GPUs");
  const int64_t n = o.batch;
  const Layout L = o.layout;
  const bool gpu = dev_[0].is_cuda();
  const DType ad = activation_dtype(o.precision);  // of activations and their gradients
  exchange_ = gpu ? make_gpu_exchange(dev_[0], dev_[1]) : make_host_exchange();
  if (gpu) gpu_timer_ = std::make_unique<GpuTimer>();

  // The batch: written by the caller in host memory (pinned for GPUs), copied to each tower's GPU.
  const int64_t s = m.input_size;
  const Shape image_shape{n, 3, s, s};
  const Layout il = image_layout(L);
  images_ = OwnedTensor(image_shape, Device::cpu(), il, DType::f32, /*pinned=*/gpu);
  labels_ = OwnedTensor(Shape{n}, Device::cpu(), Layout::nchw, DType::i32, /*pinned=*/gpu);
  tower_images_ = {images_.view, images_.view};
  loss_labels_ = labels_.view;
  if (gpu) {
    for (int t = 0; t < kTowers; ++t) {
      if (t == 1 && dev_[1] == dev_[0]) {
        tower_images_[1] = tower_images_[0];
        continue;
      }
      images_dev_[t] = OwnedTensor(image_shape, dev_[t], il, ad);
      tower_images_[t] = images_dev_[t].view;
      if (ad != DType::f32) images_f32_[t] = OwnedTensor(image_shape, dev_[t], il);  // converted on the GPU
    }
    labels_dev_ = OwnedTensor(Shape{n}, dev_[0], Layout::nchw, DType::i32);
    loss_labels_ = labels_dev_.view;
  }

  const int64_t c1 = m.conv_channels(1), c2 = m.conv_channels(2), c3 = m.conv_channels(3),
                c4 = m.conv_channels(4), c5 = m.conv_channels(5), f = m.fc_width(), k = m.classes / 2;
  const PoolSpec pool{3, 2, 0};
  const Precision prec = o.precision;
  const bool fuse = o.fuse_relu;  // conv1-5, fc6, fc7 apply their ReLU in forward

  for (int t = 0; t < kTowers; ++t) {
    const Device dev = dev_[static_cast<size_t>(t)];
    auto act = [&](const Shape& sh) { return OwnedTensor(sh, dev, L, ad); };
    auto tw = std::make_unique<Tower>();
    Tower& T = *tw;
    auto nm = [&](const char* layer) { return std::string(layer) + "/tower" + std::to_string(t); };
    T.conv1 = std::make_unique<Conv>(nm("conv1"), ConvSpec{3, c1, 11, 4, 0, 1}, images_->shape, L, dev,
                                     ConvOptions::first_layer(images_->layout, prec, fuse));
    const Shape s1 = T.conv1->output_shape();
    T.relu1 = std::make_unique<Relu>(nm("relu1"), s1, L, dev, prec);
    T.norm1 = std::make_unique<Lrn>(nm("norm1"), m.lrn, s1, L, dev, prec);
    T.pool1 = std::make_unique<MaxPool>(nm("pool1"), pool, s1, L, dev, prec);
    const Shape sp1 = T.pool1->output_shape();
    const ConvOptions algo{true, L, false, o.conv_algorithm, prec, fuse};
    T.conv2 = std::make_unique<Conv>(nm("conv2"), ConvSpec{c1, c2, 5, 1, 2, 1}, sp1, L, dev, algo);
    const Shape s2 = T.conv2->output_shape();
    T.relu2 = std::make_unique<Relu>(nm("relu2"), s2, L, dev, prec);
    T.norm2 = std::make_unique<Lrn>(nm("norm2"), m.lrn, s2, L, dev, prec);
    T.pool2 = std::make_unique<MaxPool>(nm("pool2"), pool, s2, L, dev, prec);
    const Shape sp2 = T.pool2->output_shape();
    const Shape sg3{n, 2 * c2, sp2.h(), sp2.w()};
    T.conv3 = std::make_unique<Conv>(nm("conv3"), ConvSpec{2 * c2, c3, 3, 1, 1, 1}, sg3, L, dev, algo);
    const Shape s3 = T.conv3->output_shape();
    T.relu3 = std::make_unique<Relu>(nm("relu3"), s3, L, dev, prec);
    T.conv4 = std::make_unique<Conv>(nm("conv4"), ConvSpec{c3, c4, 3, 1, 1, 1}, s3, L, dev, algo);
    const Shape s4 = T.conv4->output_shape();
    T.relu4 = std::make_unique<Relu>(nm("relu4"), s4, L, dev, prec);
    T.conv5 = std::make_unique<Conv>(nm("conv5"), ConvSpec{c4, c5, 3, 1, 1, 1}, s4, L, dev, algo);
    const Shape s5 = T.conv5->output_shape();
    T.relu5 = std::make_unique<Relu>(nm("relu5"), s5, L, dev, prec);
    T.pool5 = std::make_unique<MaxPool>(nm("pool5"), pool, s5, L, dev, prec);
    const Shape sp5 = T.pool5->output_shape();
    const int64_t f5 = sp5.numel() / n;  // one tower's flattened pool5
    T.fc6 = std::make_unique<FullyConnected>(nm("fc6"), FcSpec{2 * f5, f}, n, dev, true, prec, fuse);
    T.relu6 = std::make_unique<Relu>(nm("relu6"), Shape{n, f}, L, dev, prec);
    T.fc7 = std::make_unique<FullyConnected>(nm("fc7"), FcSpec{2 * f, f}, n, dev, true, prec, fuse);
    T.relu7 = std::make_unique<Relu>(nm("relu7"), Shape{n, f}, L, dev, prec);
    T.fc8 = std::make_unique<FullyConnected>(nm("fc8"), FcSpec{2 * f, k}, n, dev, true, prec);
    if (o.dropout > 0) {
      const uint64_t seed = mix64(o.seed ^ mix64(0xd50 + static_cast<uint64_t>(t)) ^ mix64(~o.rng_stream));
      T.drop6 = std::make_unique<Dropout>(nm("drop6"), o.dropout, Shape{n, f}, L, dev, mix64(seed + 6), prec);
      T.drop7 = std::make_unique<Dropout>(nm("drop7"), o.dropout, Shape{n, f}, L, dev, mix64(seed + 7), prec);
    }

    T.c1 = act(s1), T.n1 = act(s1), T.p1 = act(sp1);
    T.c2 = act(s2), T.n2 = act(s2), T.p2 = act(sp2);
    T.c3 = act(s3), T.c4 = act(s4), T.c5 = act(s5), T.p5 = act(sp5);
    T.f6 = act({n, f}), T.d6 = act({n, f}), T.f7 = act({n, f}), T.d7 = act({n, f}), T.f8 = act({n, k});
    T.dc1 = act(s1), T.dn1 = act(s1), T.dp1 = act(sp1);
    T.dc2 = act(s2), T.dn2 = act(s2), T.dp2 = act(sp2);
    T.dg3 = act(sg3);
    T.dc3 = act(s3), T.dc4 = act(s4), T.dc5 = act(s5), T.dp5 = act(sp5);
    if (L == Layout::nchw) {
      T.p5c = *T.p5, T.dp5c = *T.dp5;
    } else {
      T.p5c_own = OwnedTensor(sp5, dev, Layout::nchw, ad), T.dp5c_own = OwnedTensor(sp5, dev, Layout::nchw, ad);
      T.p5c = *T.p5c_own, T.dp5c = *T.dp5c_own;
    }
    T.dg6 = act({n, 2 * f5}), T.dg7 = act({n, 2 * f}), T.dg8 = act({n, 2 * f});
    T.df6 = act({n, f}), T.dd6 = act({n, f}), T.df7 = act({n, f}), T.dd7 = act({n, f}), T.df8 = act({n, k});

    const bool shared = exchange_->shared();
    if (t == 0 || !shared) {
      g3_[t] = act(sg3);
      g6_[t] = act({n, 2 * f5});
      g7_[t] = act({n, 2 * f});
      g8_[t] = act({n, 2 * f});
    }

    // Parameters, in forward order (the layout stores them reversed).
    TowerParams& P = params_[t];
    P.layout.add("conv1", T.conv1->weight_shape(), T.conv1->bias_shape());
    P.layout.add("conv2", T.conv2->weight_shape(), T.conv2->bias_shape());
    P.layout.add("conv3", T.conv3->weight_shape(), T.conv3->bias_shape());
    P.layout.add("conv4", T.conv4->weight_shape(), T.conv4->bias_shape());
    P.layout.add("conv5", T.conv5->weight_shape(), T.conv5->bias_shape());
    P.layout.add("fc6", T.fc6->weight_shape(), T.fc6->bias_shape());
    P.layout.add("fc7", T.fc7->weight_shape(), T.fc7->bias_shape());
    P.layout.add("fc8", T.fc8->weight_shape(), T.fc8->bias_shape());
    P.layout.finish();
    const size_t bytes = static_cast<size_t>(P.layout.total()) * sizeof(float);
    P.values = Buffer(bytes, dev);
    P.grads = Buffer(bytes, dev);
    P.momentum = Buffer(bytes, dev);
    init_params(P, o.init, o.seed, t);
    towers_[t] = std::move(tw);
  }
  if (exchange_->shared()) {
    for (auto* g : {&g3_, &g6_, &g7_, &g8_}) (*g)[1].view = (*g)[0].view;  // a view; owner is [0]
  }
  logits_ = OwnedTensor(Shape{n, m.classes}, dev_[0], Layout::nchw, ad);
  dlogits_ = OwnedTensor(Shape{n, m.classes}, dev_[0], Layout::nchw, ad);
  loss_ = std::make_unique<SoftmaxLoss>("loss", n, m.classes, dev_[0], prec);

  // Timing rows in execution order.
  for (auto& tw : towers_) {
    Tower& T = *tw;
    T.r_conv1 = row("conv1"), T.r_relu1 = row("relu1"), T.r_norm1 = row("norm1"), T.r_pool1 = row("pool1");
    T.r_conv2 = row("conv2"), T.r_relu2 = row("relu2"), T.r_norm2 = row("norm2"), T.r_pool2 = row("pool2");
    r_g3_ = row("exchange3");
    T.r_conv3 = row("conv3"), T.r_relu3 = row("relu3"), T.r_conv4 = row("conv4"), T.r_relu4 = row("relu4");
    T.r_conv5 = row("conv5"), T.r_relu5 = row("relu5"), T.r_pool5 = row("pool5");
    r_g6_ = row("exchange6");
    T.r_fc6 = row("fc6"), T.r_relu6 = row("relu6"), T.r_drop6 = row("drop6");
    r_g7_ = row("exchange7");
    T.r_fc7 = row("fc7"), T.r_relu7 = row("relu7"), T.r_drop7 = row("drop7");
    r_g8_ = row("exchange8");
    T.r_fc8 = row("fc8");
    r_logits_ = row("exchange_logits");
  }
  r_loss_ = row("loss");
  r_update_ = row("update");
}

AlexNet::~AlexNet() = default;

const Tensor& AlexNet::images() const { return images_.view; }

void AlexNet::upload_batch() { upload_batch(images_.view, labels_.view); }

void AlexNet::upload_batch(const Tensor& images, const Tensor& labels) {
  check_tensor(images, images_->shape, images_->layout, DType::f32, Device::cpu(), "upload_batch", "images");
  check_tensor(labels, labels_->shape, Layout::nchw, DType::i32, Device::cpu(), "upload_batch", "labels");
  if (!on_gpu()) {  // the CPU towers read images_ and labels_
    copy_async(images_.view, images);
    copy_async(labels_.view, labels);
    return;
  }
  for (int t = 0; t < kTowers; ++t) {
    if (!images_dev_[t].buffer.data()) continue;
    if (images_f32_[t].buffer.data()) {  // bf16 towers: fp32 up, converted there
      copy_async(images_f32_[t].view, images);
      convert_async(images_dev_[t].view, images_f32_[t].view);
    } else {
      copy_async(images_dev_[t].view, images);
    }
  }
  copy_async(labels_dev_.view, labels);
}

void AlexNet::synchronize() {
  if (!on_gpu()) return;
  alexnet::synchronize(dev_[0]);
  if (dev_[1] != dev_[0]) alexnet::synchronize(dev_[1]);
}
const Tensor& AlexNet::labels() const { return labels_.view; }
const Tensor& AlexNet::logits() const { return logits_.view; }
TowerParams& AlexNet::params(int tower) { return params_.at(static_cast<size_t>(tower)); }
const TowerParams& AlexNet::params(int tower) const { return params_.at(static_cast<size_t>(tower)); }

Tensor AlexNet::weight(int t, const char* layer) const { return params_[t].value(params_[t].layout.weight(layer)); }
Tensor AlexNet::bias(int t, const char* layer) const { return params_[t].value(params_[t].layout.bias(layer)); }
Tensor AlexNet::weight_grad(int t, const char* layer) const { return params_[t].grad(params_[t].layout.weight(layer)); }
Tensor AlexNet::bias_grad(int t, const char* layer) const { return params_[t].grad(params_[t].layout.bias(layer)); }

// A 4-D NCHW activation seen as (N, features): what fc6 reads.
static Tensor flat(const Tensor& x) { return x.reshaped(Shape{x.shape.n(), x.numel() / x.shape.n()}); }

int64_t AlexNet::param_count() const { return params_[0].layout.total() + params_[1].layout.total(); }

void AlexNet::set_training(bool training) {
  for (auto& t : towers_)
    for (auto* d : {t->drop6.get(), t->drop7.get()})
      if (d) d->set_training(training);
}

void AlexNet::forward() {
  std::array<Tower*, kTowers> T{towers_[0].get(), towers_[1].get()};
  const bool fuse_relu = opt_.fuse_relu;  // the ReLUs ran inside conv1-5, fc6 and fc7
  auto W = [&](int t, const char* layer) { return weight(t, layer); };
  auto B = [&](int t, const char* layer) { return bias(t, layer); };

  for (int t = 0; t < kTowers; ++t) {
    Tower& X = *T[t];
    { Scope s(*this, X.r_conv1, false, t); X.conv1->forward(tower_images_[t], W(t, "conv1"), B(t, "conv1"), *X.c1); }
    if (!fuse_relu) { Scope s(*this, X.r_relu1, false, t); X.relu1->forward(*X.c1, *X.c1); }
    { Scope s(*this, X.r_norm1, false, t); X.norm1->forward(*X.c1, *X.n1); }
    { Scope s(*this, X.r_pool1, false, t); X.pool1->forward(*X.n1, *X.p1); }
    { Scope s(*this, X.r_conv2, false, t); X.conv2->forward(*X.p1, W(t, "conv2"), B(t, "conv2"), *X.c2); }
    if (!fuse_relu) { Scope s(*this, X.r_relu2, false, t); X.relu2->forward(*X.c2, *X.c2); }
    { Scope s(*this, X.r_norm2, false, t); X.norm2->forward(*X.c2, *X.n2); }
    { Scope s(*this, X.r_pool2, false, t); X.pool2->forward(*X.n2, *X.p2); }
  }
  { Scope s(*this, r_g3_, false); exchange_->gather({*T[0]->p2, *T[1]->p2}, {*g3_[0], *g3_[1]}); }
  for (int t = 0; t < kTowers; ++t) {
    Tower& X = *T[t];
    { Scope s(*this, X.r_conv3, false, t); X.conv3->forward(*g3_[t], W(t, "conv3"), B(t, "conv3"), *X.c3); }
    if (!fuse_relu) { Scope s(*this, X.r_relu3, false, t); X.relu3->forward(*X.c3, *X.c3); }
    { Scope s(*this, X.r_conv4, false, t); X.conv4->forward(*X.c3, W(t, "conv4"), B(t, "conv4"), *X.c4); }
    if (!fuse_relu) { Scope s(*this, X.r_relu4, false, t); X.relu4->forward(*X.c4, *X.c4); }
    { Scope s(*this, X.r_conv5, false, t); X.conv5->forward(*X.c4, W(t, "conv5"), B(t, "conv5"), *X.c5); }
    if (!fuse_relu) { Scope s(*this, X.r_relu5, false, t); X.relu5->forward(*X.c5, *X.c5); }
    { Scope s(*this, X.r_pool5, false, t); X.pool5->forward(*X.c5, *X.p5); }
  }
  {
    Scope s(*this, r_g6_, false);
    for (Tower* X : T) convert_layout(X->p5c, *X->p5);  // to (C, H, W) feature order (none for NCHW)
    exchange_->gather({flat(T[0]->p5c), flat(T[1]->p5c)}, {*g6_[0], *g6_[1]});
  }
  // fc6 and fc7: fc, ReLU, dropout (when on); the dropout output is what the next layer gathers.
  auto fc_block = [&](int t, FullyConnected& fc, const Tensor& in, const char* layer, Relu& relu, Dropout* drop,
                      const OwnedTensor& f, const OwnedTensor& d, int r_fc, int r_relu, int r_drop) {
    { Scope s(*this, r_fc, false, t); fc.forward(in, W(t, layer), B(t, layer), *f); }
    if (!fuse_relu) { Scope s(*this, r_relu, false, t); relu.forward(*f, *f); }
    Scope s(*this, r_drop, false, t);
    if (drop) drop->forward(*f, *d);
  };
  for (int t = 0; t < kTowers; ++t) {
    Tower& X = *T[t];
    fc_block(t, *X.fc6, *g6_[t], "fc6", *X.relu6, X.drop6.get(), X.f6, X.d6, X.r_fc6, X.r_relu6, X.r_drop6);
  }
  auto out6 = [&](Tower& X) -> const Tensor& { return X.drop6 ? *X.d6 : *X.f6; };
  auto out7 = [&](Tower& X) -> const Tensor& { return X.drop7 ? *X.d7 : *X.f7; };
  { Scope s(*this, r_g7_, false); exchange_->gather({out6(*T[0]), out6(*T[1])}, {*g7_[0], *g7_[1]}); }
  for (int t = 0; t < kTowers; ++t) {
    Tower& X = *T[t];
    fc_block(t, *X.fc7, *g7_[t], "fc7", *X.relu7, X.drop7.get(), X.f7, X.d7, X.r_fc7, X.r_relu7, X.r_drop7);
  }
  { Scope s(*this, r_g8_, false); exchange_->gather({out7(*T[0]), out7(*T[1])}, {*g8_[0], *g8_[1]}); }
  for (int t = 0; t < kTowers; ++t) {
    Tower& X = *T[t];
    Scope s(*this, X.r_fc8, false, t);
    X.fc8->forward(*g8_[t], W(t, "fc8"), B(t, "fc8"), *X.f8);
  }
  Scope s(*this, r_logits_, false);
  exchange_->gather({*T[0]->f8, *T[1]->f8}, {*logits_, *logits_});
}

void AlexNet::loss() {
  {
    Scope s(*this, r_loss_, false);
    loss_->forward(*logits_, loss_labels_);
  }
  Scope s(*this, r_loss_, true);
  loss_->backward(loss_labels_, *dlogits_);
}

LossStats AlexNet::loss_stats() const { return loss_->stats(); }

void AlexNet::l2_loss_grad() {
  Scope s(*this, r_loss_, true);
  copy_async(*dlogits_, *logits_);
}

void AlexNet::backward() {
  std::array<Tower*, kTowers> T{towers_[0].get(), towers_[1].get()};
  auto ready = [&](int t, const char* layer) {
    if (grad_ready_) grad_ready_(t, layer);
  };
  auto W = [&](int t, const char* layer) { return weight(t, layer); };
  auto GW = [&](int t, const char* layer) { return weight_grad(t, layer); };
  auto GB = [&](int t, const char* layer) { return bias_grad(t, layer); };

  { Scope s(*this, r_logits_, true); exchange_->split(*dlogits_, {*T[0]->df8, *T[1]->df8}); }
  for (int t = 0; t < kTowers; ++t) {
    Tower& X = *T[t];
    {
      Scope s(*this, X.r_fc8, true, t);
      X.fc8->backward(*g8_[t], W(t, "fc8"), *X.df8, *X.dg8, GW(t, "fc8"), GB(t, "fc8"));
    }
    ready(t, "fc8");
  }
  // dd7 is the gradient w.r.t. the dropout output (or the ReLU output when there is no dropout).
  auto dout7 = [](Tower& X) -> const Tensor& { return X.drop7 ? *X.dd7 : *X.df7; };
  auto dout6 = [](Tower& X) -> const Tensor& { return X.drop6 ? *X.dd6 : *X.df6; };
  { Scope s(*this, r_g8_, true); exchange_->reduce_scatter({*T[0]->dg8, *T[1]->dg8}, {dout7(*T[0]), dout7(*T[1])}); }
  auto fc_block = [&](int t, Dropout* drop, Relu& relu, FullyConnected& fc, const Tensor& in, const char* layer,
                      const OwnedTensor& f, const OwnedTensor& dd, const OwnedTensor& df, const OwnedTensor& dg,
                      int r_drop, int r_relu, int r_fc) {
    {
      Scope s(*this, r_drop, true, t);
      if (drop) drop->backward(*dd, *df);
    }
    { Scope s(*this, r_relu, true, t); relu.backward(*f, *df, *df); }
    {
      Scope s(*this, r_fc, true, t);
      fc.backward(in, W(t, layer), *df, *dg, GW(t, layer), GB(t, layer));
    }
    ready(t, layer);
  };
  for (int t = 0; t < kTowers; ++t) {
    Tower& X = *T[t];
    fc_block(t, X.drop7.get(), *X.relu7, *X.fc7, *g7_[t], "fc7", X.f7, X.dd7, X.df7, X.dg7, X.r_drop7, X.r_relu7,
             X.r_fc7);
  }
  { Scope s(*this, r_g7_, true); exchange_->reduce_scatter({*T[0]->dg7, *T[1]->dg7}, {dout6(*T[0]), dout6(*T[1])}); }
  for (int t = 0; t < kTowers; ++t) {
    Tower& X = *T[t];
    fc_block(t, X.drop6.get(), *X.relu6, *X.fc6, *g6_[t], "fc6", X.f6, X.dd6, X.df6, X.dg6, X.r_drop6, X.r_relu6,
             X.r_fc6);
  }
  {
    Scope s(*this, r_g6_, true);
    exchange_->reduce_scatter({*T[0]->dg6, *T[1]->dg6}, {flat(T[0]->dp5c), flat(T[1]->dp5c)});
    for (Tower* X : T) convert_layout(*X->dp5, X->dp5c);
  }
  for (int t = 0; t < kTowers; ++t) {
    Tower& X = *T[t];
    { Scope s(*this, X.r_pool5, true, t); X.pool5->backward(*X.dp5, *X.dc5); }
    { Scope s(*this, X.r_relu5, true, t); X.relu5->backward(*X.c5, *X.dc5, *X.dc5); }
    { Scope s(*this, X.r_conv5, true, t); X.conv5->backward(*X.c4, W(t, "conv5"), *X.dc5, *X.dc4, GW(t, "conv5"), GB(t, "conv5")); }
    ready(t, "conv5");
    { Scope s(*this, X.r_relu4, true, t); X.relu4->backward(*X.c4, *X.dc4, *X.dc4); }
    { Scope s(*this, X.r_conv4, true, t); X.conv4->backward(*X.c3, W(t, "conv4"), *X.dc4, *X.dc3, GW(t, "conv4"), GB(t, "conv4")); }
    ready(t, "conv4");
    { Scope s(*this, X.r_relu3, true, t); X.relu3->backward(*X.c3, *X.dc3, *X.dc3); }
    { Scope s(*this, X.r_conv3, true, t); X.conv3->backward(*g3_[t], W(t, "conv3"), *X.dc3, *X.dg3, GW(t, "conv3"), GB(t, "conv3")); }
    ready(t, "conv3");
  }
  { Scope s(*this, r_g3_, true); exchange_->reduce_scatter({*T[0]->dg3, *T[1]->dg3}, {*T[0]->dp2, *T[1]->dp2}); }
  for (int t = 0; t < kTowers; ++t) {
    Tower& X = *T[t];
    { Scope s(*this, X.r_pool2, true, t); X.pool2->backward(*X.dp2, *X.dn2); }
    { Scope s(*this, X.r_norm2, true, t); X.norm2->backward(*X.c2, *X.dn2, *X.dc2); }
    { Scope s(*this, X.r_relu2, true, t); X.relu2->backward(*X.c2, *X.dc2, *X.dc2); }
    { Scope s(*this, X.r_conv2, true, t); X.conv2->backward(*X.p1, W(t, "conv2"), *X.dc2, *X.dp1, GW(t, "conv2"), GB(t, "conv2")); }
    ready(t, "conv2");
    { Scope s(*this, X.r_pool1, true, t); X.pool1->backward(*X.dp1, *X.dn1); }
    { Scope s(*this, X.r_norm1, true, t); X.norm1->backward(*X.c1, *X.dn1, *X.dc1); }
    { Scope s(*this, X.r_relu1, true, t); X.relu1->backward(*X.c1, *X.dc1, *X.dc1); }
    { Scope s(*this, X.r_conv1, true, t); X.conv1->backward(tower_images_[t], W(t, "conv1"), *X.dc1, Tensor{}, GW(t, "conv1"), GB(t, "conv1")); }
    ready(t, "conv1");
  }
}

void AlexNet::update(double lr, const SgdConfig& sgd, float grad_scale) {
  for (int t = 0; t < kTowers; ++t) {
    Scope s(*this, r_update_, true, t);
    const TowerParams& p = params_[static_cast<size_t>(t)];
    sgd_update(p.all_values(), p.all_grads(), p.all_momentum(), lr, sgd, grad_scale);
  }
}

std::vector<uint64_t> AlexNet::rng_state() const {
  std::vector<uint64_t> s;
  for (const auto& t : towers_)
    for (const auto* d : {t->drop6.get(), t->drop7.get()}) s.push_back(d ? d->counter() : 0);
  return s;
}

void AlexNet::set_rng_state(const std::vector<uint64_t>& s) {
  ALEXNET_CHECK(s.size() == 2 * kTowers, "RNG state has " << s.size() << " counters, expected " << 2 * kTowers);
  size_t i = 0;
  for (auto& t : towers_)
    for (auto* d : {t->drop6.get(), t->drop7.get()}) {
      if (d) d->set_counter(s[i]);
      ++i;
    }
}

}  // namespace alexnet

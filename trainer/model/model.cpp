// The two-tower AlexNet (see model.h). Per tower, in execution order:
//   conv1 11x11/4 relu norm pool | conv2 5x5 relu norm pool | gather | conv3 relu | conv4 relu |
//   conv5 relu pool | gather | fc6 relu drop | gather | fc7 relu drop | gather | fc8 | gather logits
// ReLUs run in place (their backward reads the output); with fuse_relu the convolutions and fc6,
// fc7 apply them in forward. Backward walks the same list in reverse with reduce-scatters where
// forward gathered. Every layer reports to the step timer under its row; exchanges and the update
// are timed here.
#include "model/model.h"

#include "core/error.h"
#include "core/random.h"
#include "layers/backend_info.h"
#include "layers/convert.h"
#include "layers/dropout.h"
#include "layers/fc.h"
#include "layers/lrn.h"
#include "layers/pool.h"
#include "layers/relu.h"
#include "model/step_timer.h"

namespace alexnet {

namespace {

// The timing rows in execution order (the per-layer tables print them so).
const std::vector<std::string>& timing_rows() {
  static const std::vector<std::string> rows = {
      "conv1",     "relu1", "norm1", "pool1", "conv2",     "relu2", "norm2",           "pool2", "exchange3", "conv3",
      "relu3",     "conv4", "relu4", "conv5", "relu5",     "pool5", "exchange6",       "fc6",   "relu6",     "drop6",
      "exchange7", "fc7",   "relu7", "drop7", "exchange8", "fc8",   "exchange_logits", "loss",  "update"};
  return rows;
}

// A 4-D NCHW activation seen as (N, features): what fc6 reads.
Tensor flat(const Tensor& x) { return x.reshaped(Shape{x.shape.n(), x.numel() / x.shape.n()}); }

}  // namespace

struct AlexNet::Tower {
  // fc6 or fc7: the layer, its ReLU and dropout, their outputs and gradients.
  struct FcBlock {
    const char* layer = nullptr;
    std::unique_ptr<FullyConnected> fc = nullptr;
    std::unique_ptr<Relu> relu = nullptr;
    std::unique_ptr<Dropout> drop = nullptr;                 // none when dropout is 0
    Tensor in = {};                                          // (N, 2*Fin) the gathered input
    OwnedTensor f = {}, d = {};                              // (N, F) fc output (after ReLU, in place), dropout output
    OwnedTensor df = {}, dd = {}, dg = {};                   // gradients of f, d and of the gathered input
    const Tensor& out() const { return drop ? *d : *f; }     // what the next layer gathers
    const Tensor& dout() const { return drop ? *dd : *df; }  // its gradient
  };

  int t = 0;
  const TowerParams* params = nullptr;
  Tensor images;  // (N, 3, S, S) what conv1 reads
  bool fused = true;
  // Layers.
  std::unique_ptr<Conv> conv1, conv2, conv3, conv4, conv5;
  std::unique_ptr<Relu> relu1, relu2, relu3, relu4, relu5;
  std::unique_ptr<Lrn> norm1, norm2;
  std::unique_ptr<MaxPool> pool1, pool2, pool5;
  FcBlock b6{"fc6"}, b7{"fc7"};
  std::unique_ptr<FullyConnected> fc8;
  // Activations (after ReLU where one follows, in place) and their gradients.
  OwnedTensor c1, n1, p1, dc1, dn1, dp1;  // (N, C1, 55, 55) x 2, (N, C1, 27, 27)
  OwnedTensor c2, n2, p2, dc2, dn2, dp2;  // (N, C2, 27, 27) x 2, (N, C2, 13, 13)
  Tensor g3;                              // (N, 2*C2, 13, 13) conv3's gathered input
  OwnedTensor dg3;                        // its gradient, both halves
  OwnedTensor c3, c4, c5, p5;             // (N, C3, 13, 13) (N, C4, 13, 13) (N, C5, 13, 13) (N, C5, 6, 6)
  OwnedTensor dc3, dc4, dc5, dp5;
  // pool5 and its gradient in NCHW: fc6 reads the features of a tower in (C, H, W) order whatever
  // the layout, so its weights (and checkpoints) mean the same on every backend. Views of p5 and
  // dp5 when the layout is NCHW already.
  Tensor p5c, dp5c;  // (N, C5, 6, 6) NCHW
  OwnedTensor p5c_own, dp5c_own;
  Tensor g8;                 // (N, 2*F) fc8's gathered input
  OwnedTensor f8, df8, dg8;  // (N, classes/2), its gradient, (N, 2*F)

  Tensor w(const char* layer) const { return params->value(params->layout.weight(layer)); }
  Tensor b(const char* layer) const { return params->value(params->layout.bias(layer)); }
  Tensor gw(const char* layer) const { return params->grad(params->layout.weight(layer)); }
  Tensor gb(const char* layer) const { return params->grad(params->layout.bias(layer)); }

  void relu_forward(Relu& relu, const OwnedTensor& x) const {
    if (!fused) relu.forward(*x, *x);
  }

  void forward_conv1_to_pool2() {
    conv1->forward(images, w("conv1"), b("conv1"), *c1);
    relu_forward(*relu1, c1);
    norm1->forward(*c1, *n1);
    pool1->forward(*n1, *p1);
    conv2->forward(*p1, w("conv2"), b("conv2"), *c2);
    relu_forward(*relu2, c2);
    norm2->forward(*c2, *n2);
    pool2->forward(*n2, *p2);
  }

  void forward_conv3_to_pool5() {
    conv3->forward(g3, w("conv3"), b("conv3"), *c3);
    relu_forward(*relu3, c3);
    conv4->forward(*c3, w("conv4"), b("conv4"), *c4);
    relu_forward(*relu4, c4);
    conv5->forward(*c4, w("conv5"), b("conv5"), *c5);
    relu_forward(*relu5, c5);
    pool5->forward(*c5, *p5);
  }

  void forward_fc(FcBlock& k) {
    k.fc->forward(k.in, w(k.layer), b(k.layer), *k.f);
    relu_forward(*k.relu, k.f);
    if (k.drop) k.drop->forward(*k.f, *k.d);
  }

  void forward_fc8() { fc8->forward(g8, w("fc8"), b("fc8"), *f8); }

  // Backward from the gradients of this tower's outputs; `ready(layer)` after each layer's
  // parameter gradients are complete.
  template <class Ready>
  void backward_fc8(Ready&& ready) {
    fc8->backward(g8, w("fc8"), *df8, *dg8, gw("fc8"), gb("fc8"));
    ready("fc8");
  }

  template <class Ready>
  void backward_fc(FcBlock& k, Ready&& ready) {
    if (k.drop) k.drop->backward(*k.dd, *k.df);
    k.relu->backward(*k.f, *k.df, *k.df);
    k.fc->backward(k.in, w(k.layer), *k.df, *k.dg, gw(k.layer), gb(k.layer));
    ready(k.layer);
  }

  template <class Ready>
  void backward_pool5_to_conv3(Ready&& ready) {
    pool5->backward(*dp5, *dc5);
    relu5->backward(*c5, *dc5, *dc5);
    conv5->backward(*c4, w("conv5"), *dc5, *dc4, gw("conv5"), gb("conv5"));
    ready("conv5");
    relu4->backward(*c4, *dc4, *dc4);
    conv4->backward(*c3, w("conv4"), *dc4, *dc3, gw("conv4"), gb("conv4"));
    ready("conv4");
    relu3->backward(*c3, *dc3, *dc3);
    conv3->backward(g3, w("conv3"), *dc3, *dg3, gw("conv3"), gb("conv3"));
    ready("conv3");
  }

  template <class Ready>
  void backward_pool2_to_conv1(Ready&& ready) {
    pool2->backward(*dp2, *dn2);
    norm2->backward(*c2, *dn2, *dc2);
    relu2->backward(*c2, *dc2, *dc2);
    conv2->backward(*p1, w("conv2"), *dc2, *dp1, gw("conv2"), gb("conv2"));
    ready("conv2");
    pool1->backward(*dp1, *dn1);
    norm1->backward(*c1, *dn1, *dc1);
    relu1->backward(*c1, *dc1, *dc1);
    conv1->backward(images, w("conv1"), *dc1, Tensor{}, gw("conv1"), gb("conv1"));
    ready("conv1");
  }

  // Every layer of the tower with the row it reports under (its name without "/towerN").
  std::vector<Layer*> layers() {
    std::vector<Layer*> out = {conv1.get(), relu1.get(), norm1.get(), pool1.get(), conv2.get(), relu2.get(),
                               norm2.get(), pool2.get(), conv3.get(), relu3.get(), conv4.get(), relu4.get(),
                               conv5.get(), relu5.get(), pool5.get(), fc8.get()};
    for (FcBlock* k : {&b6, &b7}) {
      out.push_back(k->fc.get());
      out.push_back(k->relu.get());
      if (k->drop) out.push_back(k->drop.get());
    }
    return out;
  }
};

Layout best_layout(const ModelConfig& m, const Device& d) {
  if (!d.is_cpu()) return Layout::nhwc;        // cuDNN's fast engines read channels last
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

AlexNet::AlexNet(const ModelOptions& o)
    : opt_(o),
      dev_{o.device, o.tower1_device.value_or(o.device)},
      timer_(std::make_unique<StepTimer>(timing_rows(), dev_)) {
  o.config.validate();
  ALEXNET_CHECK(o.batch >= 1, "batch size must be at least 1, got " << o.batch);
  ALEXNET_CHECK(o.dropout >= 0 && o.dropout < 1, "dropout must be in [0, 1), got " << o.dropout);
  ALEXNET_CHECK(dev_[0].is_cpu() == dev_[1].is_cpu(),
                "towers on " << dev_[0].str() << " and " << dev_[1].str() << ": both on the CPU or both on GPUs");
  exchange_ = on_gpu() ? make_gpu_exchange(dev_[0], dev_[1]) : make_host_exchange();
  build_batch();
  for (int t = 0; t < kTowers; ++t) towers_[t] = build_tower(t);
  const DType ad = activation_dtype(o.precision);
  const int64_t n = o.batch, classes = o.config.classes;
  logits_ = OwnedTensor(Shape{n, classes}, dev_[0], Layout::nchw, ad);
  dlogits_ = OwnedTensor(Shape{n, classes}, dev_[0], Layout::nchw, ad);
  loss_ = std::make_unique<SoftmaxLoss>("loss", n, classes, dev_[0], o.precision);
  loss_->set_probe(timer_->probe(0), "loss");
}

AlexNet::~AlexNet() = default;

// The batch: written by the caller in host memory (pinned for GPUs), copied to each tower's GPU.
void AlexNet::build_batch() {
  const bool gpu = on_gpu();
  const DType ad = activation_dtype(opt_.precision);
  const int64_t n = opt_.batch, s = opt_.config.input_size;
  const Shape image_shape{n, 3, s, s};
  const Layout il = image_layout(opt_.layout);
  images_ = OwnedTensor(image_shape, Device::cpu(), il, DType::f32, /*pinned=*/gpu);
  labels_ = OwnedTensor(Shape{n}, Device::cpu(), Layout::nchw, DType::i32, /*pinned=*/gpu);
  tower_images_ = {images_.view, images_.view};
  loss_labels_ = labels_.view;
  if (!gpu) {
    if (ad != DType::f32) {  // bf16 on the CPU: both towers read one converted copy
      images_dev_[0] = OwnedTensor(image_shape, Device::cpu(), il, ad);
      tower_images_ = {images_dev_[0].view, images_dev_[0].view};
    }
    return;
  }
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

namespace {

// The layers of tower t (names "conv1/tower0", ...); shapes follow from the layer specs.
void make_layers(AlexNet::Tower& T, const ModelOptions& o, const Device& dev, const Shape& images) {
  const ModelConfig& m = o.config;
  const int64_t n = o.batch, c1 = m.conv_channels(1), c2 = m.conv_channels(2), c3 = m.conv_channels(3),
                c4 = m.conv_channels(4), c5 = m.conv_channels(5), f = m.fc_width(), k = m.classes / 2;
  const Layout L = o.layout;
  const Precision p = o.precision;
  const PoolSpec pool{3, 2, 0};
  auto nm = [&](const char* layer) { return std::string(layer) + "/tower" + std::to_string(T.t); };
  ConvOptions first = ConvOptions::first_layer(image_layout(L), p, o.fuse_relu);
  first.deterministic = o.deterministic;
  const ConvOptions rest{
      .algorithm = o.conv_algorithm, .precision = p, .relu = o.fuse_relu, .deterministic = o.deterministic};
  T.conv1 = std::make_unique<Conv>(nm("conv1"), ConvSpec{3, c1, 11, 4, 0, 1}, images, L, dev, first);
  const Shape s1 = T.conv1->output_shape();
  T.relu1 = std::make_unique<Relu>(nm("relu1"), s1, L, dev, p);
  T.norm1 = std::make_unique<Lrn>(nm("norm1"), m.lrn, s1, L, dev, p);
  T.pool1 = std::make_unique<MaxPool>(nm("pool1"), pool, s1, L, dev, p);
  T.conv2 = std::make_unique<Conv>(nm("conv2"), ConvSpec{c1, c2, 5, 1, 2, 1}, T.pool1->output_shape(), L, dev, rest);
  const Shape s2 = T.conv2->output_shape();
  T.relu2 = std::make_unique<Relu>(nm("relu2"), s2, L, dev, p);
  T.norm2 = std::make_unique<Lrn>(nm("norm2"), m.lrn, s2, L, dev, p);
  T.pool2 = std::make_unique<MaxPool>(nm("pool2"), pool, s2, L, dev, p);
  const Shape sp2 = T.pool2->output_shape(), sg3{n, 2 * c2, sp2.h(), sp2.w()};
  T.conv3 = std::make_unique<Conv>(nm("conv3"), ConvSpec{2 * c2, c3, 3, 1, 1, 1}, sg3, L, dev, rest);
  T.relu3 = std::make_unique<Relu>(nm("relu3"), T.conv3->output_shape(), L, dev, p);
  T.conv4 = std::make_unique<Conv>(nm("conv4"), ConvSpec{c3, c4, 3, 1, 1, 1}, T.conv3->output_shape(), L, dev, rest);
  T.relu4 = std::make_unique<Relu>(nm("relu4"), T.conv4->output_shape(), L, dev, p);
  T.conv5 = std::make_unique<Conv>(nm("conv5"), ConvSpec{c4, c5, 3, 1, 1, 1}, T.conv4->output_shape(), L, dev, rest);
  T.relu5 = std::make_unique<Relu>(nm("relu5"), T.conv5->output_shape(), L, dev, p);
  T.pool5 = std::make_unique<MaxPool>(nm("pool5"), pool, T.conv5->output_shape(), L, dev, p);
  const int64_t f5 = T.pool5->output_shape().numel() / n;  // one tower's flattened pool5
  const uint64_t seed = mix64(o.seed ^ mix64(0xd50 + static_cast<uint64_t>(T.t)) ^ mix64(~o.rng_stream));
  int index = 6;
  for (auto* k : {&T.b6, &T.b7}) {
    const int64_t in = index == 6 ? 2 * f5 : 2 * f;
    const std::string i = std::to_string(index);
    k->fc = std::make_unique<FullyConnected>(nm(k->layer), FcSpec{in, f}, n, dev,
                                             FcOptions{.precision = p, .relu = o.fuse_relu});
    k->relu = std::make_unique<Relu>(nm(("relu" + i).c_str()), Shape{n, f}, L, dev, p);
    if (o.dropout > 0)
      k->drop = std::make_unique<Dropout>(nm(("drop" + i).c_str()), o.dropout, Shape{n, f}, L, dev,
                                          mix64(seed + static_cast<uint64_t>(index)), p);
    ++index;
  }
  T.fc8 = std::make_unique<FullyConnected>(nm("fc8"), FcSpec{2 * f, k}, n, dev, FcOptions{.precision = p});
}

// Every activation and gradient of a tower, from its layers' shapes.
void allocate(AlexNet::Tower& T, const ModelOptions& o, const Device& dev) {
  const DType ad = activation_dtype(o.precision);
  auto act = [&](const Shape& sh) { return OwnedTensor(sh, dev, o.layout, ad); };
  const Shape s1 = T.conv1->output_shape(), sp1 = T.pool1->output_shape(), s2 = T.conv2->output_shape(),
              sp2 = T.pool2->output_shape(), s3 = T.conv3->output_shape(), s4 = T.conv4->output_shape(),
              s5 = T.conv5->output_shape(), sp5 = T.pool5->output_shape();
  T.c1 = act(s1), T.n1 = act(s1), T.p1 = act(sp1), T.dc1 = act(s1), T.dn1 = act(s1), T.dp1 = act(sp1);
  T.c2 = act(s2), T.n2 = act(s2), T.p2 = act(sp2), T.dc2 = act(s2), T.dn2 = act(s2), T.dp2 = act(sp2);
  T.dg3 = act(T.conv3->input_shape());
  T.c3 = act(s3), T.c4 = act(s4), T.c5 = act(s5), T.p5 = act(sp5);
  T.dc3 = act(s3), T.dc4 = act(s4), T.dc5 = act(s5), T.dp5 = act(sp5);
  if (o.layout == Layout::nchw) {
    T.p5c = *T.p5, T.dp5c = *T.dp5;
  } else {
    T.p5c_own = OwnedTensor(sp5, dev, Layout::nchw, ad), T.dp5c_own = OwnedTensor(sp5, dev, Layout::nchw, ad);
    T.p5c = *T.p5c_own, T.dp5c = *T.dp5c_own;
  }
  for (auto* k : {&T.b6, &T.b7}) {
    const Shape out = k->fc->output_shape();
    k->f = act(out), k->d = act(out), k->df = act(out), k->dd = act(out), k->dg = act(k->fc->input_shape());
  }
  T.f8 = act(T.fc8->output_shape()), T.df8 = act(T.fc8->output_shape()), T.dg8 = act(T.fc8->input_shape());
}

// A tower's flat parameters, in forward order (the layout stores them reversed), initialised.
void lay_out_params(TowerParams& P, const AlexNet::Tower& T, const ModelOptions& o, const Device& dev) {
  for (const Conv* c : {T.conv1.get(), T.conv2.get(), T.conv3.get(), T.conv4.get(), T.conv5.get()})
    P.layout.add(c->name().substr(0, c->name().find('/')), c->weight_shape(), c->bias_shape());
  for (const FullyConnected* fc : {T.b6.fc.get(), T.b7.fc.get(), T.fc8.get()})
    P.layout.add(fc->name().substr(0, fc->name().find('/')), fc->weight_shape(), fc->bias_shape());
  P.layout.finish();
  const size_t bytes = static_cast<size_t>(P.layout.total()) * sizeof(float);
  P.values = Buffer(bytes, dev);
  P.grads = Buffer(bytes, dev);
  P.momentum = Buffer(bytes, dev);
  init_params(P, o.init, o.seed, T.t);
}

}  // namespace

std::unique_ptr<AlexNet::Tower> AlexNet::build_tower(int t) {
  auto tower = std::make_unique<Tower>();
  Tower& T = *tower;
  const Device& dev = dev_[static_cast<size_t>(t)];
  T.t = t;
  T.fused = opt_.fuse_relu;
  T.images = tower_images_[static_cast<size_t>(t)];
  T.params = &params_[static_cast<size_t>(t)];
  make_layers(T, opt_, dev, images_->shape);
  allocate(T, opt_, dev);
  lay_out_params(params_[static_cast<size_t>(t)], T, opt_, dev);
  // The gathered inputs of conv3, fc6, fc7 and fc8: one copy per tower, or one shared by both
  // towers when they share a device.
  const DType ad = activation_dtype(opt_.precision);
  auto gathered = [&](std::array<OwnedTensor, kTowers>& g, const Shape& shape) {
    if (t == 0 || !exchange_->shared()) g[t] = OwnedTensor(shape, dev, opt_.layout, ad);
    return t == 1 && exchange_->shared() ? *g[0] : *g[t];
  };
  T.g3 = gathered(g3_, T.conv3->input_shape());
  T.b6.in = gathered(g6_, T.b6.fc->input_shape());
  T.b7.in = gathered(g7_, T.b7.fc->input_shape());
  T.g8 = gathered(g8_, T.fc8->input_shape());
  for (Layer* l : T.layers()) l->set_probe(timer_->probe(t), l->name().substr(0, l->name().find('/')));
  return tower;
}

const Tensor& AlexNet::images() const { return images_.view; }
const Tensor& AlexNet::labels() const { return labels_.view; }
const Tensor& AlexNet::logits() const { return logits_.view; }
TowerParams& AlexNet::params(int tower) { return params_.at(static_cast<size_t>(tower)); }
const TowerParams& AlexNet::params(int tower) const { return params_.at(static_cast<size_t>(tower)); }
int64_t AlexNet::param_count() const { return params_[0].layout.total() + params_[1].layout.total(); }

void AlexNet::upload_batch() { upload_batch(images_.view, labels_.view); }

void AlexNet::upload_batch(const Tensor& images, const Tensor& labels) {
  check_tensor(images, images_->shape, images_->layout, DType::f32, Device::cpu(), "upload_batch", "images");
  check_tensor(labels, labels_->shape, Layout::nchw, DType::i32, Device::cpu(), "upload_batch", "labels");
  if (!on_gpu()) {  // the CPU towers read images_ (bf16: its converted copy) and labels_
    copy_async(images_.view, images);
    copy_async(labels_.view, labels);
    if (images_dev_[0].buffer.data()) convert_async(images_dev_[0].view, images_.view);
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

void AlexNet::set_training(bool training) {
  for (auto& t : towers_)
    for (auto* k : {&t->b6, &t->b7})
      if (k->drop) k->drop->set_training(training);
}

void AlexNet::gather(const char* row, const TowerPair& halves, const TowerPair& gathered) {
  const ProbeScope timed = timer_->scope(row, false);
  exchange_->gather(halves, gathered);
}

void AlexNet::reduce_scatter(const char* row, const TowerPair& gathered_grads, const TowerPair& half_grads) {
  const ProbeScope timed = timer_->scope(row, true);
  exchange_->reduce_scatter(gathered_grads, half_grads);
}

void AlexNet::gather_features() {
  const ProbeScope timed = timer_->scope("exchange6", false);
  Tower &A = *towers_[0], &B = *towers_[1];
  for (Tower* X : {&A, &B}) convert_layout(X->p5c, *X->p5);  // to (C, H, W) feature order (none for NCHW)
  exchange_->gather({flat(A.p5c), flat(B.p5c)}, {A.b6.in, B.b6.in});
}

void AlexNet::scatter_features() {
  const ProbeScope timed = timer_->scope("exchange6", true);
  Tower &A = *towers_[0], &B = *towers_[1];
  exchange_->reduce_scatter({*A.b6.dg, *B.b6.dg}, {flat(A.dp5c), flat(B.dp5c)});
  for (Tower* X : {&A, &B}) convert_layout(*X->dp5, X->dp5c);
}

void AlexNet::forward() {
  Tower &A = *towers_[0], &B = *towers_[1];
  for (Tower* X : {&A, &B}) X->forward_conv1_to_pool2();
  gather("exchange3", {*A.p2, *B.p2}, {A.g3, B.g3});
  for (Tower* X : {&A, &B}) X->forward_conv3_to_pool5();
  gather_features();
  for (Tower* X : {&A, &B}) X->forward_fc(X->b6);
  gather("exchange7", {A.b6.out(), B.b6.out()}, {A.b7.in, B.b7.in});
  for (Tower* X : {&A, &B}) X->forward_fc(X->b7);
  gather("exchange8", {A.b7.out(), B.b7.out()}, {A.g8, B.g8});
  for (Tower* X : {&A, &B}) X->forward_fc8();
  gather("exchange_logits", {*A.f8, *B.f8}, {*logits_, *logits_});
}

void AlexNet::loss() {
  loss_->forward(*logits_, loss_labels_);
  loss_->backward(loss_labels_, *dlogits_);
}

void AlexNet::score() { loss_->forward(*logits_, loss_labels_); }

LossStats AlexNet::loss_stats() const { return loss_->stats(); }

Tensor AlexNet::probabilities() const { return loss_->probabilities(); }

void AlexNet::l2_loss_grad() {
  const ProbeScope timed = timer_->scope("loss", true);
  copy_async(*dlogits_, *logits_);
}

void AlexNet::ready(int tower, const char* layer) {
  if (grad_ready_) grad_ready_(tower, layer);
}

void AlexNet::backward() {
  Tower &A = *towers_[0], &B = *towers_[1];
  {
    const ProbeScope timed = timer_->scope("exchange_logits", true);
    exchange_->split(*dlogits_, {*A.df8, *B.df8});
  }
  auto ready_for = [this](const Tower& X) { return [this, t = X.t](const char* layer) { ready(t, layer); }; };
  for (Tower* X : {&A, &B}) X->backward_fc8(ready_for(*X));
  reduce_scatter("exchange8", {*A.dg8, *B.dg8}, {A.b7.dout(), B.b7.dout()});
  for (Tower* X : {&A, &B}) X->backward_fc(X->b7, ready_for(*X));
  reduce_scatter("exchange7", {*A.b7.dg, *B.b7.dg}, {A.b6.dout(), B.b6.dout()});
  for (Tower* X : {&A, &B}) X->backward_fc(X->b6, ready_for(*X));
  scatter_features();
  for (Tower* X : {&A, &B}) X->backward_pool5_to_conv3(ready_for(*X));
  reduce_scatter("exchange3", {*A.dg3, *B.dg3}, {*A.dp2, *B.dp2});
  for (Tower* X : {&A, &B}) X->backward_pool2_to_conv1(ready_for(*X));
}

void AlexNet::update(double lr, const SgdConfig& sgd, float grad_scale) {
  for (int t = 0; t < kTowers; ++t) {
    const ProbeScope timed = timer_->scope("update", true, t);
    const TowerParams& p = params_[static_cast<size_t>(t)];
    sgd_update(p.all_values(), p.all_grads(), p.all_momentum(), lr, sgd, grad_scale);
  }
}

std::vector<uint64_t> AlexNet::rng_state() const {
  std::vector<uint64_t> s;
  for (const auto& t : towers_)
    for (const auto* k : {&t->b6, &t->b7}) s.push_back(k->drop ? k->drop->counter() : 0);
  return s;
}

void AlexNet::set_rng_state(const std::vector<uint64_t>& s) {
  ALEXNET_CHECK(s.size() == 2 * kTowers, "RNG state has " << s.size() << " counters, expected " << 2 * kTowers);
  size_t i = 0;
  for (auto& t : towers_)
    for (auto* k : {&t->b6, &t->b7}) {
      if (k->drop) k->drop->set_counter(s[i]);
      ++i;
    }
}

}  // namespace alexnet

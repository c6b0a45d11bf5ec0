// Fully connected on the CPU: four oneDNN matmuls on plain row-major memory (no weight reorders;
// the transposes are strided views).
//   forward:         y (N,O)  = x (N,I) . W^T (I,O) + b
//   backward data:   dx (N,I) = dy (N,O) . W (O,I)
//   backward weights dW (O,I) = dy^T (O,N) . x (N,I);   db (1,O) = ones (1,N) . dy (N,O)
// bf16: x, y, dx, dy are bf16 and W is multiplied as a bf16 copy (converted in the forward, and
// in the backward unless it is the forward's W); b, dW and db stay fp32 (bf16 x bf16 products
// accumulated and written in fp32).
#include <algorithm>

#include "cpu/dnnl_util.h"
#include "layers/fc.h"

namespace alexnet::detail {
namespace {

using namespace alexnet::cpu;
namespace dn = dnnl;

class FcCpu final : public FcBackend {
 public:
  explicit FcCpu(const FcConfig& c) {
    const int64_t n = c.batch, i = c.spec.in_features, o = c.spec.out_features;
    const DType ad = activation_dtype(c.precision);
    auto attr = scratchpad_attr();
    auto& eng = engine();
    auto x_md = md({n, i}, tag::ab, ad);
    auto wt_md = md({i, o}, tag::ba, ad);  // W^T seen through W's (O, I) memory (bf16: our copy's)
    auto b_md = md({1, o}, tag::ab);
    auto y_md = md({n, o}, tag::ab, ad);
    auto w_md = md({o, i}, tag::ab, ad);    // W as backward data multiplies it
    auto dw_md = md({o, i}, tag::ab);       // dW: fp32
    auto dyt_md = md({o, n}, tag::ba, ad);  // dy^T seen through dy's (N, O) memory
    auto db_md = md({1, o}, tag::ab);

    auto fwd_pd =
        DNNL_CHECK(dn::matmul::primitive_desc(dn::matmul::desc(x_md, wt_md, b_md, y_md), forward_attr(c.relu), eng));
    auto bwd_w_pd = DNNL_CHECK(dn::matmul::primitive_desc(dn::matmul::desc(dyt_md, x_md, dw_md), attr, eng));
    auto ones_md = md({1, n}, tag::ab, ad);
    auto bias_pd = DNNL_CHECK(dn::matmul::primitive_desc(dn::matmul::desc(ones_md, y_md, db_md), attr, eng));
    scratch_.need(fwd_pd.scratchpad_desc());
    scratch_.need(bwd_w_pd.scratchpad_desc());
    scratch_.need(bias_pd.scratchpad_desc());
    dn::matmul::primitive_desc bwd_d_pd;
    if (c.need_input_grad) {
      bwd_d_pd = DNNL_CHECK(dn::matmul::primitive_desc(dn::matmul::desc(y_md, w_md, x_md), attr, eng));
      scratch_.need(bwd_d_pd.scratchpad_desc());
    }
    scratch_.allocate();

    x_ = unbound(x_md);
    wt_ = unbound(wt_md);
    b_ = unbound(b_md);
    y_ = unbound(y_md);
    w_ = unbound(w_md);
    dy_ = unbound(y_md);
    dyt_ = unbound(dyt_md);
    dx_ = unbound(x_md);
    dw_ = unbound(dw_md);
    db_ = unbound(db_md);
    if (ad != DType::f32) {  // W (fp32, user's) -> w16_ (bf16, ours): wt_ and w_ then view w16_
      w16_ = Buffer(w_md.get_size(), Device::cpu());
      w32_ = unbound(md({o, i}, tag::ab));
      auto w16 = DNNL_CHECK(dn::memory(w_md, eng, w16_.data()));
      to_bf16_ = Step(dn::reorder(DNNL_CHECK(dn::reorder::primitive_desc(w32_, w16))),
                      {{DNNL_ARG_FROM, w32_}, {DNNL_ARG_TO, w16}});
      bind(wt_, w16_.data());
      bind(w_, w16_.data());
    }
    fwd_ = Step(dn::matmul(fwd_pd), {{DNNL_ARG_SRC, x_},
                                     {DNNL_ARG_WEIGHTS, wt_},
                                     {DNNL_ARG_BIAS, b_},
                                     {DNNL_ARG_DST, y_},
                                     {DNNL_ARG_SCRATCHPAD, scratch_.memory_for(fwd_pd.scratchpad_desc())}});
    bwd_w_ = Step(dn::matmul(bwd_w_pd), {{DNNL_ARG_SRC, dyt_},
                                         {DNNL_ARG_WEIGHTS, x_},
                                         {DNNL_ARG_DST, dw_},
                                         {DNNL_ARG_SCRATCHPAD, scratch_.memory_for(bwd_w_pd.scratchpad_desc())}});
    ones_ = Buffer(ones_md.get_size(), Device::cpu());
    if (ad == DType::f32)
      std::fill_n(static_cast<float*>(ones_.data()), n, 1.f);
    else
      std::fill_n(static_cast<uint16_t*>(ones_.data()), n, bf16_bits(1.f));
    auto ones = DNNL_CHECK(dn::memory(ones_md, eng, ones_.data()));
    bias_ = Step(dn::matmul(bias_pd), {{DNNL_ARG_SRC, ones},
                                       {DNNL_ARG_WEIGHTS, dy_},
                                       {DNNL_ARG_DST, db_},
                                       {DNNL_ARG_SCRATCHPAD, scratch_.memory_for(bias_pd.scratchpad_desc())}});
    if (c.need_input_grad) {
      bwd_d_ = Step(dn::matmul(bwd_d_pd), {{DNNL_ARG_SRC, dy_},
                                           {DNNL_ARG_WEIGHTS, w_},
                                           {DNNL_ARG_DST, dx_},
                                           {DNNL_ARG_SCRATCHPAD, scratch_.memory_for(bwd_d_pd.scratchpad_desc())}});
    }
  }

  void forward(const Tensor& x, const Tensor& w, const Tensor& b, const Tensor& y) override {
    bind(x_, x.data);
    use_weights(w, /*forward=*/true);
    bind(b_, b.data);
    bind(y_, y.data);
    fwd_.run();
  }

  void backward(const Tensor& x, const Tensor& w, const Tensor& dy, const Tensor& dx, const Tensor& dw,
                const Tensor& db) override {
    bind(x_, x.data);
    bind(dy_, dy.data);
    bind(dyt_, dy.data);
    if (bwd_d_) {
      use_weights(w, /*forward=*/false);
      bind(dx_, dx.data);
      bwd_d_.run();
    }
    bind(dw_, dw.data);
    bind(db_, db.data);
    bwd_w_.run();
    bias_.run();
  }

 private:
  // Points the products at W: fp32 directly; bf16 through w16_, converted unless the backward
  // follows a forward that converted this same W.
  void use_weights(const Tensor& w, bool forward) {
    if (!to_bf16_) {
      bind(forward ? wt_ : w_, w.data);
      return;
    }
    if (forward || converted_ != w.data) {
      bind(w32_, w.data);
      to_bf16_.run();
    }
    converted_ = forward ? w.data : nullptr;
  }

  Scratchpad scratch_;
  Buffer ones_;  // (N) ones: the bias gradient is a matmul
  dn::memory x_, wt_, b_, y_, w_, dy_, dyt_, dx_, dw_, db_;
  Step fwd_, bwd_d_, bwd_w_, bias_;
  Buffer w16_;                       // (O, I) bf16: the copy of W (bf16 only)
  dn::memory w32_;                   // the user's fp32 W, source of the copy
  Step to_bf16_;                     // W -> w16_ (bf16 only)
  const void* converted_ = nullptr;  // the W the forward converted, until its backward
};

}  // namespace

std::unique_ptr<FcBackend> make_fc_cpu(const FcConfig& c) { return std::make_unique<FcCpu>(c); }

}  // namespace alexnet::detail

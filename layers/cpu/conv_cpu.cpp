// Convolution on the CPU with oneDNN. Activations stay in the user's layouts (no activation
// reorders); weights live in our plain OIHW buffer and are reordered to the layout the primitive
// prefers (small: at most a few MB per layer), and weight gradients back. Winograd, when asked
// for (or automatic), needs NCHW16C and a 3x3 stride-1 kernel; automatic falls back to direct.
// bf16: x, y, dx, dy are bf16 and the weights are multiplied as bf16 (the reorders above also
// convert); bias, weight and bias gradients stay fp32 (oneDNN accumulates in fp32). oneDNN has no
// bf16 Winograd: automatic runs direct.
#include "cpu/dnnl_util.h"
#include "layers/conv.h"

namespace alexnet::detail {
namespace {

using namespace alexnet::cpu;
namespace dn = dnnl;

class ConvCpu final : public ConvBackend {
 public:
  explicit ConvCpu(const ConvConfig& c) {
    if (c.algorithm == ConvAlgorithm::direct) {
      build(c, dn::algorithm::convolution_direct);
      return;
    }
    try {
      build(c, dn::algorithm::convolution_winograd);
    } catch (const Error& e) {
      if (c.algorithm == ConvAlgorithm::winograd)
        throw Error(std::string("winograd is not available for this convolution on the CPU (it needs a 3x3 stride-1 "
                                "kernel in the nchw16c layout): ") +
                    e.what());
      build(c, dn::algorithm::convolution_direct);
    }
  }

  void build(const ConvConfig& c, dn::algorithm alg) {
    scratch_ = Scratchpad();
    const auto& s = c.spec;
    const dims strides{s.stride, s.stride}, pads{s.pad, s.pad};
    const DType ad = activation_dtype(c.precision);
    auto src_md = md(c.input, c.input_layout, ad);
    auto dst_md = md(c.output, c.layout, ad);
    dims w_dims = s.groups == 1
                      ? dims{s.out_channels, s.in_channels, s.kernel, s.kernel}
                      : dims{s.groups, s.out_channels / s.groups, s.in_channels / s.groups, s.kernel, s.kernel};
    auto w_user_md = md(w_dims, s.groups == 1 ? tag::oihw : tag::goihw);
    auto w_any_md = md(w_dims, tag::any, ad);  // what forward and backward data multiply by
    auto dw_any_md = md(w_dims, tag::any);     // the weight gradient: fp32 in every precision
    auto b_md = md({s.out_channels}, tag::a);
    auto attr = scratchpad_attr();
    auto& eng = engine();

    auto fwd_pd = DNNL_CHECK(dn::convolution_forward::primitive_desc(
        dn::convolution_forward::desc(dn::prop_kind::forward_training, alg, src_md, w_any_md, b_md, dst_md, strides,
                                      pads, pads),
        forward_attr(c.relu), eng));
    auto bwd_w_pd = DNNL_CHECK(dn::convolution_backward_weights::primitive_desc(
        dn::convolution_backward_weights::desc(alg, src_md, dw_any_md, b_md, dst_md, strides, pads, pads), attr, eng,
        fwd_pd));

    impl_ = fwd_pd.impl_info_str();
    x_ = unbound(src_md);
    y_ = unbound(dst_md);
    b_ = unbound(b_md);
    dy_ = unbound(dst_md);
    db_ = unbound(b_md);
    w_fwd_ = Relayout(w_user_md, fwd_pd.weights_desc(), /*to_internal=*/true);
    dw_ = Relayout(w_user_md, bwd_w_pd.diff_weights_desc(), /*to_internal=*/false);

    scratch_.need(fwd_pd.scratchpad_desc());
    scratch_.need(bwd_w_pd.scratchpad_desc());
    dn::convolution_backward_data::primitive_desc bwd_d_pd;
    if (c.need_input_grad) {
      bwd_d_pd = DNNL_CHECK(dn::convolution_backward_data::primitive_desc(
          dn::convolution_backward_data::desc(alg, src_md, w_any_md, dst_md, strides, pads, pads), attr, eng, fwd_pd));
      scratch_.need(bwd_d_pd.scratchpad_desc());
      w_bwd_ = Relayout(w_user_md, bwd_d_pd.weights_desc(), /*to_internal=*/true);
      dx_ = unbound(src_md);
    }
    scratch_.allocate();

    fwd_ =
        Step(dn::convolution_forward(fwd_pd), {{DNNL_ARG_SRC, x_},
                                               {DNNL_ARG_WEIGHTS, w_fwd_.primitive_memory()},
                                               {DNNL_ARG_BIAS, b_},
                                               {DNNL_ARG_DST, y_},
                                               {DNNL_ARG_SCRATCHPAD, scratch_.memory_for(fwd_pd.scratchpad_desc())}});
    bwd_w_ = Step(dn::convolution_backward_weights(bwd_w_pd),
                  {{DNNL_ARG_SRC, x_},
                   {DNNL_ARG_DIFF_DST, dy_},
                   {DNNL_ARG_DIFF_WEIGHTS, dw_.primitive_memory()},
                   {DNNL_ARG_DIFF_BIAS, db_},
                   {DNNL_ARG_SCRATCHPAD, scratch_.memory_for(bwd_w_pd.scratchpad_desc())}});
    if (c.need_input_grad) {
      bwd_d_ = Step(dn::convolution_backward_data(bwd_d_pd),
                    {{DNNL_ARG_DIFF_DST, dy_},
                     {DNNL_ARG_WEIGHTS, w_bwd_.primitive_memory()},
                     {DNNL_ARG_DIFF_SRC, dx_},
                     {DNNL_ARG_SCRATCHPAD, scratch_.memory_for(bwd_d_pd.scratchpad_desc())}});
    }
  }

  void forward(const Tensor& x, const Tensor& w, const Tensor& b, const Tensor& y) override {
    bind(x_, x.data);
    bind(w_fwd_.user_memory(), w.data);
    bind(b_, b.data);
    bind(y_, y.data);
    w_fwd_.run();
    fwd_.run();
  }

  void backward(const Tensor& x, const Tensor& w, const Tensor& dy, const Tensor& dx, const Tensor& dw,
                const Tensor& db) override {
    bind(x_, x.data);
    bind(dy_, dy.data);
    if (bwd_d_) {
      bind(w_bwd_.user_memory(), w.data);
      bind(dx_, dx.data);
      w_bwd_.run();
      bwd_d_.run();
    }
    bind(dw_.user_memory(), dw.data);
    bind(db_, db.data);
    bwd_w_.run();
    dw_.run();
  }

  std::string implementation() const override { return impl_; }

 private:
  std::string impl_;
  dn::memory x_, y_, b_, dy_, db_, dx_;
  Relayout w_fwd_, w_bwd_, dw_;
  Scratchpad scratch_;
  Step fwd_, bwd_d_, bwd_w_;
};

}  // namespace

std::unique_ptr<ConvBackend> make_conv_cpu(const ConvConfig& c) { return std::make_unique<ConvCpu>(c); }

}  // namespace alexnet::detail

// ReLU on the CPU with oneDNN's eltwise (relu_use_dst_for_bwd: backward reads the output).
#include "cpu/dnnl_util.h"
#include "layers/relu.h"

namespace alexnet::detail {
namespace {

using namespace alexnet::cpu;
namespace dn = dnnl;

class ReluCpu final : public ReluBackend {
 public:
  explicit ReluCpu(const ReluConfig& c) {
    auto data_md = md(c.shape, c.layout);
    auto attr = scratchpad_attr();
    auto fwd_pd = DNNL_CHECK(dn::eltwise_forward::primitive_desc(
        dn::eltwise_forward::desc(dn::prop_kind::forward_training,
                                  dn::algorithm::eltwise_relu_use_dst_for_bwd, data_md, 0.f, 0.f),
        attr, engine()));
    auto bwd_pd = DNNL_CHECK(dn::eltwise_backward::primitive_desc(
        dn::eltwise_backward::desc(dn::algorithm::eltwise_relu_use_dst_for_bwd, data_md, data_md,
                                   0.f, 0.f),
        attr, engine(), fwd_pd));
    scratch_.need(fwd_pd.scratchpad_desc());
    scratch_.need(bwd_pd.scratchpad_desc());
    scratch_.allocate();
    x_ = unbound(data_md);
    y_ = unbound(data_md);
    dy_ = unbound(data_md);
    dx_ = unbound(data_md);
    yb_ = unbound(data_md);
    fwd_ = Step(dn::eltwise_forward(fwd_pd),
                {{DNNL_ARG_SRC, x_}, {DNNL_ARG_DST, y_},
                 {DNNL_ARG_SCRATCHPAD, scratch_.memory_for(fwd_pd.scratchpad_desc())}});
    bwd_ = Step(dn::eltwise_backward(bwd_pd),
                {{DNNL_ARG_DST, yb_}, {DNNL_ARG_DIFF_DST, dy_}, {DNNL_ARG_DIFF_SRC, dx_},
                 {DNNL_ARG_SCRATCHPAD, scratch_.memory_for(bwd_pd.scratchpad_desc())}});
  }

  void forward(const Tensor& x, const Tensor& y) override {
    bind(x_, x.data);
    bind(y_, y.data);
    fwd_.run();
  }

  void backward(const Tensor& y, const Tensor& dy, const Tensor& dx) override {
    bind(yb_, y.data);
    bind(dy_, dy.data);
    bind(dx_, dx.data);
    bwd_.run();
  }

 private:
  Scratchpad scratch_;
  dn::memory x_, y_, yb_, dy_, dx_;
  Step fwd_, bwd_;
};

}  // namespace

std::unique_ptr<ReluBackend> make_relu_cpu(const ReluConfig& c) { return std::make_unique<ReluCpu>(c); }

}  // namespace alexnet::detail

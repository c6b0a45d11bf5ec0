// LRN across channels on the CPU with oneDNN (which always writes alpha / n: the paper's
// convention passes alpha * n). The forward keeps a workspace for the backward.
#include "cpu/dnnl_util.h"
#include "layers/lrn.h"

namespace alexnet::detail {
namespace {

using namespace alexnet::cpu;
namespace dn = dnnl;

class LrnCpu final : public LrnBackend {
 public:
  explicit LrnCpu(const LrnConfig& c) {
    const auto& s = c.spec;
    auto data_md = md(c.shape, c.layout);
    const float alpha = static_cast<float>(s.sum_coefficient() * s.size);
    const float beta = static_cast<float>(s.beta), k = static_cast<float>(s.k);
    auto attr = scratchpad_attr();
    auto fwd_pd = DNNL_CHECK(dn::lrn_forward::primitive_desc(
        dn::lrn_forward::desc(dn::prop_kind::forward_training, dn::algorithm::lrn_across_channels,
                              data_md, s.size, alpha, beta, k),
        attr, engine()));
    auto bwd_pd = DNNL_CHECK(dn::lrn_backward::primitive_desc(
        dn::lrn_backward::desc(dn::algorithm::lrn_across_channels, data_md, data_md, s.size, alpha,
                               beta, k),
        attr, engine(), fwd_pd));
    workspace_ = Workspace(fwd_pd.workspace_desc());
    scratch_.need(fwd_pd.scratchpad_desc());
    scratch_.need(bwd_pd.scratchpad_desc());
    scratch_.allocate();
    x_ = unbound(data_md);
    y_ = unbound(data_md);
    dy_ = unbound(data_md);
    dx_ = unbound(data_md);
    fwd_ = Step(dn::lrn_forward(fwd_pd),
                workspace_.with({{DNNL_ARG_SRC, x_},
                                 {DNNL_ARG_DST, y_},
                                 {DNNL_ARG_SCRATCHPAD, scratch_.memory_for(fwd_pd.scratchpad_desc())}}));
    bwd_ = Step(dn::lrn_backward(bwd_pd),
                workspace_.with({{DNNL_ARG_SRC, x_},
                                 {DNNL_ARG_DIFF_DST, dy_},
                                 {DNNL_ARG_DIFF_SRC, dx_},
                                 {DNNL_ARG_SCRATCHPAD, scratch_.memory_for(bwd_pd.scratchpad_desc())}}));
  }

  void forward(const Tensor& x, const Tensor& y) override {
    bind(x_, x.data);
    bind(y_, y.data);
    fwd_.run();
  }

  void backward(const Tensor& x, const Tensor& dy, const Tensor& dx) override {
    bind(x_, x.data);
    bind(dy_, dy.data);
    bind(dx_, dx.data);
    bwd_.run();
  }

 private:
  Workspace workspace_;
  Scratchpad scratch_;
  dn::memory x_, y_, dy_, dx_;
  Step fwd_, bwd_;
};

}  // namespace

std::unique_ptr<LrnBackend> make_lrn_cpu(const LrnConfig& c) { return std::make_unique<LrnCpu>(c); }

}  // namespace alexnet::detail

// Max pooling on the CPU with oneDNN; the training forward leaves the argmax workspace that the
// backward reads.
#include "cpu/dnnl_util.h"
#include "layers/pool.h"

namespace alexnet::detail {
namespace {

using namespace alexnet::cpu;
namespace dn = dnnl;

class PoolCpu final : public PoolBackend {
 public:
  explicit PoolCpu(const PoolConfig& c) {
    const auto& s = c.spec;
    const dims kernel{s.kernel, s.kernel}, strides{s.stride, s.stride}, pads{s.pad, s.pad};
    auto src_md = md(c.input, c.layout);
    auto dst_md = md(c.output, c.layout);
    auto attr = scratchpad_attr();
    auto fwd_pd = DNNL_CHECK(dn::pooling_forward::primitive_desc(
        dn::pooling_forward::desc(dn::prop_kind::forward_training, dn::algorithm::pooling_max,
                                  src_md, dst_md, strides, kernel, pads, pads),
        attr, engine()));
    auto bwd_pd = DNNL_CHECK(dn::pooling_backward::primitive_desc(
        dn::pooling_backward::desc(dn::algorithm::pooling_max, src_md, dst_md, strides, kernel,
                                   pads, pads),
        attr, engine(), fwd_pd));
    workspace_ = Workspace(fwd_pd.workspace_desc());
    scratch_.need(fwd_pd.scratchpad_desc());
    scratch_.need(bwd_pd.scratchpad_desc());
    scratch_.allocate();
    x_ = unbound(src_md);
    y_ = unbound(dst_md);
    dy_ = unbound(dst_md);
    dx_ = unbound(src_md);
    fwd_ = Step(dn::pooling_forward(fwd_pd),
                workspace_.with({{DNNL_ARG_SRC, x_},
                                 {DNNL_ARG_DST, y_},
                                 {DNNL_ARG_SCRATCHPAD, scratch_.memory_for(fwd_pd.scratchpad_desc())}}));
    bwd_ = Step(dn::pooling_backward(bwd_pd),
                workspace_.with({{DNNL_ARG_DIFF_DST, dy_},
                                 {DNNL_ARG_DIFF_SRC, dx_},
                                 {DNNL_ARG_SCRATCHPAD, scratch_.memory_for(bwd_pd.scratchpad_desc())}}));
  }

  void forward(const Tensor& x, const Tensor& y) override {
    bind(x_, x.data);
    bind(y_, y.data);
    fwd_.run();
  }

  void backward(const Tensor& dy, const Tensor& dx) override {
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

std::unique_ptr<PoolBackend> make_pool_cpu(const PoolConfig& c) { return std::make_unique<PoolCpu>(c); }

}  // namespace alexnet::detail

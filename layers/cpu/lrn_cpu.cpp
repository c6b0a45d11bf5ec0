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
    auto data_md = md(c.shape, c.layout, c.dtype);
    const float alpha = static_cast<float>(s.sum_coefficient() * s.size);
    const float beta = static_cast<float>(s.beta), k = static_cast<float>(s.k);
    auto attr = scratchpad_attr();
    auto fwd_pd = DNNL_CHECK(dn::lrn_forward::primitive_desc(
        dn::lrn_forward::desc(dn::prop_kind::forward_training, dn::algorithm::lrn_across_channels, data_md, s.size,
                              alpha, beta, k),
        attr, engine()));
    auto bwd_pd = DNNL_CHECK(dn::lrn_backward::primitive_desc(
        dn::lrn_backward::desc(dn::algorithm::lrn_across_channels, data_md, data_md, s.size, alpha, beta, k), attr,
        engine(), fwd_pd));
    prims_.build(dn::lrn_forward(fwd_pd), fwd_pd, dn::lrn_backward(bwd_pd), bwd_pd, data_md, data_md, DNNL_ARG_SRC);
  }

  void forward(const Tensor& x, const Tensor& y) override { prims_.forward(x.data, y.data); }
  void backward(const Tensor& x, const Tensor& dy, const Tensor& dx) override {
    prims_.backward(x.data, dy.data, dx.data);
  }

 private:
  ForwardBackward prims_;
};

}  // namespace

std::unique_ptr<LrnBackend> make_lrn_cpu(const LrnConfig& c) { return std::make_unique<LrnCpu>(c); }

}  // namespace alexnet::detail

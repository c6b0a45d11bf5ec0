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
    auto data_md = md(c.shape, c.layout, c.dtype);
    auto attr = scratchpad_attr();
    auto fwd_pd = DNNL_CHECK(dn::eltwise_forward::primitive_desc(
        dn::eltwise_forward::desc(dn::prop_kind::forward_training, dn::algorithm::eltwise_relu_use_dst_for_bwd, data_md,
                                  0.f, 0.f),
        attr, engine()));
    auto bwd_pd = DNNL_CHECK(dn::eltwise_backward::primitive_desc(
        dn::eltwise_backward::desc(dn::algorithm::eltwise_relu_use_dst_for_bwd, data_md, data_md, 0.f, 0.f), attr,
        engine(), fwd_pd));
    prims_.build(dn::eltwise_forward(fwd_pd), fwd_pd, dn::eltwise_backward(bwd_pd), bwd_pd, data_md, data_md,
                 DNNL_ARG_DST);
  }

  void forward(const Tensor& x, const Tensor& y) override { prims_.forward(x.data, y.data); }
  void backward(const Tensor& y, const Tensor& dy, const Tensor& dx) override {
    prims_.backward(y.data, dy.data, dx.data);
  }

 private:
  ForwardBackward prims_;
};

}  // namespace

std::unique_ptr<ReluBackend> make_relu_cpu(const ReluConfig& c) { return std::make_unique<ReluCpu>(c); }

}  // namespace alexnet::detail

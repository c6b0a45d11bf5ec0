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
    auto src_md = md(c.input, c.layout, c.dtype);
    auto dst_md = md(c.output, c.layout, c.dtype);
    auto attr = scratchpad_attr();
    auto fwd_pd = DNNL_CHECK(dn::pooling_forward::primitive_desc(
        dn::pooling_forward::desc(dn::prop_kind::forward_training, dn::algorithm::pooling_max, src_md, dst_md, strides,
                                  kernel, pads, pads),
        attr, engine()));
    auto bwd_pd = DNNL_CHECK(dn::pooling_backward::primitive_desc(
        dn::pooling_backward::desc(dn::algorithm::pooling_max, src_md, dst_md, strides, kernel, pads, pads), attr,
        engine(), fwd_pd));
    prims_.build(dn::pooling_forward(fwd_pd), fwd_pd, dn::pooling_backward(bwd_pd), bwd_pd, src_md, dst_md, 0);
  }

  void forward(const Tensor& x, const Tensor& y) override { prims_.forward(x.data, y.data); }
  void backward(const Tensor& dy, const Tensor& dx) override { prims_.backward(nullptr, dy.data, dx.data); }

 private:
  ForwardBackward prims_;
};

}  // namespace

std::unique_ptr<PoolBackend> make_pool_cpu(const PoolConfig& c) { return std::make_unique<PoolCpu>(c); }

}  // namespace alexnet::detail

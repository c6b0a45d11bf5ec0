// Max pooling on a GPU with our kernels (kernel_math.h): NCHW or NHWC, the argmax of every window
// kept for a deterministic backward with the CPU's tie rule (the first maximum). cuDNN 9 marks
// its pooling calls deprecated, and they need x and y again in backward.
#include "core/buffer.h"
#include "cuda/context.h"
#include "cuda/cudnn_check.h"
#include "cuda/kernels.h"
#include "layers/pool.h"

namespace alexnet::detail {
namespace {

class PoolCuda final : public PoolBackend {
 public:
  explicit PoolCuda(const PoolConfig& c)
      : ctx_(gpu::context(c.device)),
        c_(c),
        cl_(c.layout == Layout::nhwc),
        e_(gpu::elem_of(c.dtype)),
        argmax_(static_cast<std::size_t>(c.output.numel()) * sizeof(int32_t), c.device) {}

  void forward(const Tensor& x, const Tensor& y) override {
    ctx_.activate();
    const Shape &i = c_.input, &o = c_.output;
    gpu::maxpool_forward(x.data, y.data, e_, argmax(), i.n(), i.c(), i.h(), i.w(), o.h(), o.w(), c_.spec.kernel,
                         c_.spec.stride, c_.spec.pad, cl_, ctx_.stream());
  }

  void backward(const Tensor& dy, const Tensor& dx) override {
    ctx_.activate();
    const Shape &i = c_.input, &o = c_.output;
    gpu::maxpool_backward(dy.data, argmax(), dx.data, e_, i.n(), i.c(), i.h(), i.w(), o.h(), o.w(), c_.spec.kernel,
                          c_.spec.stride, c_.spec.pad, cl_, ctx_.stream());
  }

 private:
  int32_t* argmax() const { return static_cast<int32_t*>(argmax_.data()); }

  gpu::Context& ctx_;
  PoolConfig c_;
  bool cl_;
  gpu::Elem e_;
  Buffer argmax_;  // (N, C, OH, OW) int32: h * W + w of each window's maximum
};

}  // namespace

std::unique_ptr<PoolBackend> make_pool_cuda(const PoolConfig& c) { return std::make_unique<PoolCuda>(c); }

}  // namespace alexnet::detail

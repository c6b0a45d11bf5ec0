// LRN across channels on a GPU with our kernels (kernel_math.h): any of NCHW and NHWC, both
// conventions (the coefficient of the sum is LrnSpec::sum_coefficient()). The forward keeps
// k + coef * sum a^2 for the backward.
#include "core/buffer.h"
#include "cuda/context.h"
#include "cuda/cudnn_check.h"
#include "cuda/kernels.h"
#include "layers/lrn.h"

namespace alexnet::detail {
namespace {

class LrnCuda final : public LrnBackend {
 public:
  explicit LrnCuda(const LrnConfig& c)
      : ctx_(gpu::context(c.device)),
        s_(c.spec),
        shape_(c.shape),
        cl_(c.layout == Layout::nhwc),
        e_(gpu::elem_of(c.dtype)),
        scale_(static_cast<std::size_t>(c.shape.numel()) * sizeof(float), c.device) {}

  void forward(const Tensor& x, const Tensor& y) override {
    ctx_.activate();
    gpu::lrn_forward(x.data, y.data, e_, scale(), shape_.n(), shape_.c(), shape_.h() * shape_.w(), cl_, s_.size,
                     static_cast<float>(s_.k), static_cast<float>(s_.sum_coefficient()), static_cast<float>(s_.beta),
                     ctx_.stream());
  }

  void backward(const Tensor& x, const Tensor& dy, const Tensor& dx) override {
    ctx_.activate();
    gpu::lrn_backward(x.data, scale(), dy.data, dx.data, e_, shape_.n(), shape_.c(), shape_.h() * shape_.w(), cl_,
                      s_.size, static_cast<float>(s_.sum_coefficient()), static_cast<float>(s_.beta), ctx_.stream());
  }

 private:
  float* scale() const { return static_cast<float*>(scale_.data()); }

  gpu::Context& ctx_;
  LrnSpec s_;
  Shape shape_;  // (N, C, H, W)
  bool cl_;
  gpu::Elem e_;
  Buffer scale_;  // (N, C, H, W) k + coef * sum a^2 of the last forward
};

}  // namespace

std::unique_ptr<LrnBackend> make_lrn_cuda(const LrnConfig& c) { return std::make_unique<LrnCuda>(c); }

}  // namespace alexnet::detail

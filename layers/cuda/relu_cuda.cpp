// ReLU on a GPU: one element-wise kernel each way, on the device's stream.
#include "cuda/context.h"
#include "cuda/kernels.h"
#include "layers/relu.h"

namespace alexnet::detail {
namespace {

class ReluCuda final : public ReluBackend {
 public:
  explicit ReluCuda(const ReluConfig& c)
      : ctx_(gpu::context(c.device)), n_(c.shape.numel()), e_(gpu::elem_of(c.dtype)) {}
  void forward(const Tensor& x, const Tensor& y) override {
    ctx_.activate();
    gpu::relu_forward(x.data, y.data, e_, n_, ctx_.stream());
  }
  void backward(const Tensor& y, const Tensor& dy, const Tensor& dx) override {
    ctx_.activate();
    gpu::relu_backward(y.data, dy.data, dx.data, e_, n_, ctx_.stream());
  }

 private:
  gpu::Context& ctx_;
  int64_t n_;
  gpu::Elem e_;
};

}  // namespace

std::unique_ptr<ReluBackend> make_relu_cuda(const ReluConfig& c) { return std::make_unique<ReluCuda>(c); }

}  // namespace alexnet::detail

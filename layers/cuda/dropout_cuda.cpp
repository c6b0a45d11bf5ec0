// Dropout on a GPU: the same counter hash as the CPU (hash.h), so both draw identical masks; the
// mask (one byte per element) stays on the GPU for backward.
#include "cuda/context.h"
#include "cuda/kernels.h"
#include "layers/dropout.h"

namespace alexnet::detail {
namespace {

class DropoutCuda final : public DropoutBackend {
 public:
  explicit DropoutCuda(const DropoutConfig& c)
      : ctx_(gpu::context(c.device)),
        n_(c.shape.numel()),
        threshold_(dropout_threshold(c.p)),
        scale_(static_cast<float>(1.0 / (1.0 - c.p))),
        mask_(static_cast<std::size_t>(n_), c.device),
        e_(gpu::elem_of(c.dtype)) {}

  void forward(const Tensor& x, const Tensor& y, uint64_t base) override {
    ctx_.activate();
    gpu::dropout_forward(x.data, y.data, e_, static_cast<uint8_t*>(mask_.data()), n_, base, threshold_, scale_,
                         ctx_.stream());
  }
  void backward(const Tensor& dy, const Tensor& dx) override {
    ctx_.activate();
    gpu::dropout_backward(dy.data, dx.data, e_, static_cast<const uint8_t*>(mask_.data()), n_, scale_, ctx_.stream());
  }

 private:
  gpu::Context& ctx_;
  int64_t n_;
  uint32_t threshold_;
  float scale_;
  Buffer mask_;  // (numel) bytes on the GPU, 1 = kept
  gpu::Elem e_;
};

}  // namespace

std::unique_ptr<DropoutBackend> make_dropout_cuda(const DropoutConfig& c) { return std::make_unique<DropoutCuda>(c); }

}  // namespace alexnet::detail

// Softmax cross-entropy on a GPU: one block per sample (log-sum-exp in double, the label's rank),
// the batch sums reduced on the GPU in a fixed order and copied to pinned host memory
// asynchronously; stats() is where the host waits (the end of a step). A label outside [0, K) is
// reported there, naming the first such sample.
#include "core/buffer.h"
#include "cuda/context.h"
#include "cuda/cudnn_check.h"
#include "cuda/kernels.h"
#include "layers/softmax_loss.h"

namespace alexnet::detail {
namespace {

class SoftmaxLossCuda final : public SoftmaxLossBackend {
 public:
  explicit SoftmaxLossCuda(const SoftmaxLossConfig& c)
      : ctx_(gpu::context(c.device)),
        n_(c.batch),
        k_(c.classes),
        e_(gpu::elem_of(c.dtype)),
        prob_(static_cast<std::size_t>(n_ * k_) * sizeof(float), c.device),
        sample_loss_(static_cast<std::size_t>(n_) * sizeof(double), c.device),
        rank_(static_cast<std::size_t>(n_) * sizeof(int32_t), c.device),
        sums_(kSumsBytes, c.device),
        host_(kSumsBytes, Device::cpu(), /*pinned=*/true),
        reset_(2 * sizeof(int32_t), Device::cpu(), /*pinned=*/true) {
    auto* r = static_cast<int32_t*>(reset_.data());
    r[0] = 0;                         // labels out of range
    r[1] = static_cast<int32_t>(n_);  // the first of them
    CUDA_CHECK(cudaEventCreateWithFlags(&copied_, cudaEventDisableTiming));
  }
  ~SoftmaxLossCuda() override {
    if (!copied_) return;
    cudaSetDevice(ctx_.device());  // errors ignored: destructors never throw
    cudaEventDestroy(copied_);
  }

  void forward(const Tensor& logits, const Tensor& labels) override {
    ctx_.activate();
    cudaStream_t s = ctx_.stream();
    CUDA_CHECK(cudaMemcpyAsync(flags(), reset_.data(), 2 * sizeof(int32_t), cudaMemcpyHostToDevice, s));
    gpu::softmax_loss_forward(logits.data, e_, labels.i32(), static_cast<float*>(prob_.data()),
                              static_cast<double*>(sample_loss_.data()), static_cast<int32_t*>(rank_.data()), flags(),
                              flags() + 1, n_, k_, s);
    gpu::softmax_loss_reduce(static_cast<const double*>(sample_loss_.data()), static_cast<const int32_t*>(rank_.data()),
                             static_cast<double*>(sums_.data()), n_, s);
    CUDA_CHECK(cudaMemcpyAsync(host_.data(), sums_.data(), kSumsBytes, cudaMemcpyDeviceToHost, s));
    CUDA_CHECK(cudaEventRecord(copied_, s));
    labels_ = labels;
  }

  Tensor probabilities() const override { return prob_.tensor(Shape{n_, k_}); }

  LossStats stats() const override {
    ctx_.activate();
    CUDA_CHECK(cudaEventSynchronize(copied_));
    const auto* d = static_cast<const double*>(host_.data());
    const auto* f = reinterpret_cast<const int32_t*>(d + 3);
    if (f[0] > 0) {
      int32_t label = 0;
      CUDA_CHECK(cudaMemcpy(&label, labels_.i32() + f[1], sizeof label, cudaMemcpyDeviceToHost));
      throw Error("label " + std::to_string(label) + " of sample " + std::to_string(f[1]) + " is outside [0, " +
                  std::to_string(k_) + ") (" + std::to_string(f[0]) + " such labels in the batch)");
    }
    LossStats st;
    st.loss = d[0] / static_cast<double>(n_);
    st.top1 = static_cast<int64_t>(d[1]);
    st.top5 = static_cast<int64_t>(d[2]);
    st.count = n_;
    return st;
  }

  void backward(const Tensor& labels, const Tensor& dlogits, float scale) override {
    ctx_.activate();
    gpu::softmax_loss_backward(static_cast<const float*>(prob_.data()), labels.i32(), dlogits.data, e_, n_, k_, scale,
                               ctx_.stream());
  }

 private:
  // {loss sum, top-1, top-5} doubles, then {bad label count, first bad sample} int32.
  static constexpr std::size_t kSumsBytes = 3 * sizeof(double) + 2 * sizeof(int32_t);
  int32_t* flags() const { return reinterpret_cast<int32_t*>(static_cast<double*>(sums_.data()) + 3); }

  gpu::Context& ctx_;
  int64_t n_, k_;
  gpu::Elem e_;         // of logits and dlogits
  Buffer prob_;         // (N, K) softmax of the last forward
  Buffer sample_loss_;  // (N) doubles
  Buffer rank_;         // (N) int32: classes scoring above the label
  Buffer sums_;         // kSumsBytes on the GPU
  Buffer host_;         // kSumsBytes, pinned: where stats() reads them
  Buffer reset_;        // {0, N} pinned: the flags' initial values
  cudaEvent_t copied_ = nullptr;
  Tensor labels_;  // of the last forward (to name a bad label)
};

}  // namespace

std::unique_ptr<SoftmaxLossBackend> make_softmax_loss_cuda(const SoftmaxLossConfig& c) {
  return std::make_unique<SoftmaxLossCuda>(c);
}

}  // namespace alexnet::detail

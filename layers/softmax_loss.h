// Softmax cross-entropy loss over (N, K) logits with int32 labels: the mean over the batch of
// -log softmax(z)[label], plus top-1 and top-5 hits (a hit when fewer than k classes score strictly
// higher than the label). Backward OVERWRITES dlogits = (softmax - onehot) * scale / N.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "core/tensor.h"
#include "layers/layer.h"

namespace alexnet {

struct LossStats {
  double loss = 0;    // mean cross-entropy over the batch
  int64_t top1 = 0;   // samples whose label scored highest
  int64_t top5 = 0;   // samples whose label is among the 5 highest
  int64_t count = 0;  // samples
};

namespace detail {
class SoftmaxLossBackend {
 public:
  virtual ~SoftmaxLossBackend() = default;
  virtual void forward(const Tensor& logits, const Tensor& labels) = 0;
  virtual LossStats stats() const = 0;
  virtual Tensor probabilities() const = 0;
  virtual void backward(const Tensor& labels, const Tensor& dlogits, float scale) = 0;
};
struct SoftmaxLossConfig {
  int64_t batch, classes;
  Device device;
  DType dtype;  // of logits and dlogits
};
std::unique_ptr<SoftmaxLossBackend> make_softmax_loss_cpu(const SoftmaxLossConfig& c);
std::unique_ptr<SoftmaxLossBackend> make_softmax_loss_cuda(const SoftmaxLossConfig& c);
}  // namespace detail

class SoftmaxLoss : public Layer {
 public:
  SoftmaxLoss(std::string name, int64_t batch, int64_t classes, Device device, Precision precision = Precision::fp32);

  Shape logits_shape() const { return {cfg_.batch, cfg_.classes}; }  // (N, K)
  Shape labels_shape() const { return {cfg_.batch}; }                // (N)

  // A label outside [0, K) throws Error naming the sample: here on the CPU, at stats() on a GPU
  // (where the host first waits for the batch's results).
  void forward(const Tensor& logits, const Tensor& labels);
  LossStats stats() const;  // of the last forward (on a GPU: waits for it)
  // (N, K) f32 softmax of the last forward, on the layer's device (queued there on a GPU).
  Tensor probabilities() const;
  // scale multiplies the gradient of the mean loss (1 for plain training).
  void backward(const Tensor& labels, const Tensor& dlogits, float scale = 1.f);

 private:
  detail::SoftmaxLossConfig cfg_;
  bool forwarded_ = false;
  TensorSpec logits_, labels_;  // (N, K) and (N), what forward and backward accept
  std::unique_ptr<detail::SoftmaxLossBackend> impl_;
};

}  // namespace alexnet

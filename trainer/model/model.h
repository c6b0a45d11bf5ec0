// The 2012 AlexNet on one rank: two towers, each with its own layers and flat parameter, gradient
// and momentum buffers, exchanging activations at the inputs of conv3, fc6, fc7, fc8 and at the
// logits (all-gather forward, reduce-scatter backward) through a TowerExchange. Built once for a
// batch size, layout and placement; each step then only executes. Per-layer timing is the step
// timer's (model/step_timer.h), which every layer reports to.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/buffer.h"
#include "layers/conv.h"
#include "layers/softmax_loss.h"
#include "model/exchange.h"
#include "model/model_config.h"
#include "model/params.h"
#include "model/sgd.h"

namespace alexnet {

class StepTimer;
class TowerExchange;

struct ModelOptions {
  ModelConfig config;
  int64_t batch = 128;
  Layout layout = Layout::nhwc;                             // activations; images use image_layout(layout)
  ConvAlgorithm conv_algorithm = ConvAlgorithm::automatic;  // conv2..conv5 (conv1 is direct)
  Device device = Device::cpu();                            // tower 0, and tower 1 unless tower1_device says otherwise
  std::optional<Device> tower1_device;                      // tower 1 on a GPU of its own (the 2012 split)
  // On GPUs: fp32, tf32 (tensor cores in convolutions and matrix products) or bf16 (bf16
  // activations and their gradients; fp32 weights, gradients and update).
  Precision precision = Precision::fp32;
  uint64_t seed = 1;
  uint64_t rng_stream = 0;  // mixed into the dropout seeds: the rank, so ranks draw different masks
  InitRecipe init = InitRecipe::caffe;
  double dropout = 0.5;       // 0: no dropout layers (for equivalence tests)
  bool fuse_relu = true;      // conv1-5, fc6 and fc7 apply their ReLU in forward (one pass less each)
  bool deterministic = true;  // GPUs: no cuDNN engine marked non-deterministic (the same result every run)
};

// The fastest activation layout this placement supports for the model: on a CPU with AVX-512
// NCHW16C when every tower's channel count is a whole number of blocks, else NHWC (on AVX2
// oneDNN runs NHWC with its JIT kernels and NCHW16C with reference code); on GPUs NHWC (channels
// last: what cuDNN's tensor-core engines read).
Layout best_layout(const ModelConfig& m, const Device& d);
// Images are never blocked (3 channels): NCHW for a blocked model, else the model's layout.
Layout image_layout(Layout activations);

class AlexNet {
 public:
  static constexpr int kTowers = 2;

  explicit AlexNet(const ModelOptions& o);
  ~AlexNet();
  AlexNet(const AlexNet&) = delete;
  AlexNet& operator=(const AlexNet&) = delete;

  const ModelOptions& options() const { return opt_; }
  const Device& device(int tower) const { return dev_.at(static_cast<size_t>(tower)); }
  bool on_gpu() const { return dev_[0].is_cuda(); }

  // Where the caller puts a batch: images (N, 3, S, S) in the model's layout, labels (N) int32,
  // always in host memory (pinned when the towers are on GPUs); then upload_batch().
  const Tensor& images() const;
  const Tensor& labels() const;
  // Queues the copy of images() and labels() to the towers' GPUs (nothing on the CPU). The host
  // tensors may be overwritten once the step has ended (synchronize()).
  void upload_batch();
  // The same from any host tensors of those shapes (a loader's pinned batch: no host copy); on
  // the CPU they are copied into images() and labels().
  void upload_batch(const Tensor& images, const Tensor& labels);
  // Waits for everything queued on the towers' GPUs (nothing on the CPU): the end of a step.
  void synchronize();

  void set_training(bool training);  // dropout on (training) or off (evaluation)
  void forward();                    // images -> logits
  const Tensor& logits() const;      // (N, classes) on tower 0's device: tower 0's classes first
  void loss();                       // softmax cross-entropy on logits and labels, and its gradient
  void score();                      // the same without the gradient (evaluation)
  LossStats loss_stats() const;      // of the last loss() or score() (on a GPU: waits for them)
  Tensor probabilities() const;      // (N, classes) f32 softmax of the last loss() or score()
  void l2_loss_grad();               // the gradient of 0.5 * sum(logits^2) (the seed's objective)
  void backward();                   // from the logits' gradient into every tower's gradients
  // Both towers; grad_scale multiplies the gradients (1/ranks turns summed gradients into means).
  void update(double lr, const SgdConfig& sgd, float grad_scale = 1.f);

  // Called during backward as soon as tower t's gradients of a layer ("fc8", ..., "conv1") are
  // complete: where data parallelism starts the all-reduce of a bucket.
  using GradReadyHook = std::function<void(int tower, const std::string& layer)>;
  void set_grad_ready_hook(GradReadyHook hook) { grad_ready_ = std::move(hook); }

  TowerParams& params(int tower);
  const TowerParams& params(int tower) const;
  int64_t param_count() const;  // both towers

  // Per-layer timing of steps (off until enabled): rows conv1, relu1, ..., exchange3, ...,
  // exchange_logits, loss, update.
  StepTimer& timer() { return *timer_; }
  const StepTimer& timer() const { return *timer_; }

  // The dropout RNG positions (for checkpoints): one counter per dropout layer and tower.
  std::vector<uint64_t> rng_state() const;
  void set_rng_state(const std::vector<uint64_t>& s);

  struct Tower;  // layers and activations of one tower (model.cpp)

 private:
  void build_batch();
  std::unique_ptr<Tower> build_tower(int t);
  void gather(const char* row, const TowerPair& halves, const TowerPair& gathered);
  void reduce_scatter(const char* row, const TowerPair& gathered_grads, const TowerPair& half_grads);
  void gather_features();   // exchange6: pool5 in (C, H, W) order, gathered for fc6
  void scatter_features();  // its backward
  void ready(int tower, const char* layer);

  ModelOptions opt_;
  std::array<Device, kTowers> dev_;
  std::unique_ptr<StepTimer> timer_;
  GradReadyHook grad_ready_;

  std::unique_ptr<TowerExchange> exchange_;
  std::array<std::unique_ptr<Tower>, kTowers> towers_;
  std::array<TowerParams, kTowers> params_;
  OwnedTensor images_;  // (N, 3, S, S) where the caller writes (host; pinned for GPUs)
  OwnedTensor labels_;  // (N) likewise
  // (N, 3, S, S) on each tower's GPU ([1] empty when shared); on the CPU in bf16, [0]: the bf16 copy
  std::array<OwnedTensor, kTowers> images_dev_;
  std::array<OwnedTensor, kTowers> images_f32_;  // (N, 3, S, S) fp32 on the GPU before conversion (bf16 only)
  OwnedTensor labels_dev_;                       // (N) on tower 0's GPU
  std::array<Tensor, kTowers> tower_images_;     // what conv1 of each tower reads
  Tensor loss_labels_;                           // what the loss reads
  // Gathered activations; one tensor serves both towers when the exchange is shared.
  std::array<OwnedTensor, kTowers> g3_, g6_, g7_, g8_;  // (N, 2*C2, H, W), (N, 2*F5), (N, 2*F), (N, 2*F)
  OwnedTensor logits_, dlogits_;                        // (N, classes)
  std::unique_ptr<SoftmaxLoss> loss_;
};

}  // namespace alexnet

// Data parallelism across ranks: each rank is one replica (two towers); after backward every
// tower's gradients are summed across ranks, bucket by bucket. Buckets are contiguous slices of the
// flat gradient buffer in its (reverse layer) order, aligned to layers; a bucket's all-reduce starts
// as soon as backward has written all of it, so communication overlaps the rest of backward
// (--overlap off: all buckets after backward, for comparison). Rank 0's weights are broadcast at
// the start.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "model/model.h"
#include "parallel/cluster.h"
#include "parallel/comm.h"

namespace alexnet {

struct DataParallelOptions {
  double bucket_mb = 25;  // target bucket size (a bucket holds whole layers)
  bool overlap = true;
  bool check_finite = true;  // scan each bucket for NaN/Inf before it leaves this rank
  // All-reduce even alone (a communicator of one rank, MPI or NCCL): the path of a job of many
  // ranks, checkable on one machine. Sums of one rank change nothing.
  bool always_communicate = false;
};

struct Bucket {
  int64_t offset = 0, count = 0;    // floats in a tower's flat gradient buffer
  std::vector<std::string> layers;  // in backward order
};

struct CommTimes {
  double allreduce_s = 0;  // time spent inside the all-reduces (they may overlap backward)
  double exposed_s = 0;    // time the step waited for them after backward
  // This rank's own gradients (before the sum): the first layer, in backward order, holding a
  // NaN or Inf, and its tower; "" when all were finite (or not checked).
  std::string nonfinite_layer;
  int nonfinite_tower = -1;
};

class DataParallel {
 public:
  DataParallel(AlexNet& net, const Cluster& cluster, const DataParallelOptions& o);
  ~DataParallel();

  const Cluster& cluster() const { return cluster_; }
  const std::vector<Bucket>& buckets() const { return buckets_; }
  const DataParallelOptions& options() const { return opt_; }
  float grad_scale() const { return 1.f / static_cast<float>(cluster_.size); }

  // Rank 0's weights and momentum to every rank (start-up, resume).
  void broadcast_params();
  // The step about to run backward (names the collectives for the stall detector).
  void begin_step(int64_t step) { step_ = step; }
  // After backward: every bucket summed (waits for what is still running). Returns the times
  // (allreduce_s: MPI's; NCCL's come from gpu_allreduce_seconds()).
  CommTimes finish_backward();
  // Seconds the NCCL all-reduces of the step took on the GPUs (CUDA events); call once the step's
  // GPU work is done (after AlexNet::synchronize()). 0 without NCCL.
  double gpu_allreduce_seconds();

  // While `trace` records, every bucket's all-reduce becomes an event (nullptr: none).
  void set_trace(Trace* trace);
  // The trace tracks of the all-reduces and their names ("all-reduce (MPI)"); none alone.
  std::vector<std::pair<int, std::string>> trace_tracks() const;

  // Testing aid: called on a bucket of this rank's gradients just before it is checked and sent.
  void set_bucket_hook(std::function<void(int tower, const Bucket&, const Tensor&)> hook) {
    bucket_hook_ = std::move(hook);
  }

 private:
  void on_grad_ready(int tower, const std::string& layer);
  void launch(int tower, size_t bucket);           // check, then start the sum of one bucket
  Tensor slice(int tower, const Bucket& b) const;  // bucket b of tower's gradients
  Communicator& comm(int tower);                   // tower's, or the one both towers share
  void flag_nonfinite_on_gpu(int tower, const Bucket& b);
  void read_nonfinite_flags();

  AlexNet& net_;
  Cluster cluster_;
  DataParallelOptions opt_;
  bool communicating_;  // several ranks, or always_communicate: buckets go through comms_
  std::vector<Bucket> buckets_;
  std::unique_ptr<CommWorker> worker_;
  std::array<std::unique_ptr<Communicator>, AlexNet::kTowers> comms_;
  std::vector<std::string> layer_order_;                   // layers in the buffer's (backward) order
  std::array<size_t, AlexNet::kTowers> next_bucket_{};     // first bucket not started
  std::array<size_t, AlexNet::kTowers> started_layers_{};  // layers covered by started buckets
  std::array<size_t, AlexNet::kTowers> layers_done_{};     // layers of the current backward
  int64_t step_ = 0;
  std::string nonfinite_layer_;  // of the current step
  int nonfinite_tower_ = -1;
  std::function<void(int, const Bucket&, const Tensor&)> bucket_hook_;
  std::array<Buffer, AlexNet::kTowers> gpu_flags_;      // (entries) int32 on the tower's GPU: NaN/Inf seen
  std::array<bool, AlexNet::kTowers> flags_cleared_{};  // flags zeroed for the current step
};

// Rank 0's weights and momentum to every rank (collective; through host memory for GPU towers).
void broadcast_params(AlexNet& net, const Cluster& c);

// The first entry (in buffer order) of `layout` with a NaN or Inf in [offset, offset + count) of
// grads; "" if none. Parallel.
std::string first_nonfinite_layer(const ParamLayout& layout, const Tensor& grads, int64_t offset, int64_t count);

// Buckets over a parameter layout (both towers have the same one).
std::vector<Bucket> plan_buckets(const ParamLayout& layout, double bucket_mb);

}  // namespace alexnet

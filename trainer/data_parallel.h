// Data parallelism across ranks: each rank is one replica (two towers); after backward every
// tower's gradients are summed across ranks, bucket by bucket. Buckets are contiguous slices of the
// flat gradient buffer in its (reverse layer) order, aligned to layers; a bucket's all-reduce starts
// as soon as backward has written all of it, so communication overlaps the rest of backward
// (--overlap off: all buckets after backward, for comparison). Rank 0's weights are broadcast at
// the start.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "cluster.h"
#include "comm.h"
#include "model.h"

namespace alexnet {

struct DataParallelOptions {
  double bucket_mb = 25;  // target bucket size (a bucket holds whole layers)
  bool overlap = true;
};

struct Bucket {
  int64_t offset = 0, count = 0;  // floats in a tower's flat gradient buffer
  std::vector<std::string> layers;  // in backward order
};

struct CommTimes {
  double allreduce_s = 0;  // time spent inside the all-reduces (they may overlap backward)
  double exposed_s = 0;    // time the step waited for them after backward
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
  // After backward: every bucket summed (waits for what is still running). Returns the times.
  CommTimes finish_backward();

 private:
  void on_grad_ready(int tower, const std::string& layer);
  Tensor slice(int tower, const Bucket& b) const;  // bucket b of tower's gradients

  AlexNet& net_;
  Cluster cluster_;
  DataParallelOptions opt_;
  std::vector<Bucket> buckets_;
  std::unique_ptr<CommWorker> worker_;
  std::array<std::unique_ptr<Communicator>, AlexNet::kTowers> comms_;
  std::vector<std::string> layer_order_;                  // layers in the buffer's (backward) order
  std::array<size_t, AlexNet::kTowers> next_bucket_{};    // first bucket not started
  std::array<size_t, AlexNet::kTowers> started_layers_{}; // layers covered by started buckets
  std::array<size_t, AlexNet::kTowers> layers_done_{};    // layers of the current backward
};

// Buckets over a parameter layout (both towers have the same one).
std::vector<Bucket> plan_buckets(const ParamLayout& layout, double bucket_mb);

}  // namespace alexnet

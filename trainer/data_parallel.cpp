// Data parallelism across ranks (see data_parallel.h).
#include "data_parallel.h"

#include "log.h"
#include "mpi_check.h"
#include "stats.h"

namespace alexnet {

std::vector<Bucket> plan_buckets(const ParamLayout& layout, double bucket_mb) {
  const auto target = static_cast<int64_t>(bucket_mb * 1e6 / sizeof(float));
  std::vector<Bucket> out;
  const auto& entries = layout.entries();
  for (size_t i = 0; i < entries.size();) {
    Bucket b;
    b.offset = entries[i].offset;
    // Whole layers (weight and bias entries share a layer name) until the bucket is full.
    while (i < entries.size()) {
      const std::string layer = entries[i].layer;
      int64_t layer_count = 0;
      size_t j = i;
      for (; j < entries.size() && entries[j].layer == layer; ++j) layer_count += entries[j].numel();
      if (b.count > 0 && b.count + layer_count > target) break;
      b.count += layer_count;
      b.layers.push_back(layer);
      i = j;
      if (b.count >= target) break;
    }
    out.push_back(std::move(b));
  }
  return out;
}

DataParallel::DataParallel(AlexNet& net, const Cluster& cluster, const DataParallelOptions& o)
    : net_(net), cluster_(cluster), opt_(o) {
  ALEXNET_CHECK(o.bucket_mb > 0, "--bucket-mb must be positive, got " << o.bucket_mb);
  buckets_ = plan_buckets(net.params(0).layout, o.bucket_mb);
  for (const auto& b : buckets_) layer_order_.insert(layer_order_.end(), b.layers.begin(), b.layers.end());
  if (cluster_.alone()) return;  // nothing to communicate
  int provided = 0;
  MPI_CHECK(MPI_Query_thread(&provided));
  if (opt_.overlap && provided < MPI_THREAD_SERIALIZED) {
    LOG_WARN << "the MPI library gives no thread support (level " << provided << "): running with --overlap off";
    opt_.overlap = false;
  }
  if (opt_.overlap) worker_ = std::make_unique<CommWorker>();
  for (auto& c : comms_) c = make_mpi_communicator(cluster_.world, worker_.get());
  if (opt_.overlap) net_.set_grad_ready_hook([this](int t, const std::string& layer) { on_grad_ready(t, layer); });
}

DataParallel::~DataParallel() { net_.set_grad_ready_hook(nullptr); }

void DataParallel::broadcast_params() {
  if (cluster_.alone()) return;
  for (int t = 0; t < AlexNet::kTowers; ++t)
    for (const Tensor& v : {net_.params(t).all_values(), net_.params(t).all_momentum()}) {
      ALEXNET_CHECK(v.device.is_cpu(), "broadcast of GPU parameters is not built yet");
      for (int64_t done = 0; done < v.numel();) {
        const int chunk = static_cast<int>(std::min<int64_t>(v.numel() - done, 1 << 30));
        MPI_CHECK(MPI_Bcast(v.f32() + done, chunk, MPI_FLOAT, 0, cluster_.world));
        done += chunk;
      }
    }
}

Tensor DataParallel::slice(int tower, const Bucket& b) const {
  return net_.params(tower).grads.tensor(Shape{b.count}, Layout::nchw, DType::f32,
                                         static_cast<size_t>(b.offset) * sizeof(float));
}

void DataParallel::on_grad_ready(int tower, const std::string& layer) {
  const auto t = static_cast<size_t>(tower);
  ALEXNET_CHECK(layers_done_[t] < layer_order_.size() && layer_order_[layers_done_[t]] == layer,
                "gradient of " << layer << " ready out of the flat buffer's order");
  ++layers_done_[t];
  // Start every bucket whose layers are all done (they complete in buffer order).
  while (next_bucket_[t] < buckets_.size() &&
         started_layers_[t] + buckets_[next_bucket_[t]].layers.size() <= layers_done_[t]) {
    comms_[t]->start(slice(tower, buckets_[next_bucket_[t]]));
    started_layers_[t] += buckets_[next_bucket_[t]].layers.size();
    ++next_bucket_[t];
  }
}

CommTimes DataParallel::finish_backward() {
  CommTimes times;
  if (cluster_.alone()) return times;
  const double t0 = now_seconds();
  for (int t = 0; t < AlexNet::kTowers; ++t) {
    auto& comm = *comms_[static_cast<size_t>(t)];
    const size_t ts = static_cast<size_t>(t);
    // Without overlap (or if the hook missed a bucket) start what is left now.
    for (; next_bucket_[ts] < buckets_.size(); ++next_bucket_[ts]) comm.start(slice(t, buckets_[next_bucket_[ts]]));
  }
  for (auto& c : comms_) c->wait();
  times.exposed_s = now_seconds() - t0;
  for (auto& c : comms_) times.allreduce_s += c->take_busy_seconds();
  next_bucket_.fill(0);
  started_layers_.fill(0);
  layers_done_.fill(0);
  return times;
}

}  // namespace alexnet

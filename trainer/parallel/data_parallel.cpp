// Data parallelism across ranks (see data_parallel.h).
#include "parallel/data_parallel.h"

#include "core/log.h"

#ifdef ALEXNET_HAVE_CUDA
#include "core/gpu.h"
#include "model/gpu_kernels.h"
#endif
#include "core/clock.h"
#include "parallel/mpi_check.h"
#include "parallel/watchdog.h"

#include <utility>

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
    : net_(net), cluster_(cluster), opt_(o), communicating_(!cluster.alone() || o.always_communicate) {
  ALEXNET_CHECK(o.bucket_mb > 0, "--bucket-mb must be positive, got " << o.bucket_mb);
  ALEXNET_CHECK(!communicating_ || cluster.world != MPI_COMM_NULL,
                "an all-reduce needs an MPI communicator (this Cluster has none)");
  buckets_ = plan_buckets(net.params(0).layout, o.bucket_mb);
  for (const auto& b : buckets_) layer_order_.insert(layer_order_.end(), b.layers.begin(), b.layers.end());
  if (communicating_) {
    int provided = 0;
    MPI_CHECK(MPI_Query_thread(&provided));
    if (opt_.overlap && provided < MPI_THREAD_SERIALIZED) {
      LOG_WARN << "the MPI library gives no thread support (level " << provided << "): running with --overlap off";
      opt_.overlap = false;
    }
    if (net.on_gpu()) {
#ifdef ALEXNET_HAVE_CUDA
      // NCCL is asynchronous by itself (its own stream waits on an event of the compute stream).
      // Towers sharing a GPU share one communicator: two NCCL communicators on one GPU may
      // deadlock when their kernels interleave differently on different ranks.
      for (int t = 0; t < AlexNet::kTowers; ++t) {
        if (t == 1 && net.device(1) == net.device(0)) break;
        comms_[static_cast<size_t>(t)] =
            make_nccl_communicator(cluster_.world, net.device(t).index, gpu::stream(net.device(t)));
      }
#endif
    } else {
      if (opt_.overlap) worker_ = std::make_unique<CommWorker>();
      for (auto& c : comms_) c = make_mpi_communicator(cluster_.world, worker_.get());
    }
  }
  // Buckets are handled as backward produces them when they are sent early or checked (alone, the
  // finite check is all there is to do); otherwise finish_backward() handles them all.
  if ((opt_.overlap && communicating_) || opt_.check_finite)
    net_.set_grad_ready_hook([this](int t, const std::string& layer) { on_grad_ready(t, layer); });
}

DataParallel::~DataParallel() { net_.set_grad_ready_hook(nullptr); }

void broadcast_params(AlexNet& net, const Cluster& c) {
  if (c.alone()) return;
  WatchScope watch("broadcast of rank 0's weights");
  for (int t = 0; t < AlexNet::kTowers; ++t)
    for (const Tensor& stored : {net.params(t).all_values(), net.params(t).all_momentum()}) {
      OwnedTensor staging;  // GPU towers: through host memory (start-up and resume only)
      const Tensor v = host_view(stored, staging);
      for (int64_t done = 0; done < v.numel();) {
        const int chunk = static_cast<int>(std::min<int64_t>(v.numel() - done, 1 << 30));
        MPI_CHECK(MPI_Bcast(v.f32() + done, chunk, MPI_FLOAT, 0, c.world));
        done += chunk;
      }
      if (v.data != stored.data) copy(stored, v);
    }
}

void DataParallel::broadcast_params() { alexnet::broadcast_params(net_, cluster_); }

Tensor DataParallel::slice(int tower, const Bucket& b) const {
  return net_.params(tower).grads.tensor(Shape{b.count}, Layout::nchw, DType::f32,
                                         static_cast<size_t>(b.offset) * sizeof(float));
}

void DataParallel::on_grad_ready(int tower, const std::string& layer) {
  const auto t = static_cast<size_t>(tower);
  ALEXNET_CHECK(layers_done_[t] < layer_order_.size() && layer_order_[layers_done_[t]] == layer,
                "gradient of " << layer << " ready out of the flat buffer's order");
  ++layers_done_[t];
  // Start every bucket whose layers are all done (they complete in buffer order). Without overlap
  // the buckets wait for finish_backward().
  if (!opt_.overlap && communicating_) return;
  while (next_bucket_[t] < buckets_.size() &&
         started_layers_[t] + buckets_[next_bucket_[t]].layers.size() <= layers_done_[t]) {
    launch(tower, next_bucket_[t]);
    started_layers_[t] += buckets_[next_bucket_[t]].layers.size();
    ++next_bucket_[t];
  }
}

void DataParallel::launch(int tower, size_t bucket) {
  const Bucket& b = buckets_[bucket];
  const Tensor s = slice(tower, b);
  if (bucket_hook_) bucket_hook_(tower, b, s);
  if (opt_.check_finite && net_.on_gpu()) {
    flag_nonfinite_on_gpu(tower, b);
  } else if (opt_.check_finite && nonfinite_layer_.empty()) {
    nonfinite_layer_ =
        first_nonfinite_layer(net_.params(tower).layout, net_.params(tower).all_grads(), b.offset, b.count);
    if (!nonfinite_layer_.empty()) nonfinite_tower_ = tower;
  }
  if (communicating_) {
    std::string layers;
    for (size_t i = 0; i < b.layers.size(); ++i) layers += (i ? "," : "") + b.layers[i];
    Collective what;
    what.label = "all-reduce of step " + std::to_string(step_ + 1) + ", bucket " + std::to_string(bucket) + " (" +
                 layers + ") of tower " + std::to_string(tower);
    what.trace_name = "bucket " + std::to_string(bucket) + " (" + layers + ") tower " + std::to_string(tower);
    what.trace_args = {{"bucket", static_cast<double>(bucket)},
                       {"tower", static_cast<double>(tower)},
                       {"bytes", static_cast<double>(b.count * static_cast<int64_t>(sizeof(float)))}};
    comm(tower).start(s, what);
  }
}

void DataParallel::set_trace(Trace* trace) {
  for (size_t t = 0; t < comms_.size(); ++t)
    if (comms_[t])
      comms_[t]->set_trace(trace, comms_[t]->asynchronous() ? kTrackComm + static_cast<int>(t) : kTrackComm);
}

std::vector<std::pair<int, std::string>> DataParallel::trace_tracks() const {
  std::vector<std::pair<int, std::string>> out;
  for (size_t t = 0; t < comms_.size(); ++t) {
    if (!comms_[t]) continue;
    if (!comms_[t]->asynchronous()) return {{kTrackComm, std::string("all-reduce (") + comms_[t]->name() + ")"}};
    const bool shared = !comms_[1];
    out.emplace_back(kTrackComm + static_cast<int>(t),
                     shared ? "all-reduce (NCCL)" : "all-reduce tower " + std::to_string(t) + " (NCCL)");
  }
  return out;
}

std::string first_nonfinite_layer(const ParamLayout& layout, const Tensor& grads, int64_t offset, int64_t count) {
  for (const auto& e : layout.entries()) {
    const int64_t lo = std::max(e.offset, offset), hi = std::min(e.offset + e.numel(), offset + count);
    if (lo >= hi) continue;
    const auto* bits = reinterpret_cast<const uint32_t*>(grads.f32());
    int bad = 0;
#pragma omp parallel for reduction(| : bad) schedule(static)
    for (int64_t i = lo; i < hi; ++i) bad |= (bits[i] & 0x7f800000u) == 0x7f800000u;  // exponent all ones
    if (bad) return e.layer;
  }
  return "";
}

CommTimes DataParallel::finish_backward() {
  CommTimes times;
  const double t0 = now_seconds();
  // Without overlap (or without a hook) handle what is left now.
  for (int t = 0; t < AlexNet::kTowers; ++t) {
    const size_t ts = static_cast<size_t>(t);
    for (; next_bucket_[ts] < buckets_.size(); ++next_bucket_[ts]) launch(t, next_bucket_[ts]);
  }
  if (communicating_) {
    for (auto& c : comms_)
      if (c) c->wait();
    times.exposed_s = now_seconds() - t0;
    for (auto& c : comms_)
      if (c && !c->asynchronous()) times.allreduce_s += c->take_busy_seconds();
  }
  if (opt_.check_finite && net_.on_gpu()) {
    // Waits for the GPUs, hence for NCCL: a dead or stalled rank shows up here.
    WatchScope watch("the GPUs to finish step " + std::to_string(step_ + 1) + "'s backward and all-reduce");
    read_nonfinite_flags();
  }
  times.nonfinite_layer = std::exchange(nonfinite_layer_, "");
  times.nonfinite_tower = std::exchange(nonfinite_tower_, -1);
  next_bucket_.fill(0);
  started_layers_.fill(0);
  layers_done_.fill(0);
  return times;
}

Communicator& DataParallel::comm(int tower) {
  auto& c = comms_[static_cast<size_t>(tower)];
  return c ? *c : *comms_[0];
}

// On GPUs each parameter entry of a bucket is scanned by a kernel that raises its own flag; the
// flags are read once, after backward, so the scan adds no host synchronisation per bucket.
void DataParallel::flag_nonfinite_on_gpu(int tower, const Bucket& b) {
#ifdef ALEXNET_HAVE_CUDA
  const ParamLayout& layout = net_.params(tower).layout;
  const size_t entries = layout.entries().size();
  const Device& d = net_.device(tower);
  auto& flags = gpu_flags_[static_cast<size_t>(tower)];
  const cudaStream_t stream = gpu::stream(d);
  if (flags.bytes() == 0) flags = Buffer(entries * sizeof(int32_t), d);
  if (!flags_cleared_[static_cast<size_t>(tower)]) {
    CUDA_CHECK(cudaMemsetAsync(flags.data(), 0, flags.bytes(), stream));
    flags_cleared_[static_cast<size_t>(tower)] = true;
  }
  const Tensor grads = net_.params(tower).all_grads();
  for (size_t i = 0; i < entries; ++i) {
    const ParamEntry& e = layout.entries()[i];
    const int64_t lo = std::max(e.offset, b.offset), hi = std::min(e.offset + e.numel(), b.offset + b.count);
    if (lo < hi) gpu::find_nonfinite(grads.f32() + lo, hi - lo, static_cast<int32_t*>(flags.data()) + i, stream);
  }
#else
  (void)tower, (void)b;
#endif
}

void DataParallel::read_nonfinite_flags() {
  for (int t = 0; t < AlexNet::kTowers; ++t) {
    auto& flags = gpu_flags_[static_cast<size_t>(t)];
    if (flags.bytes() == 0 || !flags_cleared_[static_cast<size_t>(t)]) continue;
    flags_cleared_[static_cast<size_t>(t)] = false;
    OwnedTensor staging;
    const Tensor host = host_view(
        flags.tensor(Shape{static_cast<int64_t>(flags.bytes() / sizeof(int32_t))}, Layout::nchw, DType::i32), staging);
    const auto& entries = net_.params(t).layout.entries();
    for (size_t i = 0; i < entries.size() && nonfinite_layer_.empty(); ++i)
      if (host.i32()[i]) {
        nonfinite_layer_ = entries[i].layer;
        nonfinite_tower_ = t;
      }
  }
}

double DataParallel::gpu_allreduce_seconds() {
  double total = 0;
  for (auto& c : comms_)
    if (c && c->asynchronous()) total += c->take_busy_seconds();
  return total;
}

}  // namespace alexnet

// Evaluation on a shard set (see eval.h).
#include "run/eval.h"

#include <mpi.h>

#include <cmath>
#include <vector>

#include "core/buffer.h"
#include "io/loader.h"
#include "parallel/mpi_check.h"
#include "parallel/watchdog.h"
#include "run/input.h"

namespace alexnet {

namespace {

// This rank's softmax (and logits, when kept), summed over the views, per slot (step * batch + i)
// of its stream, and the sample in each slot.
struct Scores {
  std::vector<float> prob, logit;
  std::vector<int32_t> label;
  std::vector<int64_t> sample;  // -1: padding
};

// One view (-1: the centre crop; 0..9 one of the ten crops) added into s.
void score_view(AlexNet& net, const std::shared_ptr<const ShardReader>& reader, const Cluster& c, int view,
                const EvalOptions& o, Scores& s) {
  LoaderOptions lo = loader_options(net, c);
  lo.train = false, lo.view = view, lo.threads = o.loader_threads;
  Loader loader(reader, lo);
  const int64_t k = net.options().config.classes, b = net.options().batch;
  const size_t slots = static_cast<size_t>(loader.eval_batches() * b);
  if (s.prob.empty()) {
    s.prob.assign(slots * static_cast<size_t>(k), 0.f);
    if (o.logits) s.logit.assign(s.prob.size(), 0.f);
    s.label.assign(slots, 0);
    s.sample.assign(slots, -1);
  }
  for (int64_t step = 0;; ++step) {
    const Batch& batch = loader.next();
    if (batch.valid == 0 && step >= loader.eval_batches()) break;
    net.upload_batch(batch.images, batch.labels);
    net.forward();
    net.score();
    const std::vector<float> p = host_floats(net.probabilities());
    const std::vector<float> z = o.logits ? host_floats(net.logits()) : std::vector<float>();
    for (int64_t i = 0; i < b; ++i) {
      const size_t slot = static_cast<size_t>(step * b + i);
      s.label[slot] = batch.labels.i32()[i];
      s.sample[slot] = i < batch.valid ? loader.sample_at_step(step, c.rank, i) : -1;
      for (int64_t j = 0; j < k; ++j) {
        const size_t at = slot * static_cast<size_t>(k) + static_cast<size_t>(j), from = static_cast<size_t>(i * k + j);
        s.prob[at] += p[from];
        if (o.logits) s.logit[at] += z[from];
      }
    }
  }
}

void sum_over_ranks(const Cluster& c, std::vector<int64_t>& v) {
  if (c.alone() || v.empty()) return;
  MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, v.data(), static_cast<int>(v.size()), MPI_INT64_T, MPI_SUM, c.world));
}

// Every rank's (sample, logits row, label) on rank 0, placed by sample. Collective.
void gather_logits(const Cluster& c, const Scores& s, int64_t k, float views, int64_t n, EvalResult& r) {
  std::vector<int64_t> ids;
  std::vector<float> rows;
  std::vector<int32_t> labels;
  for (size_t slot = 0; slot < s.sample.size(); ++slot) {
    if (s.sample[slot] < 0) continue;
    ids.push_back(s.sample[slot]);
    labels.push_back(s.label[slot]);
    for (int64_t j = 0; j < k; ++j)
      rows.push_back(s.logit[slot * static_cast<size_t>(k) + static_cast<size_t>(j)] / views);
  }
  if (c.root()) r.logits.assign(static_cast<size_t>(n * k), 0.f), r.labels.assign(static_cast<size_t>(n), 0);
  auto place = [&](const std::vector<int64_t>& from_ids, const std::vector<float>& from_rows,
                   const std::vector<int32_t>& from_labels) {
    for (size_t i = 0; i < from_ids.size(); ++i) {
      const auto at = static_cast<size_t>(from_ids[i]);
      std::copy_n(from_rows.begin() + static_cast<long>(i * static_cast<size_t>(k)), k,
                  r.logits.begin() + static_cast<long>(at * static_cast<size_t>(k)));
      r.labels[at] = from_labels[i];
    }
  };
  if (c.alone()) return place(ids, rows, labels);
  constexpr int kTag = 7708;
  if (!c.root()) {
    const int64_t count = static_cast<int64_t>(ids.size());
    MPI_CHECK(MPI_Send(&count, 1, MPI_INT64_T, 0, kTag, c.world));
    MPI_CHECK(MPI_Send(ids.data(), static_cast<int>(count), MPI_INT64_T, 0, kTag, c.world));
    MPI_CHECK(MPI_Send(labels.data(), static_cast<int>(count), MPI_INT32_T, 0, kTag, c.world));
    MPI_CHECK(MPI_Send(rows.data(), static_cast<int>(rows.size()), MPI_FLOAT, 0, kTag, c.world));
    return;
  }
  place(ids, rows, labels);
  for (int src = 1; src < c.size; ++src) {
    int64_t count = 0;
    MPI_CHECK(MPI_Recv(&count, 1, MPI_INT64_T, src, kTag, c.world, MPI_STATUS_IGNORE));
    std::vector<int64_t> their_ids(static_cast<size_t>(count));
    std::vector<int32_t> their_labels(static_cast<size_t>(count));
    std::vector<float> their_rows(static_cast<size_t>(count * k));
    MPI_CHECK(MPI_Recv(their_ids.data(), static_cast<int>(count), MPI_INT64_T, src, kTag, c.world, MPI_STATUS_IGNORE));
    MPI_CHECK(
        MPI_Recv(their_labels.data(), static_cast<int>(count), MPI_INT32_T, src, kTag, c.world, MPI_STATUS_IGNORE));
    MPI_CHECK(MPI_Recv(their_rows.data(), static_cast<int>(their_rows.size()), MPI_FLOAT, src, kTag, c.world,
                       MPI_STATUS_IGNORE));
    place(their_ids, their_rows, their_labels);
  }
}

}  // namespace

EvalResult evaluate(AlexNet& net, const std::shared_ptr<const ShardReader>& reader, const Cluster& c,
                    const EvalOptions& o) {
  net.set_training(false);
  Scores s;
  const int views = o.ten_crop ? 10 : 1;
  for (int v = 0; v < views; ++v) score_view(net, reader, c, o.ten_crop ? v : -1, o, s);
  const int64_t k = net.options().config.classes, data_classes = reader->index().num_classes;
  EvalResult r;
  r.data_classes = data_classes, r.model_classes = k;
  if (o.per_class) {
    r.class_samples.assign(static_cast<size_t>(data_classes), 0);
    r.class_top1.assign(static_cast<size_t>(data_classes), 0);
    r.confusion.assign(static_cast<size_t>(data_classes * k), 0);
  }
  double counts[4] = {0, 0, 0, 0};  // samples, top-1 hits, top-5 hits, summed cross-entropy
  for (size_t slot = 0; slot < s.label.size(); ++slot) {
    if (s.sample[slot] < 0) continue;
    const float* p = &s.prob[slot * static_cast<size_t>(k)];
    const int32_t label = s.label[slot];
    const float pl = p[label];
    int64_t better = 0, top = 0;  // the prediction: the label when no class scores higher (ties count as hits)
    for (int64_t j = 0; j < k; ++j) {
      better += p[j] > pl;
      if (p[j] > p[top]) top = j;
    }
    if (better == 0) top = label;
    counts[0] += 1, counts[1] += better < 1, counts[2] += better < 5;
    counts[3] -= std::log(std::max(static_cast<double>(pl) / views, 1e-30));
    if (!o.per_class) continue;
    r.class_samples[static_cast<size_t>(label)] += 1;
    r.class_top1[static_cast<size_t>(label)] += better < 1;
    r.confusion[static_cast<size_t>(label * k + top)] += 1;
  }
  if (!c.alone()) {
    WatchScope watch("the sum of the evaluation counts");
    MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, counts, 4, MPI_DOUBLE, MPI_SUM, c.world));
    sum_over_ranks(c, r.class_samples);
    sum_over_ranks(c, r.class_top1);
    sum_over_ranks(c, r.confusion);
  }
  r.samples = static_cast<int64_t>(counts[0]), r.top1 = static_cast<int64_t>(counts[1]);
  r.top5 = static_cast<int64_t>(counts[2]);
  r.loss = counts[0] > 0 ? counts[3] / counts[0] : 0;
  ALEXNET_CHECK(r.samples == reader->index().num_samples,
                "eval counted " << r.samples << " samples of " << reader->index().num_samples << " (an ordering bug)");
  if (o.logits) {
    WatchScope watch("the gather of the logits");
    gather_logits(c, s, k, static_cast<float>(views), r.samples, r);
  }
  return r;
}

}  // namespace alexnet

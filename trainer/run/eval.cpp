// Evaluation on a shard set (see eval.h).
#include "run/eval.h"

#include <mpi.h>

#include <cmath>
#include <cstring>
#include <string>
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
  // One record per sample of this rank: its number, its label, its logits (mean over the views).
  const size_t row = static_cast<size_t>(k) * sizeof(float), record = sizeof(int64_t) + sizeof(int32_t) + row;
  std::string mine;
  std::vector<float> z(static_cast<size_t>(k));
  for (size_t slot = 0; slot < s.sample.size(); ++slot) {
    if (s.sample[slot] < 0) continue;
    for (int64_t j = 0; j < k; ++j)
      z[static_cast<size_t>(j)] = s.logit[slot * static_cast<size_t>(k) + static_cast<size_t>(j)] / views;
    mine.append(reinterpret_cast<const char*>(&s.sample[slot]), sizeof(int64_t));
    mine.append(reinterpret_cast<const char*>(&s.label[slot]), sizeof(int32_t));
    mine.append(reinterpret_cast<const char*>(z.data()), row);
  }
  const std::vector<std::string> parts = gather_strings_to_root(c, mine);
  if (!c.root()) return;
  r.logits.assign(static_cast<size_t>(n * k), 0.f), r.labels.assign(static_cast<size_t>(n), 0);
  for (const std::string& part : parts)
    for (size_t at = 0; at + record <= part.size(); at += record) {
      int64_t sample = 0;
      std::memcpy(&sample, part.data() + at, sizeof sample);
      std::memcpy(&r.labels[static_cast<size_t>(sample)], part.data() + at + sizeof sample, sizeof(int32_t));
      std::memcpy(&r.logits[static_cast<size_t>(sample * k)], part.data() + at + sizeof sample + sizeof(int32_t), row);
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

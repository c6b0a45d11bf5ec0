// Evaluation on a shard set (see eval.h).
#include "run/eval.h"

#include <mpi.h>

#include <vector>

#include "core/buffer.h"
#include "io/loader.h"
#include "parallel/mpi_check.h"
#include "parallel/watchdog.h"
#include "run/input.h"

namespace alexnet {

namespace {

// This rank's softmax, summed over the views, per slot (step * batch + i) of its stream.
struct Scores {
  std::vector<float> prob;
  std::vector<int32_t> label;
  std::vector<char> valid;
};

// One view (-1: the centre crop; 0..9 one of the ten crops) added into s.
void score_view(AlexNet& net, const std::shared_ptr<const ShardReader>& reader, const Cluster& c, int view, int threads,
                Scores& s) {
  LoaderOptions lo = loader_options(net, c);
  lo.train = false, lo.view = view, lo.threads = threads;
  Loader loader(reader, lo);
  const int64_t k = net.options().config.classes, b = net.options().batch;
  if (s.prob.empty()) {
    s.prob.assign(static_cast<size_t>(loader.eval_batches() * b * k), 0.f);
    s.label.assign(static_cast<size_t>(loader.eval_batches() * b), 0);
    s.valid.assign(s.label.size(), 0);
  }
  for (int64_t step = 0;; ++step) {
    const Batch& batch = loader.next();
    if (batch.valid == 0 && step >= loader.eval_batches()) break;
    net.upload_batch(batch.images, batch.labels);
    net.forward();
    net.score();
    const std::vector<float> p = host_floats(net.probabilities());
    for (int64_t i = 0; i < b; ++i) {
      const size_t slot = static_cast<size_t>(step * b + i);
      s.label[slot] = batch.labels.i32()[i];
      s.valid[slot] = i < batch.valid;
      for (int64_t j = 0; j < k; ++j)
        s.prob[slot * static_cast<size_t>(k) + static_cast<size_t>(j)] += p[static_cast<size_t>(i * k + j)];
    }
  }
}

}  // namespace

EvalResult evaluate(AlexNet& net, const std::shared_ptr<const ShardReader>& reader, const Cluster& c,
                    const EvalOptions& o) {
  net.set_training(false);
  Scores s;
  if (o.ten_crop)
    for (int v = 0; v < 10; ++v) score_view(net, reader, c, v, o.loader_threads, s);
  else
    score_view(net, reader, c, -1, o.loader_threads, s);
  const int64_t k = net.options().config.classes;
  double counts[3] = {0, 0, 0};  // samples, top-1 hits, top-5 hits
  for (size_t slot = 0; slot < s.label.size(); ++slot) {
    if (!s.valid[slot]) continue;
    const float* p = &s.prob[slot * static_cast<size_t>(k)];
    const float pl = p[s.label[slot]];
    int64_t better = 0;
    for (int64_t j = 0; j < k; ++j) better += p[j] > pl;
    counts[0] += 1, counts[1] += better < 1, counts[2] += better < 5;
  }
  if (!c.alone()) {
    WatchScope watch("the sum of the evaluation counts");
    MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, counts, 3, MPI_DOUBLE, MPI_SUM, c.world));
  }
  const EvalResult r{static_cast<int64_t>(counts[0]), static_cast<int64_t>(counts[1]), static_cast<int64_t>(counts[2])};
  ALEXNET_CHECK(r.samples == reader->index().num_samples,
                "eval counted " << r.samples << " samples of " << reader->index().num_samples << " (an ordering bug)");
  return r;
}

}  // namespace alexnet

// Evaluation of a model on a shard set (`alexnet eval`): the centre crop, or the paper's ten crops
// (four corners and the centre, and their mirrors) with their softmax averaged; top-1 and top-5
// hits, each sample counted once across all ranks.
#pragma once

#include <cstdint>
#include <memory>

#include "io/shards.h"
#include "model/model.h"
#include "parallel/cluster.h"

namespace alexnet {

struct EvalOptions {
  bool ten_crop = false;
  int loader_threads = 2;
};

struct EvalResult {
  int64_t samples = 0, top1 = 0, top5 = 0;  // over all ranks
};

// The model (in evaluation mode, its weights the same on every rank) over every sample of the
// set. Collective. Throws Error when the ranks did not see every sample exactly once.
EvalResult evaluate(AlexNet& net, const std::shared_ptr<const ShardReader>& reader, const Cluster& c,
                    const EvalOptions& o);

}  // namespace alexnet

// Evaluation of a model on a shard set (`alexnet eval`, and `train --eval-every`): the centre crop,
// or the paper's ten crops (four corners and the centre, and their mirrors) with their softmax
// averaged; the mean cross-entropy, top-1 and top-5 hits, each sample counted once across all ranks;
// on request per-class accuracy, the confusion matrix and every sample's logits.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "io/shards.h"
#include "model/model.h"
#include "parallel/cluster.h"

namespace alexnet {

struct EvalOptions {
  bool ten_crop = false;
  int loader_threads = 2;
  bool per_class = false;  // class_samples, class_top1 and the confusion matrix
  bool logits = false;     // every sample's logits, on rank 0
};

struct EvalResult {
  int64_t samples = 0, top1 = 0, top5 = 0;  // over all ranks
  double loss = 0;  // mean cross-entropy of the predicted distribution (the softmax, or the crops' mean)
  // per_class: of the data set's classes (rows) x the model's (columns: the top-1 prediction).
  int64_t data_classes = 0, model_classes = 0;
  std::vector<int64_t> class_samples, class_top1, confusion;
  // logits, rank 0: samples x model classes, in the shard set's order (ten crops: their mean).
  std::vector<float> logits;
  std::vector<int32_t> labels;
};

// The model (in evaluation mode, its weights the same on every rank) over every sample of the
// set; it is left in evaluation mode. Collective. Throws Error when the ranks did not see every
// sample exactly once.
EvalResult evaluate(AlexNet& net, const std::shared_ptr<const ShardReader>& reader, const Cluster& c,
                    const EvalOptions& o);

}  // namespace alexnet

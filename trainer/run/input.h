// The loader options every command that feeds a model starts from: this rank's slice of each
// global batch, the model's crop size and image layout, the model's seed, and page-locked batches
// when the towers are on GPUs (they go up straight from the loader's memory).
#pragma once

#include "io/loader.h"
#include "model/model.h"
#include "parallel/cluster.h"

namespace alexnet {

inline LoaderOptions loader_options(const AlexNet& net, const Cluster& c) {
  LoaderOptions lo;
  lo.batch = net.options().batch, lo.rank = c.rank, lo.ranks = c.size, lo.seed = net.options().seed;
  lo.augment_seed = net.options().seed;
  lo.crop = net.options().config.input_size, lo.layout = net.images().layout, lo.pinned = net.on_gpu();
  return lo;
}

}  // namespace alexnet

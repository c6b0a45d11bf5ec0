// The training loop behind `alexnet train`: synthetic data (until HDF5 shards land), SGD with the
// learning-rate schedule, progress logs, checkpoints and resume. A library function so that tests
// can run it and compare weights bit for bit.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "checkpoint.h"
#include "model.h"
#include "sgd.h"

namespace alexnet {

struct TrainConfig {
  ModelOptions model;
  int64_t steps = 100;            // total updates (a resumed run continues up to this)
  int64_t synthetic_samples = 12800;
  int64_t data_classes = 0;       // synthetic labels in [0, data_classes); 0: the model's classes
  SgdConfig sgd;
  LrSchedule lr;
  int64_t log_every = 10;
  std::string checkpoint_dir;     // "" : no checkpoints
  int64_t checkpoint_every = 0;   // steps between checkpoints (0: only at the end)
  int keep = 3;
  std::string resume;             // "" | file | folder | "auto" (the newest in checkpoint_dir, if any)
};

struct TrainResult {
  int64_t first_step = 0, last_step = 0;  // trained [first_step, last_step)
  std::vector<double> step_s, loss;       // per step trained here
  double data_s = 0, forward_s = 0, backward_s = 0, update_s = 0;  // totals
  LossStats last_window;                  // summed over the last log window
  std::string last_checkpoint;
};

// Trains `net` (built from cfg.model) in place.
TrainResult train(const TrainConfig& cfg, AlexNet& net);

}  // namespace alexnet

// The training loop behind `alexnet train`: a shard set or synthetic data, SGD with the
// learning-rate schedule (in steps, or in epochs of the data actually used), progress logs,
// checkpoints and resume. A library function so that tests can run it and compare weights bit
// for bit.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "model/model.h"
#include "model/sgd.h"
#include "parallel/cluster.h"
#include "parallel/data_parallel.h"
#include "run/checkpoint.h"
#include "run/phases.h"

namespace alexnet {

struct TrainConfig {
  ModelOptions model;
  int64_t steps = 100;  // total updates (a resumed run continues up to this), unless
  double epochs = 0;    // > 0: as many updates as these epochs of the data take
  std::string data;     // a shard set folder; "" : the synthetic data below
  int loader_threads = 2;
  int prefetch = 3;
  std::string shuffle = "global";  // global | shard
  int64_t shuffle_buffer = 2048;
  int64_t synthetic_samples = 12800;
  int64_t data_classes = 0;  // synthetic labels in [0, data_classes); 0: the model's classes
  SgdConfig sgd;
  LrSchedule lr;                        // its decay_steps are in steps; train() adds lr_step_epochs
  std::vector<int64_t> lr_step_epochs;  // decay also where these epochs of the data begin
  int64_t log_every = 10;
  std::string checkpoint_dir;    // "" : no checkpoints
  int64_t checkpoint_every = 0;  // steps between checkpoints (0: only at the end)
  int keep = 3;
  std::string resume;  // "" | file | folder | "auto" (the newest in checkpoint_dir, if any)
  DataParallelOptions parallel;
  int64_t profile_every = 0;    // time every layer on every K-th step (0: never)
  bool skip_nonfinite = false;  // a NaN/Inf in a loss or gradient: drop the step (else stop)
  bool handle_signals = false;  // SIGTERM/SIGUSR1: checkpoint at the end of the step, return
  double timeout_s = 60;        // stall detector: a collective waiting longer ends the job
  // Augmentation of the training images: off gives the centre crop, no flip and no lighting.
  bool augment = true;
  double lighting_std = 0.1;             // of the PCA lighting's alpha
  std::optional<uint64_t> augment_seed;  // of the crops, flips and lighting; default: the model's seed
  // Evaluation during training on eval_data (a shard set), every eval_every steps and after the
  // last one (0: never).
  int64_t eval_every = 0;
  std::string eval_data;
  // --trace: a timeline of steps trace_steps ("A:B"; "" the default, run/trace.h) written there.
  std::string trace_path, trace_steps;
  std::string options;  // the run's resolved options ("name = value" lines), kept in checkpoints
  // Testing aid: at step inject_step on rank inject_rank put a NaN into the images, or into the
  // weight gradient of inject_layer when one is named. -1: never.
  int64_t inject_step = -1;
  int inject_rank = 0;
  std::string inject_layer;
};

// How long a run is and its learning rates, once the data set's size is known: epochs become
// steps of the global batch (epoch_start_step).
struct RunPlan {
  int64_t steps = 0;           // total updates
  LrSchedule lr;               // with every decay in steps
  int64_t dataset_size = 0;    // samples per epoch
  double steps_per_epoch = 0;  // dataset_size / global batch (not rounded)
};
RunPlan plan_run(const TrainConfig& cfg, int64_t dataset_size, int64_t global_batch);

// A progress line's numbers (rank 0's images/s; the rest over all ranks).
struct LogPoint {
  int64_t step = 0;                                                          // 1-based: the last step of the window
  double epoch = 0, loss = 0, top1 = 0, top5 = 0, lr = 0, images_per_s = 0;  // top-k: fractions
};

// An evaluation during training (after step `step`).
struct EvalPoint {
  int64_t step = 0, samples = 0;
  double loss = 0, top1 = 0, top5 = 0, seconds = 0;  // top-k: fractions
};

struct TrainResult {
  RunPlan plan;
  int64_t first_step = 0, last_step = 0;  // trained [first_step, last_step)
  std::vector<double> lr;                 // the rate of each step trained here
  std::vector<double> step_s, loss;       // per step trained here (loss: mean over all ranks)
  Phases total;                           // this rank's totals
  LossStats last_window;                  // over all ranks, the last log window (loss: mean)
  std::string last_checkpoint;
  // Per-layer times (seconds per step, this rank) over the profiled steps.
  std::vector<std::string> layer_rows;
  std::vector<double> layer_forward_s, layer_backward_s;
  int64_t profiled_steps = 0;
  int64_t skipped_steps = 0;  // dropped for non-finite values (--on-nonfinite skip)
  int stopped_by_signal = 0;  // the signal that ended the run early, or 0
  std::vector<LogPoint> log;
  std::vector<EvalPoint> evals;
};

// Trains `net` (built from cfg.model) in place, as one rank of `cluster` (default: alone). Each rank
// takes its own slice of every global batch; gradients are averaged across ranks.
TrainResult train(const TrainConfig& cfg, AlexNet& net, const Cluster& cluster = Cluster{});

}  // namespace alexnet

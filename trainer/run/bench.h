// The benchmark behind `alexnet bench`: the seed's (TensorFlow's alexnet_benchmark.py) done
// properly. One random batch, uploaded once; per mode (forward, forward-backward with the seed's
// objective l2_loss of the logits, the training step with cross-entropy and SGD) burn-in steps
// then timed ones, each step's phases and every layer's forward and backward time. The gradients
// of a backward are all-reduced across ranks as data-parallel training does.
#pragma once

#include <string>
#include <vector>

#include "model/model.h"
#include "parallel/data_parallel.h"
#include "run/phases.h"
#include "run/stats.h"

namespace alexnet {

struct BenchConfig {
  int steps = 100;  // timed, per mode
  int warmup = 10;  // not counted
  std::vector<std::string> modes = {"forward", "forward-backward", "train"};
  double lr = 0.01;        // of the training step
  std::string label;       // recorded in the JSON (weak, strong, ...)
  int profile_steps = 10;  // GPUs: steps profiled after the timed ones (the timed ones are not)
  // --trace: a timeline of timed steps trace_steps ("A:B"; "" the default) of the training-step
  // mode (the last mode when train is not among them), written there.
  std::string trace_path, trace_steps;
  std::string options;  // the command's resolved options ("name = value" lines), for the JSON
};

struct ModeResult {
  std::string key, title;      // "train", "Training step"
  std::vector<double> step_s;  // the timed steps
  // Profiled: every timed step (CPU), or profile_steps steps after them (GPUs).
  bool profiled_separately = false;
  std::vector<double> profiled_step_s;
  std::vector<Phases> phases;  // per profiled step, this rank
  Summary summary;
  // Per-layer seconds of every timed step (rows x steps), forward and backward.
  std::vector<std::vector<double>> fwd, bwd;
};

// Throws Error naming the option for a bad configuration (steps, warmup, modes).
void check_bench_config(const BenchConfig& c);
// Random images and labels in the model's host batch, from the seed (each rank its own).
void fill_random_batch(AlexNet& net, uint64_t seed);
// Every mode of c on the model's uploaded batch. Collective.
std::vector<ModeResult> run_bench(AlexNet& net, DataParallel& dp, const BenchConfig& c);
// The seed's lines, the summary table and the per-layer table of the training step (rank 0),
// then every mode's phases across ranks. Collective.
void print_bench(const std::vector<ModeResult>& results, const AlexNet& net, const Cluster& c);
// The JSON report (rank 0 writes `path`; the other ranks send their phases). Collective.
void write_bench_json(const std::string& path, const std::vector<ModeResult>& results, const BenchConfig& c,
                      const AlexNet& net, const DataParallel& dp);

}  // namespace alexnet

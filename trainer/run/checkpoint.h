// Checkpoints in HDF5: both towers' weights and momentum, the step, the data position and the
// dropout RNG counters, with the model configuration to check against on resume and a checksum
// per array. Written atomically (temporary file, flush, fsync, rename, fsync of the folder), so a
// crash or a full disk leaves the previous checkpoint intact; the newest `keep` are kept.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "model/model.h"

namespace alexnet {

struct TrainState {
  int64_t step = 0;           // updates done
  int64_t samples_seen = 0;   // global data position (samples consumed by all ranks)
  int64_t dataset_size = 0;   // samples per epoch (0: unknown)
  std::vector<uint64_t> rng;  // dropout counters (AlexNet::rng_state)
  std::string options;        // the run's resolved options (written, not read back)
  double epoch() const { return dataset_size ? static_cast<double>(samples_seen) / dataset_size : 0.0; }
};

// dir/ckpt-<step, 8 digits>.h5
std::string checkpoint_path(const std::string& dir, int64_t step);

// Writes a checkpoint of `net` and `state` into dir (created if missing) and deletes all but the
// newest `keep` checkpoints there. Returns the path written.
std::string save_checkpoint(const std::string& dir, const AlexNet& net, const TrainState& state, int keep);

// Loads path into net (weights and momentum of both towers, RNG counters) and returns the state.
// Throws Error naming the file and what is wrong (missing, not HDF5, another model, corrupt).
TrainState load_checkpoint(const std::string& path, AlexNet& net);

// The checkpoints in dir, oldest first.
std::vector<std::string> list_checkpoints(const std::string& dir);

// Resume: `what` is a checkpoint file, or a folder whose newest loadable checkpoint is used (a
// newest one that fails to load is reported and the previous one tried). Returns the path loaded
// ("" when a folder has none).
std::string resume_from(const std::string& what, AlexNet& net, TrainState* state);

// The model configuration a checkpoint was written for (input size, classes, width, LRN).
ModelConfig checkpoint_model_config(const std::string& path);

// A 64-bit checksum of an array (order-sensitive, parallel).
uint64_t checksum(const float* data, int64_t n);

}  // namespace alexnet

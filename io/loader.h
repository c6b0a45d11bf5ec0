// The input pipeline: background threads read samples from a shard set, decode (JPEG), augment and
// write whole batches into a bounded ring of batch buffers, delivered in order; the training step
// copies a ready batch while the next ones are being prepared.
//
// Order. Training reads an endless stream: position p of the global stream is in epoch p / N. A
// step's global batch is B = batch * ranks consecutive positions; rank r takes its slice. With
// --shuffle global each epoch is a seeded permutation of all N samples, so the sequence of global
// batches does not depend on the number of ranks; with --shuffle shard each epoch shuffles the
// shard order, rank r reads shards r, r + R, ... sequentially (fast on file systems that dislike
// random reads) through a seeded shuffle buffer. Either way every sample is seen once per epoch
// across the ranks, and a run resumed at a stream position continues the same sequence.
// Evaluation reads every sample once in index order; the last batch is padded (valid < batch).
//
// Augmentation (training, the paper's): a random crop x crop window of the 256 x 256 image, a
// horizontal flip with probability 1/2, PCA lighting (add eigvec . (alpha * eigval), alpha ~
// N(0, pca_std), eigenvalues of the covariance of [0,1]-scaled RGB), then mean subtraction (0..255
// scale, no further scaling, as Caffe); augment = false: the centre crop only, for deterministic
// comparisons. Evaluation: the centre crop, or one of the ten crops (4 corners + centre, and their
// mirrors). Random numbers are hashed from (seed, position) (the augmentation's from augment_seed),
// so the result does not depend on the number of threads.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "core/trace.h"
#include "io/shards.h"

namespace alexnet {

enum class Shuffle { global, shard };
Shuffle parse_shuffle(const std::string& s);

struct LoaderOptions {
  int64_t batch = 32;  // per rank
  int rank = 0, ranks = 1;
  uint64_t seed = 1;
  Shuffle shuffle = Shuffle::global;
  int64_t shuffle_buffer = 2048;  // shard mode
  int threads = 2;
  int prefetch = 3;   // batches prepared ahead
  bool train = true;  // false: one ordered pass, no augmentation
  int view = -1;      // evaluation: -1 centre crop, 0..9 the ten crops
  int64_t crop = 227;
  Layout layout = Layout::nchw;  // of the images delivered
  int64_t start = 0;             // training: global stream position of the first batch
  double pca_std = 0.1;
  bool pinned = false;        // batches in page-locked memory (for copies to GPUs)
  bool augment = true;        // training: false gives the centre crop, no flip, no lighting
  uint64_t augment_seed = 1;  // training: of the crops, flips and lighting (the order uses seed)
  Trace* trace = nullptr;     // while it records: each batch an event on its thread's track
};

struct Batch {
  Tensor images;      // (N, 3, crop, crop) f32, in options.layout
  Tensor labels;      // (N) i32
  int64_t valid = 0;  // real samples (evaluation pads the last batch)
  int64_t step = 0;   // index of this batch in the stream
};

struct LoaderStats {
  double read_s = 0, decode_s = 0, augment_s = 0;  // summed over the worker threads
  int64_t samples = 0;
};

class Loader {
 public:
  Loader(std::shared_ptr<const ShardReader> reader, const LoaderOptions& o);
  ~Loader();
  Loader(const Loader&) = delete;
  Loader& operator=(const Loader&) = delete;

  // The next batch (blocks until ready); valid until the following call. Training never ends;
  // evaluation returns a batch with valid == 0 after the last one. Rethrows a worker's error.
  const Batch& next();
  int64_t eval_batches() const;  // evaluation: batches in the pass
  LoaderStats stats() const;

  // The global stream position of sample slot i of rank `rank` in training step `step` and the
  // sample there (exposed for the tests of the ordering).
  int64_t sample_at_step(int64_t step, int rank, int64_t i) const;

 private:
  struct State;
  std::unique_ptr<State> s_;
};

}  // namespace alexnet

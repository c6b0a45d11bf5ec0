// A learnable synthetic image set, generated on the fly from (seed, sample index): each class has
// its own colour and its own 2-D sinusoidal pattern; each sample shifts the pattern and adds
// noise. Values are on the scale of mean-subtracted 0..255 pixels, like the real input pipeline.
// Each epoch visits every sample once in a seeded order (an affine permutation per epoch).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "io/shards.h"

namespace alexnet {

class SyntheticDataset {
 public:
  SyntheticDataset(int64_t samples, int64_t classes, int64_t image_size, uint64_t seed);

  int64_t size() const { return samples_; }
  int64_t classes() const { return classes_; }

  // The sample at global position `pos` of the stream (epoch = pos / size()).
  int64_t sample_at(int64_t pos) const;
  int32_t label(int64_t sample) const;

  // Writes samples at positions [first, first + N) into images (N, 3, S, S) (f32, any layout, CPU)
  // and labels (N) (i32, CPU).
  void fill(const Tensor& images, const Tensor& labels, int64_t first) const;

 private:
  int64_t samples_, classes_, size_;
  uint64_t seed_;
};

// A shard set of synthetic images (`alexnet shards synth`): labels cycle through the classes,
// class names class0000, class0001, ...; mean and PCA computed over the set. Progress on stderr.
struct SynthSetOptions {
  std::string out;
  int64_t samples = 2048, classes = 10, size = 256, per_shard = 512;
  Encoding encoding = Encoding::raw;
  int quality = 90;          // JPEG
  int64_t chunk_images = 1;  // raw: images per HDF5 chunk (0: contiguous)
  uint64_t seed = 1;
  int64_t first_sample = 0;  // image numbers first_sample.. (label = number % classes)
};
ShardIndex write_synthetic_set(const SynthSetOptions& o);

// One synthetic 8-bit RGB image (HWC, size x size) of class `label`: the class's colour and
// pattern, shifted and noised per sample, on the 0..255 scale (for synthetic shard sets).
std::vector<uint8_t> synthetic_image(uint64_t seed, int32_t label, int64_t sample, int64_t size);

}  // namespace alexnet

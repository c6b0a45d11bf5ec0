// Shard sets (see FORMAT.md): the index, writing a shard, and a reader that keeps every shard open
// and serves samples to the loader's threads. HDF5 here is the serial library, not thread-safe:
// every HDF5 call goes through one lock (h5_lock()); decoding and augmentation happen outside it.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "io/h5_util.h"

namespace alexnet {

enum class Encoding { raw, jpeg };
const char* encoding_name(Encoding e);
Encoding parse_encoding(const std::string& s);

constexpr int64_t kShardFormatVersion = 1;

std::mutex& h5_lock();

struct ShardIndex {
  std::string dir;
  Encoding encoding = Encoding::raw;
  int64_t image_size = 256;
  int64_t num_samples = 0;
  int64_t num_classes = 0;
  std::vector<std::string> class_names;
  std::vector<std::string> shards;  // file names in dir
  std::vector<int64_t> counts;      // per shard
  std::array<float, 3> mean{};      // R, G, B on the 0..255 scale
  std::array<float, 3> eigval{};    // RGB covariance eigenvalues, descending
  std::array<float, 9> eigvec{};    // eigvec[3 * channel + k]: component `channel` of eigenvector k

  // Reads and checks dir/index.h5; Error naming the file and what is wrong.
  static ShardIndex load(const std::string& dir);
  void save() const;                     // writes dir/index.h5 (atomically)
  int64_t first_of(size_t shard) const;  // global index of the shard's first sample
};

// Writes one shard. raw: images holds count * S * S * 3 bytes; jpeg: one encoded file per sample.
// chunk_images: images per HDF5 chunk (1, the format's choice); 0 writes the images contiguous.
void write_raw_shard(const std::string& path, int64_t image_size, const std::vector<uint8_t>& images,
                     const std::vector<int32_t>& labels, int64_t chunk_images = 1);
void write_jpeg_shard(const std::string& path, int64_t image_size, const std::vector<std::vector<uint8_t>>& jpegs,
                      const std::vector<int32_t>& labels);

// Every shard of an index opened and checked (labels in range, offsets sane) at construction.
class ShardReader {
 public:
  explicit ShardReader(const ShardIndex& index);
  ~ShardReader();
  const ShardIndex& index() const { return index_; }
  int32_t label(int64_t sample) const { return labels_[static_cast<size_t>(sample)]; }
  // raw: the S*S*3 HWC pixels; jpeg: the encoded bytes. Thread-safe.
  void read(int64_t sample, std::vector<uint8_t>* out) const;

 private:
  struct Shard;
  ShardIndex index_;
  std::vector<std::unique_ptr<Shard>> shards_;
  std::vector<int32_t> labels_;                      // every sample's label
  std::vector<std::pair<uint32_t, int64_t>> where_;  // sample -> (shard, index in shard)
};

}  // namespace alexnet

// Fuzz target: shard sets. Each input describes a set (index.h5 and up to three shards) whose
// attributes, dataset types, shapes, counts, labels, JPEG offsets and bytes are fuzzed, written as
// valid HDF5, then read the way training and evaluation read it: ShardIndex::load, ShardReader (every
// check the loader relies on) and every sample read and, for JPEG sets, decoded.
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz_util.h"
#include "io/image_codec.h"
#include "io/shards.h"

namespace {

using namespace alexnet;
using fuzz::Kind;

void write_set(FuzzedDataProvider& in, const std::string& dir) {
  h5::quiet();
  const bool jpeg = in.ConsumeBool();
  const int64_t size = fuzz::number(in, 1, 8);
  const int64_t classes = fuzz::number(in, 1, 5);
  const int shards = in.ConsumeIntegralInRange<int>(1, 3);
  std::vector<int64_t> counts;
  std::string names, class_names;
  for (int k = 0; k < shards; ++k) {
    counts.push_back(fuzz::number(in, 0, 4));
    names += fuzz::pick(in, {"s0.h5", "s1.h5", "s2.h5", "index.h5", "../x.h5", ""}) + "\n";
  }
  for (int64_t c = 0; c < std::clamp<int64_t>(classes, 0, 8) + in.ConsumeIntegralInRange<int>(-1, 1); ++c)
    class_names += "n" + std::to_string(c) + "\n";
  uint64_t total = 0;  // wraps like the file's int64 would: the reader must catch what does not add up
  for (int64_t c : counts) total += static_cast<uint64_t>(c);
  {
    h5::Handle f = h5::create_file(dir + "/index.h5");
    fuzz::attr(in, f, "format", Kind::str, 0, 0, fuzz::pick(in, {"alexnet-mpi shards"}));
    fuzz::attr(in, f, "format_version", Kind::i64, fuzz::number(in, 1, 1), 1, "1");
    fuzz::attr(in, f, "encoding", Kind::str, 0, 0, jpeg ? fuzz::pick(in, {"jpeg"}) : fuzz::pick(in, {"raw"}));
    fuzz::attr(in, f, "image_size", Kind::i64, size, 0, "");
    fuzz::attr(in, f, "num_samples", Kind::i64,
               in.ConsumeBool() ? static_cast<int64_t>(total) : fuzz::number(in, 0, 12), 0, "");
    fuzz::attr(in, f, "num_classes", Kind::i64, classes, 0, "");
    fuzz::attr(in, f, "class_names", Kind::str, 0, 0, class_names);
    fuzz::attr(in, f, "shards", Kind::str, 0, 0, names);
    std::vector<int64_t> sc(counts);
    if (!in.ConsumeIntegralInRange<int>(0, 7)) sc.resize(in.ConsumeIntegralInRange<size_t>(0, 4));
    const bool i32 = !in.ConsumeIntegralInRange<int>(0, 9);
    std::vector<uint8_t> bytes(reinterpret_cast<uint8_t*>(sc.data()),
                               reinterpret_cast<uint8_t*>(sc.data() + sc.size()));
    fuzz::dataset(f, "shard_counts", i32 ? H5T_NATIVE_INT32 : H5T_NATIVE_INT64, {sc.size()}, bytes, false);
    for (const char* name : {"mean", "pca_eigval", "pca_eigvec"}) {
      std::vector<hsize_t> dims =
          std::string(name) == "pca_eigvec" ? std::vector<hsize_t>{3, 3} : std::vector<hsize_t>{3};
      if (!in.ConsumeIntegralInRange<int>(0, 9)) dims = {in.ConsumeIntegralInRange<hsize_t>(0, 4)};
      fuzz::dataset(f, name, in.ConsumeIntegralInRange<int>(0, 9) ? H5T_NATIVE_FLOAT : H5T_NATIVE_UINT8, dims,
                    in.ConsumeBytes<uint8_t>(in.ConsumeIntegralInRange<size_t>(0, 36)), false);
    }
  }
  for (int k = 0; k < shards; ++k) {
    h5::Handle f = h5::create_file(dir + "/s" + std::to_string(k) + ".h5");
    const int64_t count = in.ConsumeIntegralInRange<int>(0, 7) ? counts[k] : fuzz::number(in, 0, 6);
    fuzz::attr(in, f, "format", Kind::str, 0, 0, fuzz::pick(in, {"alexnet-mpi shard"}));
    fuzz::attr(in, f, "format_version", Kind::i64, fuzz::number(in, 1, 1), 1, "1");
    fuzz::attr(in, f, "encoding", Kind::str, 0, 0, jpeg ? fuzz::pick(in, {"jpeg"}) : fuzz::pick(in, {"raw"}));
    fuzz::attr(in, f, "image_size", Kind::i64, in.ConsumeIntegralInRange<int>(0, 7) ? size : fuzz::number(in, 0, 9), 0,
               "");
    fuzz::attr(in, f, "count", Kind::i64, count, 0, "");
    const hsize_t n = static_cast<hsize_t>(
        std::clamp<int64_t>(std::clamp<int64_t>(count, 0, 64) + in.ConsumeIntegralInRange<int>(-1, 1), 0, 64));
    const int label_type = in.ConsumeIntegralInRange<int>(0, 11);
    fuzz::dataset(f, "labels",
                  label_type == 0   ? H5T_NATIVE_INT64
                  : label_type == 1 ? H5T_NATIVE_FLOAT
                                    : H5T_NATIVE_INT32,
                  {n}, in.ConsumeBytes<uint8_t>(in.ConsumeIntegralInRange<size_t>(0, 4 * n)), in.ConsumeBool());
    const hsize_t s = static_cast<hsize_t>(std::clamp<int64_t>(size, 0, 16));
    if (!jpeg) {
      std::vector<hsize_t> dims{n, s, s, 3};
      if (!in.ConsumeIntegralInRange<int>(0, 7)) dims[in.ConsumeIntegralInRange<int>(0, 3)] += 1;
      fuzz::dataset(f, "images", in.ConsumeIntegralInRange<int>(0, 9) ? H5T_NATIVE_UINT8 : H5T_NATIVE_INT16, dims,
                    in.ConsumeBytes<uint8_t>(in.ConsumeIntegralInRange<size_t>(0, 256)), in.ConsumeBool());
    } else {
      std::vector<uint8_t> blob = in.ConsumeBytes<uint8_t>(in.ConsumeIntegralInRange<size_t>(0, 4096));
      std::vector<int64_t> offsets{0};
      for (hsize_t i = 0; i < n; ++i)
        offsets.push_back(in.ConsumeIntegralInRange<int>(0, 5) ? static_cast<int64_t>(blob.size() * (i + 1) / n)
                                                               : fuzz::number(in, 0, 5000));
      if (!in.ConsumeIntegralInRange<int>(0, 7)) offsets.resize(in.ConsumeIntegralInRange<size_t>(0, 6));
      std::vector<uint8_t> ob(reinterpret_cast<uint8_t*>(offsets.data()),
                              reinterpret_cast<uint8_t*>(offsets.data() + offsets.size()));
      fuzz::dataset(f, "jpeg_offsets", H5T_NATIVE_INT64, {offsets.size()}, ob, false);
      fuzz::dataset(f, "jpeg", H5T_NATIVE_UINT8, {blob.size()}, blob, in.ConsumeBool());
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  const std::string dir = fuzz::scratch("set");
  try {
    write_set(in, dir);
  } catch (const Error&) {
    return 0;  // HDF5 refused to write what was asked: not an input for the reader
  }
  try {
    const ShardIndex ix = ShardIndex::load(dir);
    ShardReader reader(ix);
    std::vector<uint8_t> bytes;
    for (int64_t i = 0; i < ix.num_samples; ++i) {
      if (reader.label(i) < 0 || reader.label(i) >= ix.num_classes) __builtin_trap();
      reader.read(i, &bytes);
      if (ix.encoding == Encoding::raw && bytes.size() != static_cast<size_t>(ix.image_size * ix.image_size * 3))
        __builtin_trap();
      if (ix.encoding == Encoding::jpeg) {
        try {
          decode_image(bytes.data(), bytes.size(), "sample");
        } catch (const Error&) {}
      }
    }
  } catch (const Error&) {}
  return 0;
}

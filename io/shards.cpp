// Shard sets: index, writers and the reader (see shards.h and FORMAT.md).
#include "io/shards.h"

#include <cstdio>
#include <filesystem>
#include <functional>
#include <sstream>

#include <algorithm>

#include "core/error.h"

namespace fs = std::filesystem;

namespace alexnet {

namespace {
constexpr const char* kIndexFormat = "alexnet-mpi shards";
constexpr const char* kShardFormat = "alexnet-mpi shard";
constexpr int64_t kMaxSamples = int64_t{1} << 31, kMaxImage = 4096, kMaxClasses = 1 << 20;

std::vector<std::string> lines(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string l;
  while (std::getline(ss, l))
    if (!l.empty()) out.push_back(l);
  return out;
}

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += x + "\n";
  return s;
}

// Dimensions of a dataset (Error when missing, of another class or rank).
std::vector<hsize_t> dims_of(hid_t parent, const std::string& name, H5T_class_t cls, size_t elem_size, int rank) {
  if (!h5::exists(parent, name)) throw Error("dataset '" + name + "' is missing");
  h5::Handle set(H5_CHECK(H5Dopen2(parent, name.c_str(), H5P_DEFAULT)), H5Dclose);
  h5::Handle type(H5_CHECK(H5Dget_type(set)), H5Tclose);
  h5::Handle space(H5_CHECK(H5Dget_space(set)), H5Sclose);
  const int r = H5_CHECK(H5Sget_simple_extent_ndims(space));
  if (H5Tget_class(type) != cls || H5Tget_size(type) != elem_size || r != rank)
    throw Error("dataset '" + name + "' has the wrong type or rank (expected " + std::to_string(rank) + "-D " +
                (cls == H5T_INTEGER ? "integers" : "floats") + " of " + std::to_string(elem_size) + " bytes)");
  std::vector<hsize_t> d(static_cast<size_t>(r));
  H5_CHECK(H5Sget_simple_extent_dims(space, d.data(), nullptr));
  return d;
}

// The whole dataset (of `expected` entries, its length already checked). Refused when the file does
// not store all of it: a chunked dataset never written claims any length in a few bytes, and
// nothing is allocated for it.
template <class T>
std::vector<T> read_all(hid_t parent, const std::string& name, hid_t mem_type, int64_t expected) {
  h5::Handle set(H5_CHECK(H5Dopen2(parent, name.c_str(), H5P_DEFAULT)), H5Dclose);
  if (expected == 0) return {};
  H5D_space_status_t status = H5D_SPACE_STATUS_ERROR;
  H5_CHECK(H5Dget_space_status(set, &status));
  if (status != H5D_SPACE_STATUS_ALLOCATED)
    throw Error(name + " claims " + std::to_string(expected) + " entries but not all of them are stored");
  std::vector<T> v(static_cast<size_t>(expected));
  H5_CHECK(H5Dread(set, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data()));
  return v;
}

void write_dataset(hid_t f, const std::string& name, hid_t type, const std::vector<hsize_t>& dims, const void* data,
                   const std::vector<hsize_t>& chunk = {}) {
  h5::Handle space(H5_CHECK(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr)), H5Sclose);
  h5::Handle dcpl(H5_CHECK(H5Pcreate(H5P_DATASET_CREATE)), H5Pclose);
  if (!chunk.empty()) H5_CHECK(H5Pset_chunk(dcpl, static_cast<int>(chunk.size()), chunk.data()));
  h5::Handle set(H5_CHECK(H5Dcreate2(f, name.c_str(), type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT)), H5Dclose);
  H5_CHECK(H5Dwrite(set, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data));
}

void write_file_atomically(const std::string& path, const std::function<void(hid_t)>& fill) {
  const std::string tmp = path + ".tmp";
  try {
    h5::Handle f = h5::create_file(tmp);
    fill(f);
    f.close(tmp);
  } catch (const Error& e) {
    std::error_code ec;
    fs::remove(tmp, ec);
    throw Error("writing " + path + " failed: " + e.what());
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) throw Error("cannot rename " + tmp + " to " + path);
}

void shard_header(hid_t f, Encoding e, int64_t image_size, int64_t count) {
  h5::set_attr(f, "format", std::string(kShardFormat));
  h5::set_attr(f, "format_version", kShardFormatVersion);
  h5::set_attr(f, "encoding", std::string(encoding_name(e)));
  h5::set_attr(f, "count", count);
  h5::set_attr(f, "image_size", image_size);
}

}  // namespace

std::mutex& h5_lock() {
  static std::mutex m;
  return m;
}

const char* encoding_name(Encoding e) { return e == Encoding::raw ? "raw" : "jpeg"; }

Encoding parse_encoding(const std::string& s) {
  if (s == "raw") return Encoding::raw;
  if (s == "jpeg") return Encoding::jpeg;
  throw Error("unknown encoding '" + s + "' (expected raw or jpeg)");
}

int64_t ShardIndex::first_of(size_t shard) const {
  int64_t n = 0;
  for (size_t i = 0; i < shard; ++i) n += counts[i];
  return n;
}

ShardIndex ShardIndex::load(const std::string& dir) {
  const std::string path = (fs::path(dir) / "index.h5").string();
  std::lock_guard<std::mutex> lock(h5_lock());
  try {
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) throw Error("not a folder");
    h5::Handle f = h5::open_file(path);
    std::string format;
    try {
      format = h5::attr_str(f, "format");
    } catch (const Error&) {}
    if (format != kIndexFormat) throw Error("not an alexnet-mpi shard index (format '" + format + "')");
    const int64_t version = h5::attr_i64(f, "format_version");
    if (version != kShardFormatVersion)
      throw Error("format version " + std::to_string(version) + ", this build reads " +
                  std::to_string(kShardFormatVersion));
    ShardIndex ix;
    ix.dir = dir;
    ix.encoding = parse_encoding(h5::attr_str(f, "encoding"));
    ix.image_size = h5::attr_i64(f, "image_size");
    ix.num_samples = h5::attr_i64(f, "num_samples");
    ix.num_classes = h5::attr_i64(f, "num_classes");
    if (ix.image_size < 1 || ix.image_size > kMaxImage)
      throw Error("absurd image_size " + std::to_string(ix.image_size));
    if (ix.num_samples < 0 || ix.num_samples > kMaxSamples)
      throw Error("absurd num_samples " + std::to_string(ix.num_samples));
    if (ix.num_classes < 1 || ix.num_classes > kMaxClasses)
      throw Error("absurd num_classes " + std::to_string(ix.num_classes));
    if (ix.num_samples == 0) throw Error("the shard set is empty");
    ix.class_names = lines(h5::attr_str(f, "class_names"));
    ix.shards = lines(h5::attr_str(f, "shards"));
    if (static_cast<int64_t>(ix.class_names.size()) != ix.num_classes)
      throw Error(std::to_string(ix.class_names.size()) + " class names for num_classes " +
                  std::to_string(ix.num_classes));
    if (ix.shards.empty()) throw Error("no shards listed");
    if (ix.shards.size() > 1000000) throw Error("absurd shard count");
    const auto cd = dims_of(f, "shard_counts", H5T_INTEGER, 8, 1);
    if (cd[0] != ix.shards.size())
      throw Error("shard_counts has " + std::to_string(cd[0]) + " entries for " + std::to_string(ix.shards.size()) +
                  " shards");
    ix.counts = read_all<int64_t>(f, "shard_counts", H5T_NATIVE_INT64, static_cast<int64_t>(cd[0]));
    int64_t total = 0;
    for (int64_t c : ix.counts) {
      if (c < 0 || c > kMaxSamples) throw Error("absurd shard count " + std::to_string(c));
      total += c;
    }
    if (total != ix.num_samples)
      throw Error("the shards hold " + std::to_string(total) + " samples, num_samples says " +
                  std::to_string(ix.num_samples));
    struct Stat {
      const char* name;
      int rank;
      float* dst;
    };
    for (const Stat& st : {Stat{"mean", 1, ix.mean.data()}, Stat{"pca_eigval", 1, ix.eigval.data()},
                           Stat{"pca_eigvec", 2, ix.eigvec.data()}}) {
      const auto d = dims_of(f, st.name, H5T_FLOAT, 4, st.rank);
      if (d[0] != 3 || (st.rank == 2 && d[1] != 3))
        throw Error(std::string("dataset '") + st.name + "' has the wrong shape");
      h5::Handle set(H5_CHECK(H5Dopen2(f, st.name, H5P_DEFAULT)), H5Dclose);
      H5_CHECK(H5Dread(set, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, st.dst));
    }
    return ix;
  } catch (const Error& e) {
    throw Error("shard index " + path + ": " + e.what());
  }
}

void ShardIndex::save() const {
  const std::string path = (fs::path(dir) / "index.h5").string();
  std::lock_guard<std::mutex> lock(h5_lock());
  write_file_atomically(path, [&](hid_t f) {
    h5::set_attr(f, "format", std::string(kIndexFormat));
    h5::set_attr(f, "format_version", kShardFormatVersion);
    h5::set_attr(f, "encoding", std::string(encoding_name(encoding)));
    h5::set_attr(f, "image_size", image_size);
    h5::set_attr(f, "num_samples", num_samples);
    h5::set_attr(f, "num_classes", num_classes);
    h5::set_attr(f, "class_names", join(class_names));
    h5::set_attr(f, "shards", join(shards));
    write_dataset(f, "shard_counts", H5T_NATIVE_INT64, {counts.size()}, counts.data());
    write_dataset(f, "mean", H5T_NATIVE_FLOAT, {3}, mean.data());
    write_dataset(f, "pca_eigval", H5T_NATIVE_FLOAT, {3}, eigval.data());
    write_dataset(f, "pca_eigvec", H5T_NATIVE_FLOAT, {3, 3}, eigvec.data());
  });
}

void write_raw_shard(const std::string& path, int64_t image_size, const std::vector<uint8_t>& images,
                     const std::vector<int32_t>& labels, int64_t chunk_images) {
  const auto n = static_cast<hsize_t>(labels.size()), s = static_cast<hsize_t>(image_size);
  ALEXNET_CHECK(images.size() == n * s * s * 3,
                "write_raw_shard: " << images.size() << " bytes for " << n << " images");
  std::lock_guard<std::mutex> lock(h5_lock());
  write_file_atomically(path, [&](hid_t f) {
    shard_header(f, Encoding::raw, image_size, static_cast<int64_t>(n));
    write_dataset(f, "labels", H5T_NATIVE_INT32, {n}, labels.data());
    const auto c = std::min<hsize_t>(n, static_cast<hsize_t>(chunk_images));
    if (n > 0)
      write_dataset(f, "images", H5T_NATIVE_UINT8, {n, s, s, 3}, images.data(),
                    c > 0 ? std::vector<hsize_t>{c, s, s, 3} : std::vector<hsize_t>{});
  });
}

void write_jpeg_shard(const std::string& path, int64_t image_size, const std::vector<std::vector<uint8_t>>& jpegs,
                      const std::vector<int32_t>& labels) {
  ALEXNET_CHECK(jpegs.size() == labels.size(),
                "write_jpeg_shard: " << jpegs.size() << " images, " << labels.size() << " labels");
  std::vector<int64_t> offsets{0};
  std::vector<uint8_t> bytes;
  for (const auto& j : jpegs) {
    bytes.insert(bytes.end(), j.begin(), j.end());
    offsets.push_back(static_cast<int64_t>(bytes.size()));
  }
  std::lock_guard<std::mutex> lock(h5_lock());
  write_file_atomically(path, [&](hid_t f) {
    shard_header(f, Encoding::jpeg, image_size, static_cast<int64_t>(labels.size()));
    write_dataset(f, "labels", H5T_NATIVE_INT32, {labels.size()}, labels.data());
    write_dataset(f, "jpeg_offsets", H5T_NATIVE_INT64, {offsets.size()}, offsets.data());
    write_dataset(f, "jpeg", H5T_NATIVE_UINT8, {bytes.size()}, bytes.data());
  });
}

struct ShardReader::Shard {
  std::string path;
  h5::Handle file, data, space;  // data: images (raw) or jpeg
  std::vector<int64_t> offsets;  // jpeg
};

ShardReader::ShardReader(const ShardIndex& index) : index_(index) {
  // No reserve from index.num_samples: what the index claims is only allocated shard by shard, once
  // each shard file has shown that it holds that many labels.
  std::lock_guard<std::mutex> lock(h5_lock());
  for (size_t k = 0; k < index.shards.size(); ++k) {
    auto sh = std::make_unique<Shard>();
    sh->path = (fs::path(index.dir) / index.shards[k]).string();
    try {
      sh->file = h5::open_file(sh->path);
      std::string format;
      try {
        format = h5::attr_str(sh->file, "format");
      } catch (const Error&) {}
      if (format != kShardFormat) throw Error("not an alexnet-mpi shard (format '" + format + "')");
      if (h5::attr_i64(sh->file, "format_version") != kShardFormatVersion) throw Error("another format version");
      if (parse_encoding(h5::attr_str(sh->file, "encoding")) != index.encoding)
        throw Error("encoding differs from the index's " + std::string(encoding_name(index.encoding)));
      if (h5::attr_i64(sh->file, "image_size") != index.image_size) throw Error("image_size differs from the index's");
      const int64_t count = h5::attr_i64(sh->file, "count");
      if (count != index.counts[k])
        throw Error("count " + std::to_string(count) + " but the index says " + std::to_string(index.counts[k]));
      const auto ld = dims_of(sh->file, "labels", H5T_INTEGER, 4, 1);
      if (static_cast<int64_t>(ld[0]) != count)
        throw Error("labels has " + std::to_string(ld[0]) + " entries for " + std::to_string(count) + " images");
      const auto labels = read_all<int32_t>(sh->file, "labels", H5T_NATIVE_INT32, count);
      for (int64_t i = 0; i < count; ++i)
        if (labels[static_cast<size_t>(i)] < 0 || labels[static_cast<size_t>(i)] >= index.num_classes)
          throw Error("label " + std::to_string(labels[static_cast<size_t>(i)]) + " of sample " + std::to_string(i) +
                      " is outside [0, " + std::to_string(index.num_classes) + ")");
      labels_.insert(labels_.end(), labels.begin(), labels.end());
      for (int64_t i = 0; i < count; ++i) where_.emplace_back(static_cast<uint32_t>(k), i);
      const auto s = static_cast<hsize_t>(index.image_size);
      if (index.encoding == Encoding::raw) {
        const auto d = dims_of(sh->file, "images", H5T_INTEGER, 1, 4);
        if (d[0] != static_cast<hsize_t>(count) || d[1] != s || d[2] != s || d[3] != 3)
          throw Error("images is not [" + std::to_string(count) + ", " + std::to_string(s) + ", " + std::to_string(s) +
                      ", 3]");
        h5::Handle dapl(H5_CHECK(H5Pcreate(H5P_DATASET_ACCESS)), H5Pclose);
        H5_CHECK(H5Pset_chunk_cache(dapl, H5D_CHUNK_CACHE_NSLOTS_DEFAULT, 0,
                                    H5D_CHUNK_CACHE_W0_DEFAULT));  // one chunk per read
        sh->data = h5::Handle(H5_CHECK(H5Dopen2(sh->file, "images", dapl)), H5Dclose);
      } else {
        const auto od = dims_of(sh->file, "jpeg_offsets", H5T_INTEGER, 8, 1);
        if (static_cast<int64_t>(od[0]) != count + 1) throw Error("jpeg_offsets does not have count + 1 entries");
        const auto jd = dims_of(sh->file, "jpeg", H5T_INTEGER, 1, 1);
        sh->offsets = read_all<int64_t>(sh->file, "jpeg_offsets", H5T_NATIVE_INT64, count + 1);
        if (sh->offsets.front() != 0) throw Error("jpeg_offsets does not start at 0");
        for (int64_t i = 0; i < count; ++i)
          if (sh->offsets[static_cast<size_t>(i) + 1] <= sh->offsets[static_cast<size_t>(i)] ||
              sh->offsets[static_cast<size_t>(i) + 1] - sh->offsets[static_cast<size_t>(i)] > (int64_t{64} << 20))
            throw Error("jpeg_offsets of sample " + std::to_string(i) + " are not increasing or absurd");
        if (static_cast<hsize_t>(sh->offsets.back()) != jd[0])
          throw Error("jpeg_offsets end at " + std::to_string(sh->offsets.back()) + ", the data has " +
                      std::to_string(jd[0]) + " bytes");
        sh->data = h5::Handle(H5_CHECK(H5Dopen2(sh->file, "jpeg", H5P_DEFAULT)), H5Dclose);
      }
      sh->space = h5::Handle(H5_CHECK(H5Dget_space(sh->data)), H5Sclose);
    } catch (const Error& e) {
      throw Error("shard " + sh->path + ": " + e.what());
    }
    shards_.push_back(std::move(sh));
  }
}

ShardReader::~ShardReader() {
  std::lock_guard<std::mutex> lock(h5_lock());
  shards_.clear();
}

void ShardReader::read(int64_t sample, std::vector<uint8_t>* out) const {
  ALEXNET_CHECK(sample >= 0 && sample < index_.num_samples, "sample " << sample << " outside the shard set");
  const auto [k, i] = where_[static_cast<size_t>(sample)];
  const Shard& sh = *shards_[k];
  const auto s = static_cast<hsize_t>(index_.image_size);
  std::lock_guard<std::mutex> lock(h5_lock());
  try {
    if (index_.encoding == Encoding::raw) {
      out->resize(s * s * 3);
      const hsize_t start[4] = {static_cast<hsize_t>(i), 0, 0, 0}, count[4] = {1, s, s, 3};
      H5_CHECK(H5Sselect_hyperslab(sh.space, H5S_SELECT_SET, start, nullptr, count, nullptr));
      h5::Handle mem(H5_CHECK(H5Screate_simple(4, count, nullptr)), H5Sclose);
      H5_CHECK(H5Dread(sh.data, H5T_NATIVE_UINT8, mem, sh.space, H5P_DEFAULT, out->data()));
    } else {
      const hsize_t start[1] = {static_cast<hsize_t>(sh.offsets[static_cast<size_t>(i)])};
      const hsize_t count[1] = {static_cast<hsize_t>(sh.offsets[static_cast<size_t>(i) + 1]) - start[0]};
      out->resize(count[0]);
      H5_CHECK(H5Sselect_hyperslab(sh.space, H5S_SELECT_SET, start, nullptr, count, nullptr));
      h5::Handle mem(H5_CHECK(H5Screate_simple(1, count, nullptr)), H5Sclose);
      H5_CHECK(H5Dread(sh.data, H5T_NATIVE_UINT8, mem, sh.space, H5P_DEFAULT, out->data()));
    }
  } catch (const Error& e) {
    throw Error("shard " + sh.path + ", sample " + std::to_string(i) + ": " + e.what());
  }
}

}  // namespace alexnet

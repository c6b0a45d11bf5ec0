// Shared by the fuzz targets: a scratch folder per process, HDF5 objects of any type and shape
// written from fuzzed choices, and the rule every target follows: our own Error (a clear message
// naming the file) is the expected way to refuse bad input; anything else escaping — another
// exception, a crash, undefined behaviour, a leak, an allocation past the stated limits — is a
// finding (libFuzzer stops on it).
#pragma once
#include <fuzzer/FuzzedDataProvider.h>
#include <hdf5.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "core/error.h"
#include "io/h5_util.h"

namespace alexnet::fuzz {

// A folder under $TMPDIR private to this process (removed at exit), emptied on every call.
inline std::string scratch(const std::string& name) {
  struct Root {
    std::string path = (std::filesystem::temp_directory_path() / "alexnet-fuzz-XXXXXX").string();
    Root() {
      if (!::mkdtemp(path.data())) std::abort();
    }
    ~Root() {
      std::error_code ec;
      std::filesystem::remove_all(path, ec);
    }
  };
  static const Root root;
  const std::string dir = root.path + "/" + name;
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  std::filesystem::create_directories(dir);
  return dir;
}

// A fuzzed string: mostly one of the expected values, sometimes anything.
inline std::string pick(FuzzedDataProvider& in, std::initializer_list<const char*> good) {
  if (in.ConsumeIntegralInRange<int>(0, 7) != 0) {
    std::vector<const char*> v(good);
    return v[in.ConsumeIntegralInRange<size_t>(0, v.size() - 1)];
  }
  return in.ConsumeRandomLengthString(40);
}

// A fuzzed integer: mostly in [lo, hi], sometimes an edge value.
inline int64_t number(FuzzedDataProvider& in, int64_t lo, int64_t hi) {
  switch (in.ConsumeIntegralInRange<int>(0, 15)) {
    case 0:
      return -1;
    case 1:
      return 0;
    case 2:
      return INT64_MAX;
    case 3:
      return INT64_MIN;
    case 4:
      return in.ConsumeIntegral<int64_t>();
    default:
      return in.ConsumeIntegralInRange<int64_t>(lo, hi);
  }
}

// Writes an attribute: mostly of the type the reader expects, sometimes another (or none).
enum class Kind { i64, f64, str };
inline void attr(FuzzedDataProvider& in, hid_t obj, const std::string& name, Kind kind, int64_t i, double f,
                 const std::string& s) {
  switch (in.ConsumeIntegralInRange<int>(0, 11)) {
    case 0:
      return;  // missing
    case 1:
      kind = Kind::str;
      break;
    case 2:
      kind = Kind::f64;
      break;
    case 3:
      kind = Kind::i64;
      break;
    default:
      break;
  }
  if (kind == Kind::i64) h5::set_attr(obj, name, i);
  if (kind == Kind::f64) h5::set_attr(obj, name, f);
  if (kind == Kind::str) h5::set_attr(obj, name, s);
}

// A dataset of `type` with the given dims holding `bytes` (repeated or cut to fit), contiguous or
// chunked. Returns false when HDF5 refuses the shape (the fuzzer then writes nothing).
inline bool dataset(hid_t parent, const std::string& name, hid_t type, const std::vector<hsize_t>& dims,
                    const std::vector<uint8_t>& bytes, bool chunked) {
  size_t n = H5Tget_size(type);
  for (hsize_t d : dims) {
    if (d > (1u << 20) || (d && n > (size_t{64} << 20) / d)) return false;  // keep the files small
    n *= d;
  }
  std::vector<uint8_t> data(n);
  for (size_t k = 0; k < n && !bytes.empty(); ++k) data[k] = bytes[k % bytes.size()];
  hid_t space = H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr);
  if (space < 0) return false;
  hid_t plist = H5Pcreate(H5P_DATASET_CREATE);
  bool ok = true;
  if (chunked && !dims.empty()) {
    std::vector<hsize_t> chunk(dims);
    for (auto& c : chunk) c = std::max<hsize_t>(1, std::min<hsize_t>(c, 64));
    ok = H5Pset_chunk(plist, static_cast<int>(chunk.size()), chunk.data()) >= 0;
  }
  hid_t d = ok ? H5Dcreate2(parent, name.c_str(), type, space, H5P_DEFAULT, plist, H5P_DEFAULT) : -1;
  if (d >= 0) {
    if (n) H5Dwrite(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data.data());
    H5Dclose(d);
  }
  H5Pclose(plist);
  H5Sclose(space);
  return d >= 0;
}

}  // namespace alexnet::fuzz

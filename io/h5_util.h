// HDF5 helpers: H5_CHECK (HDF5's own error printing off, its error stack folded into our message),
// RAII handles, and small typed read/write helpers for 1-D datasets and scalar attributes.
#pragma once

#include <hdf5.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/error.h"

namespace alexnet::h5 {

// Turns off HDF5's automatic error printing (once per process).
void quiet();

// The HDF5 error stack of the calling thread as one line ("H5Fopen: unable to open file: ...").
std::string error_stack();

[[noreturn]] void fail(const char* expr, const char* file, int line);

}  // namespace alexnet::h5

#define H5_CHECK(expr)                                                     \
  [&]() {                                                                  \
    auto alexnet_h5_r_ = (expr);                                           \
    if (alexnet_h5_r_ < 0) ::alexnet::h5::fail(#expr, __FILE__, __LINE__); \
    return alexnet_h5_r_;                                                  \
  }()

namespace alexnet::h5 {

// An hid_t closed with the right H5?close when it goes out of scope.
class Handle {
 public:
  using Closer = herr_t (*)(hid_t);
  Handle() = default;
  Handle(hid_t id, Closer close) : id_(id), close_(close) {}
  ~Handle() { reset(); }
  Handle(Handle&& o) noexcept : id_(std::exchange(o.id_, H5I_INVALID_HID)), close_(o.close_) {}
  Handle& operator=(Handle&& o) noexcept {
    if (this != &o) {
      reset();
      id_ = std::exchange(o.id_, H5I_INVALID_HID);
      close_ = o.close_;
    }
    return *this;
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  hid_t get() const { return id_; }
  operator hid_t() const { return id_; }  // NOLINT: handles are passed straight to the C API
  void reset() noexcept {
    if (id_ >= 0 && close_) close_(id_);
    id_ = H5I_INVALID_HID;
  }
  // Closes now and reports failure (a close can be where buffered data is written).
  void close(const std::string& what);

 private:
  hid_t id_ = H5I_INVALID_HID;
  Closer close_ = nullptr;
};

Handle create_file(const std::string& path);  // truncates
Handle open_file(const std::string& path);    // read-only; Error naming the path if not HDF5
Handle create_group(hid_t parent, const std::string& name);
Handle open_group(hid_t parent, const std::string& name);

bool exists(hid_t parent, const std::string& name);

// 1-D datasets of float or uint64 (contiguous).
void write_floats(hid_t parent, const std::string& name, const float* data, int64_t n);
// A 2-D float dataset (rows x cols, row-major) and a 1-D int32 one.
void write_float_matrix(hid_t parent, const std::string& name, const float* data, int64_t rows, int64_t cols);
void write_i32s(hid_t parent, const std::string& name, const std::vector<int32_t>& v);
// Checks that a 1-D float dataset of exactly n elements is there (reads none of them); Error naming
// it otherwise.
void check_floats(hid_t parent, const std::string& name, int64_t n);
// Reads exactly n floats; Error naming the dataset when its type or size differ.
void read_floats(hid_t parent, const std::string& name, float* data, int64_t n);
void write_u64s(hid_t parent, const std::string& name, const std::vector<uint64_t>& v);
std::vector<uint64_t> read_u64s(hid_t parent, const std::string& name, int64_t max_n);

// Scalar attributes on an object.
void set_attr(hid_t obj, const std::string& name, int64_t v);
void set_attr(hid_t obj, const std::string& name, uint64_t v);
void set_attr(hid_t obj, const std::string& name, double v);
void set_attr(hid_t obj, const std::string& name, const std::string& v);
int64_t attr_i64(hid_t obj, const std::string& name);
uint64_t attr_u64(hid_t obj, const std::string& name);
double attr_f64(hid_t obj, const std::string& name);
std::string attr_str(hid_t obj, const std::string& name);

}  // namespace alexnet::h5

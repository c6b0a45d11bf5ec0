// HDF5 helpers (see h5_util.h).
#include "io/h5_util.h"

#include <filesystem>
#include <mutex>
#include <sstream>

namespace alexnet::h5 {

void quiet() {
  static std::once_flag once;
  std::call_once(once, [] { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); });
}

std::string error_stack() {
  std::ostringstream os;
  auto walk = [](unsigned n, const H5E_error2_t* e, void* data) -> herr_t {
    auto& out = *static_cast<std::ostringstream*>(data);
    if (n > 0) out << "; ";
    out << (e->func_name ? e->func_name : "?") << ": " << (e->desc ? e->desc : "");
    return 0;
  };
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, walk, &os);
  H5Eclear2(H5E_DEFAULT);
  return os.str();
}

void fail(const char* expr, const char* file, int line) {
  const std::string stack = error_stack();
  throw_error("HDF5", stack.empty() ? std::string("call failed") : stack, expr, file, line);
}

void Handle::close(const std::string& what) {
  if (id_ < 0) return;
  const herr_t r = close_ ? close_(id_) : 0;
  id_ = H5I_INVALID_HID;
  if (r < 0) throw Error("HDF5 error closing " + what + ": " + error_stack());
}

Handle create_file(const std::string& path) {
  quiet();
  hid_t f = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  if (f < 0) throw Error("cannot create " + path + ": " + error_stack());
  return {f, H5Fclose};
}

Handle open_file(const std::string& path) {
  quiet();
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) throw Error(path + " does not exist or is not a file");
  const htri_t is = H5Fis_hdf5(path.c_str());  // HDF5 1.10: no H5Fis_accessible
  if (is <= 0) {
    H5Eclear2(H5E_DEFAULT);
    throw Error(path + " is unreadable or not an HDF5 file");
  }
  hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  if (f < 0) throw Error("cannot open " + path + ": " + error_stack());
  return {f, H5Fclose};
}

Handle create_group(hid_t parent, const std::string& name) {
  return {H5_CHECK(H5Gcreate2(parent, name.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT)), H5Gclose};
}

Handle open_group(hid_t parent, const std::string& name) {
  if (!exists(parent, name)) throw Error("HDF5 group '" + name + "' is missing");
  return {H5_CHECK(H5Gopen2(parent, name.c_str(), H5P_DEFAULT)), H5Gclose};
}

bool exists(hid_t parent, const std::string& name) {
  const htri_t r = H5Lexists(parent, name.c_str(), H5P_DEFAULT);
  if (r < 0) H5Eclear2(H5E_DEFAULT);
  return r > 0;
}

namespace {

void write_nd(hid_t parent, const std::string& name, hid_t type, const void* data, int rank, const hsize_t* dims) {
  Handle space(H5_CHECK(H5Screate_simple(rank, dims, nullptr)), H5Sclose);
  Handle set(H5_CHECK(H5Dcreate2(parent, name.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT)), H5Dclose);
  H5_CHECK(H5Dwrite(set, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data));
}

void write_1d(hid_t parent, const std::string& name, hid_t type, const void* data, int64_t n) {
  const hsize_t dims[1] = {static_cast<hsize_t>(n)};
  write_nd(parent, name, type, data, 1, dims);
}

// Opens a 1-D dataset and checks its element class and length (n < 0: any length up to -n).
Handle open_1d(hid_t parent, const std::string& name, H5T_class_t cls, int64_t n, int64_t* actual) {
  if (!exists(parent, name)) throw Error("dataset '" + name + "' is missing");
  Handle set(H5_CHECK(H5Dopen2(parent, name.c_str(), H5P_DEFAULT)), H5Dclose);
  Handle type(H5_CHECK(H5Dget_type(set)), H5Tclose);
  Handle space(H5_CHECK(H5Dget_space(set)), H5Sclose);
  const int rank = H5_CHECK(H5Sget_simple_extent_ndims(space));
  hsize_t dims[1] = {0};
  if (rank == 1) H5_CHECK(H5Sget_simple_extent_dims(space, dims, nullptr));
  if (H5Tget_class(type) != cls || rank != 1) throw Error("dataset '" + name + "' has the wrong type or rank");
  *actual = static_cast<int64_t>(dims[0]);
  if ((n >= 0 && *actual != n) || (n < 0 && *actual > -n))
    throw Error("dataset '" + name + "' has " + std::to_string(*actual) + " elements, expected " +
                (n >= 0 ? std::to_string(n) : "at most " + std::to_string(-n)));
  return set;
}

template <class T>
void set_attr_t(hid_t obj, const std::string& name, hid_t type, const T& v) {
  if (H5Aexists(obj, name.c_str()) > 0) H5_CHECK(H5Adelete(obj, name.c_str()));
  Handle space(H5_CHECK(H5Screate(H5S_SCALAR)), H5Sclose);
  Handle a(H5_CHECK(H5Acreate2(obj, name.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT)), H5Aclose);
  H5_CHECK(H5Awrite(a, type, &v));
}

Handle open_attr(hid_t obj, const std::string& name) {
  if (H5Aexists(obj, name.c_str()) <= 0) {
    H5Eclear2(H5E_DEFAULT);
    throw Error("attribute '" + name + "' is missing");
  }
  return {H5_CHECK(H5Aopen(obj, name.c_str(), H5P_DEFAULT)), H5Aclose};
}

template <class T>
T attr_t(hid_t obj, const std::string& name, hid_t type) {
  Handle a = open_attr(obj, name);
  T v{};
  H5_CHECK(H5Aread(a, type, &v));
  return v;
}

}  // namespace

void write_floats(hid_t parent, const std::string& name, const float* data, int64_t n) {
  write_1d(parent, name, H5T_NATIVE_FLOAT, data, n);
}

void write_float_matrix(hid_t parent, const std::string& name, const float* data, int64_t rows, int64_t cols) {
  const hsize_t dims[2] = {static_cast<hsize_t>(rows), static_cast<hsize_t>(cols)};
  write_nd(parent, name, H5T_NATIVE_FLOAT, data, 2, dims);
}

void write_i32s(hid_t parent, const std::string& name, const std::vector<int32_t>& v) {
  write_1d(parent, name, H5T_NATIVE_INT32, v.data(), static_cast<int64_t>(v.size()));
}

void check_floats(hid_t parent, const std::string& name, int64_t n) {
  int64_t actual = 0;
  open_1d(parent, name, H5T_FLOAT, n, &actual);
}

void read_floats(hid_t parent, const std::string& name, float* data, int64_t n) {
  int64_t actual = 0;
  Handle set = open_1d(parent, name, H5T_FLOAT, n, &actual);
  H5_CHECK(H5Dread(set, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, data));
}

void write_u64s(hid_t parent, const std::string& name, const std::vector<uint64_t>& v) {
  write_1d(parent, name, H5T_NATIVE_UINT64, v.data(), static_cast<int64_t>(v.size()));
}

std::vector<uint64_t> read_u64s(hid_t parent, const std::string& name, int64_t max_n) {
  int64_t actual = 0;
  Handle set = open_1d(parent, name, H5T_INTEGER, -max_n, &actual);
  std::vector<uint64_t> v(static_cast<size_t>(actual));
  if (actual > 0) H5_CHECK(H5Dread(set, H5T_NATIVE_UINT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data()));
  return v;
}

void set_attr(hid_t obj, const std::string& name, int64_t v) { set_attr_t(obj, name, H5T_NATIVE_INT64, v); }
void set_attr(hid_t obj, const std::string& name, uint64_t v) { set_attr_t(obj, name, H5T_NATIVE_UINT64, v); }
void set_attr(hid_t obj, const std::string& name, double v) { set_attr_t(obj, name, H5T_NATIVE_DOUBLE, v); }

void set_attr(hid_t obj, const std::string& name, const std::string& v) {
  if (H5Aexists(obj, name.c_str()) > 0) H5_CHECK(H5Adelete(obj, name.c_str()));
  Handle type(H5_CHECK(H5Tcopy(H5T_C_S1)), H5Tclose);
  H5_CHECK(H5Tset_size(type, std::max<size_t>(v.size(), 1)));
  H5_CHECK(H5Tset_strpad(type, H5T_STR_NULLPAD));
  Handle space(H5_CHECK(H5Screate(H5S_SCALAR)), H5Sclose);
  Handle a(H5_CHECK(H5Acreate2(obj, name.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT)), H5Aclose);
  H5_CHECK(H5Awrite(a, type, v.empty() ? "" : v.data()));
}

int64_t attr_i64(hid_t obj, const std::string& name) { return attr_t<int64_t>(obj, name, H5T_NATIVE_INT64); }
uint64_t attr_u64(hid_t obj, const std::string& name) { return attr_t<uint64_t>(obj, name, H5T_NATIVE_UINT64); }
double attr_f64(hid_t obj, const std::string& name) { return attr_t<double>(obj, name, H5T_NATIVE_DOUBLE); }

std::string attr_str(hid_t obj, const std::string& name) {
  Handle a = open_attr(obj, name);
  Handle type(H5_CHECK(H5Aget_type(a)), H5Tclose);
  if (H5Tget_class(type) != H5T_STRING) throw Error("attribute '" + name + "' is not a string");
  if (H5Tis_variable_str(type) > 0) {
    char* s = nullptr;
    Handle mem(H5_CHECK(H5Tcopy(H5T_C_S1)), H5Tclose);
    H5_CHECK(H5Tset_size(mem, H5T_VARIABLE));
    H5_CHECK(H5Tset_cset(mem, H5Tget_cset(type)));  // h5py writes UTF-8; HDF5 will not convert
    H5_CHECK(H5Aread(a, mem, &s));
    std::string out = s ? s : "";
    H5free_memory(s);
    return out;
  }
  const size_t size = H5Tget_size(type);
  std::string out(size, '\0');
  H5_CHECK(H5Aread(a, type, out.data()));
  out.resize(out.find('\0') == std::string::npos ? size : out.find('\0'));
  return out;
}

}  // namespace alexnet::h5

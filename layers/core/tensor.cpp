// Shape and Tensor helpers (see tensor.h).
#include "core/tensor.h"

#include <cstring>
#include <sstream>

#include "core/error.h"

namespace alexnet {

Shape::Shape(std::initializer_list<int64_t> dims) {
  ALEXNET_CHECK(dims.size() <= kMaxRank, "a shape has at most " << kMaxRank << " dims, got " << dims.size());
  for (int64_t d : dims) {
    ALEXNET_CHECK(d >= 0, "negative dimension " << d << " in a shape");
    d_[rank_++] = d;
  }
}

int64_t Shape::numel() const {
  if (rank_ == 0) return 0;
  int64_t n = 1;
  for (int i = 0; i < rank_; ++i) n *= d_[i];
  return n;
}

bool Shape::operator==(const Shape& o) const {
  if (rank_ != o.rank_) return false;
  for (int i = 0; i < rank_; ++i)
    if (d_[i] != o.d_[i]) return false;
  return true;
}

std::string Shape::str() const {
  std::ostringstream os;
  os << "(";
  for (int i = 0; i < rank_; ++i) os << (i ? ", " : "") << d_[i];
  os << ")";
  return os.str();
}

const char* layout_name(Layout l) {
  switch (l) {
    case Layout::nchw:
      return "nchw";
    case Layout::nhwc:
      return "nhwc";
    case Layout::nchw16c:
      return "nchw16c";
  }
  return "?";
}

Layout parse_layout(const std::string& text) {
  if (text == "nchw") return Layout::nchw;
  if (text == "nhwc" || text == "channels-last") return Layout::nhwc;
  if (text == "nchw16c" || text == "blocked") return Layout::nchw16c;
  throw Error("unknown layout '" + text + "' (expected nchw, nhwc or nchw16c)");
}

bool layout_fits(const Shape& s, Layout layout) {
  return s.rank() != 4 || layout != Layout::nchw16c || s.c() % kBlock == 0;
}

std::size_t dtype_size(DType t) {
  switch (t) {
    case DType::f32:
      return sizeof(float);
    case DType::i32:
      return sizeof(int32_t);
    case DType::bf16:
      return sizeof(uint16_t);
  }
  return 0;
}

DType activation_dtype(Precision p) { return p == Precision::bf16 ? DType::bf16 : DType::f32; }

const char* dtype_name(DType t) {
  switch (t) {
    case DType::f32:
      return "f32";
    case DType::i32:
      return "i32";
    case DType::bf16:
      return "bf16";
  }
  return "?";
}

float* Tensor::f32() const {
  ALEXNET_CHECK(dtype == DType::f32, "tensor " << str() << " is not f32");
  return static_cast<float*>(data);
}

int32_t* Tensor::i32() const {
  ALEXNET_CHECK(dtype == DType::i32, "tensor " << str() << " is not i32");
  return static_cast<int32_t*>(data);
}

std::string Tensor::str() const {
  std::ostringstream os;
  os << dtype_name(dtype) << " " << shape.str();
  if (shape.rank() == 4) os << " " << layout_name(layout);
  os << " on " << device.str();
  if (data == nullptr) os << " (empty)";
  return os.str();
}

Tensor Tensor::reshaped(const Shape& s) const {
  ALEXNET_CHECK(s.numel() == numel(), "cannot view " << str() << " as " << s.str());
  Tensor t = *this;
  t.shape = s;
  return t;
}

bool fits(const Tensor& t, const TensorSpec& s) {
  return !t.empty() && t.shape == s.shape && t.dtype == s.dtype && t.device == s.device &&
         (s.shape.rank() != 4 || t.layout == s.layout);
}

void check_tensor(const Tensor& t, const Shape& shape, Layout layout, DType dtype, const Device& device,
                  const std::string& who, const char* what) {
  ALEXNET_CHECK(layout_fits(shape, layout), who << ": " << what << " of shape " << shape.str() << " cannot be stored "
                                                << layout_name(layout) << " (channels must be a multiple of " << kBlock
                                                << ")");
  if (!fits(t, {shape, layout, dtype, device})) {
    Tensor expected{reinterpret_cast<void*>(1), shape, layout, dtype, device};
    throw Error(who + ": " + what + " is " + t.str() + " but the layer was built for " + expected.str());
  }
}

void check_backend(const std::string& who, const Device& device, Layout layout, Precision precision) {
  if (device.is_cpu()) {
    // bf16 needs the instructions; the oneDNN backends check (layers/cpu/dnnl_util.cpp).
    ALEXNET_CHECK(precision != Precision::tf32,
                  who << ": the CPU backend computes in fp32 or bf16, not " << precision_name(precision));
    return;
  }
  ALEXNET_CHECK(cuda_built(), who << ": " << device.str() << " needs the CUDA backend, which this build does not have");
  ALEXNET_CHECK(layout == Layout::nchw || layout == Layout::nhwc,
                who << ": the CUDA backend stores activations nchw or nhwc, not " << layout_name(layout));
}

}  // namespace alexnet

// Shapes and tensors. A Tensor is a non-owning view {pointer, shape, layout, dtype, device}; the
// memory belongs to a Buffer (buffer.h). 4-D activations are (N, C, H, W) logically and stored
// NCHW, NHWC (channels last) or NCHW16C (channels in blocks of 16, innermost: oneDNN's nChw16c,
// the CPU's fastest; C must be a multiple of 16) as `layout` says; 1-D and 2-D tensors are plain
// row-major.
#pragma once

#include <array>
#include <bit>
#include <cstdint>
#include <initializer_list>
#include <string>

#include "core/device.h"
#include "core/precision.h"

namespace alexnet {

class Shape {
 public:
  static constexpr int kMaxRank = 4;
  Shape() = default;
  Shape(std::initializer_list<int64_t> dims);

  int rank() const { return rank_; }
  int64_t operator[](int i) const { return d_[i]; }
  int64_t& operator[](int i) { return d_[i]; }
  int64_t numel() const;
  bool operator==(const Shape& o) const;
  std::string str() const;  // "(32, 96, 55, 55)"

  // Named dims of a 4-D (N, C, H, W) or 2-D (N, F) shape.
  int64_t n() const { return d_[0]; }
  int64_t c() const { return d_[1]; }
  int64_t h() const { return d_[2]; }
  int64_t w() const { return d_[3]; }

 private:
  std::array<int64_t, kMaxRank> d_{};
  int rank_ = 0;
};

enum class Layout { nchw, nhwc, nchw16c };
constexpr int64_t kBlock = 16;        // channels per block of Layout::nchw16c
enum class DType { f32, i32, bf16 };  // bf16: bfloat16 activations (Precision::bf16)

const char* layout_name(Layout l);
Layout parse_layout(const std::string& text);
std::size_t dtype_size(DType t);
const char* dtype_name(DType t);
// The dtype of activations and their gradients in a precision: bf16 for bf16, else f32.
DType activation_dtype(Precision p);
// bfloat16 bits <-> float on the host (round to nearest even; NaN stays NaN). Inline: the CPU's
// conversion loops vectorise them.
inline uint16_t bf16_bits(float v) {
  uint32_t u = std::bit_cast<uint32_t>(v);
  if ((u & 0x7f800000u) == 0x7f800000u && (u & 0x007fffffu)) return static_cast<uint16_t>((u >> 16) | 0x40);  // NaN
  u += 0x7fffu + ((u >> 16) & 1u);  // round to nearest even
  return static_cast<uint16_t>(u >> 16);
}
inline float bf16_value(uint16_t bits) { return std::bit_cast<float>(static_cast<uint32_t>(bits) << 16); }

struct Tensor {
  void* data = nullptr;
  Shape shape;
  Layout layout = Layout::nchw;  // meaningful for 4-D tensors only
  DType dtype = DType::f32;
  Device device;

  bool empty() const { return data == nullptr; }
  int64_t numel() const { return shape.numel(); }
  std::size_t bytes() const { return static_cast<std::size_t>(numel()) * dtype_size(dtype); }
  float* f32() const;       // checks dtype
  int32_t* i32() const;     // checks dtype
  std::string str() const;  // "f32 (32, 96, 55, 55) nhwc on cpu"

  // The same memory seen with another shape of the same element count (a flatten, say).
  Tensor reshaped(const Shape& s) const;
};

// What a tensor must be: its shape, layout (4-D tensors only), dtype and device.
struct TensorSpec {
  Shape shape;
  Layout layout = Layout::nchw;
  DType dtype = DType::f32;
  Device device;
};
// Whether t is non-empty and matches s (cheap: no allocation).
bool fits(const Tensor& t, const TensorSpec& s);

// Throws Error unless t is non-empty and matches shape, dtype and device (and, for 4-D, layout):
// "<who>: <what> is <t> but the layer was built for <expected>".
void check_tensor(const Tensor& t, const Shape& shape, Layout layout, DType dtype, const Device& device,
                  const std::string& who, const char* what);

// Throws Error naming `who` unless the backend of `device` runs layers in `layout` and
// `precision`: the CPU computes fp32 or bf16 (where the ISA has it: the oneDNN backends check) in
// any layout; CUDA (in a CUDA build) fp32, tf32 or bf16 in NCHW or NHWC.
void check_backend(const std::string& who, const Device& device, Layout layout, Precision precision = Precision::fp32);

// Whether a 4-D shape can be stored in `layout` (NCHW16C needs whole blocks of channels).
bool layout_fits(const Shape& s, Layout layout);

// Offset of element (n, c, h, w) of a 4-D shape stored in `layout`.
inline int64_t offset4(const Shape& s, Layout layout, int64_t n, int64_t c, int64_t h, int64_t w) {
  switch (layout) {
    case Layout::nchw:
      return ((n * s.c() + c) * s.h() + h) * s.w() + w;
    case Layout::nhwc:
      return ((n * s.h() + h) * s.w() + w) * s.c() + c;
    case Layout::nchw16c:
      break;
  }
  return (((n * (s.c() / kBlock) + c / kBlock) * s.h() + h) * s.w() + w) * kBlock + c % kBlock;
}

}  // namespace alexnet

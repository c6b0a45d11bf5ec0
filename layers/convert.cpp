// Tensor conversions (see convert.h): checks, the CPU loops, and the GPU's kernels.
#include "layers/convert.h"

#include "core/buffer.h"
#include "core/error.h"

namespace alexnet {

void convert_async(const Tensor& dst, const Tensor& src) {
  ALEXNET_CHECK(dst.numel() == src.numel() && dst.device == src.device,
                "convert: " << src.str() << " does not fit " << dst.str());
  if (dst.dtype == src.dtype) return copy_async(dst, src);
  auto floating = [](DType d) { return d == DType::f32 || d == DType::bf16; };
  ALEXNET_CHECK(floating(dst.dtype) && floating(src.dtype), "convert: " << src.str() << " to " << dst.str());
  if (!src.device.is_cpu()) return detail::convert_dtype_cuda(dst, src);
  const int64_t n = src.numel();
  if (src.dtype == DType::f32) {
    auto* d = static_cast<uint16_t*>(dst.data);
    const float* s = src.f32();
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; ++i) d[i] = bf16_bits(s[i]);
  } else {
    const auto* s = static_cast<const uint16_t*>(src.data);
    float* d = dst.f32();
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; ++i) d[i] = bf16_value(s[i]);
  }
}

namespace {

// The CPU's layout change, for elements of type T (f32, or bf16 as its bits).
template <class T>
void relayout(const Tensor& dst, const Tensor& src) {
  const Shape& s = src.shape;
  const T* in = static_cast<const T*>(src.data);
  T* out = static_cast<T*>(dst.data);
#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t n = 0; n < s.n(); ++n)
    for (int64_t c = 0; c < s.c(); ++c)
      for (int64_t h = 0; h < s.h(); ++h)
        for (int64_t w = 0; w < s.w(); ++w)
          out[offset4(s, dst.layout, n, c, h, w)] = in[offset4(s, src.layout, n, c, h, w)];
}

}  // namespace

void convert_layout(const Tensor& dst, const Tensor& src) {
  const Shape& s = src.shape;
  ALEXNET_CHECK(s.rank() == 4 && dst.shape == s && dst.dtype == src.dtype && dst.device == src.device,
                "convert_layout: " << src.str() << " to " << dst.str());
  if (dst.layout == src.layout) return copy_async(dst, src);
  if (!src.device.is_cpu()) return detail::convert_layout_cuda(dst, src);
  switch (src.dtype) {
    case DType::f32:
      return relayout<float>(dst, src);
    case DType::bf16:
      return relayout<uint16_t>(dst, src);
    default:
      throw Error(std::string("convert_layout on the CPU: ") + src.str() + " is not f32 or bf16");
  }
}

}  // namespace alexnet

// Tensor conversions on a GPU (see layers/convert.h): our kernels on the GPU's stream.
#include "core/gpu.h"
#include "cuda/kernels.h"
#include "layers/convert.h"

namespace alexnet::detail {

void convert_dtype_cuda(const Tensor& dst, const Tensor& src) {
  gpu::convert(src.data, gpu::elem_of(src.dtype), dst.data, gpu::elem_of(dst.dtype), src.numel(),
               gpu::stream(src.device));
}

void convert_layout_cuda(const Tensor& dst, const Tensor& src) {
  auto plain = [](Layout l) { return l == Layout::nchw || l == Layout::nhwc; };
  ALEXNET_CHECK(plain(dst.layout) && plain(src.layout),
                "convert_layout on a GPU: " << src.str() << " to " << dst.str());
  const Shape& s = src.shape;
  gpu::transpose_channels(src.data, dst.data, gpu::elem_of(src.dtype), s.n(), s.c(), s.h() * s.w(),
                          src.layout == Layout::nhwc, gpu::stream(src.device));
}

}  // namespace alexnet::detail

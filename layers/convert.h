// Conversions of whole tensors on one device: between f32 and bf16, and between 4-D layouts. On
// the CPU plain loops; on a GPU our kernels, queued on its stream (layers/cuda/convert_cuda.cpp).
#pragma once

#include "core/tensor.h"

namespace alexnet {

// dst = src converted between f32 and bf16 (or copied when the dtypes agree), both on one device:
// queued on a GPU's stream like copy_async(), immediate on the CPU.
void convert_async(const Tensor& dst, const Tensor& src);

// dst = src for two 4-D tensors of one shape, dtype and device in different layouts (any layout
// on the CPU; NCHW and NHWC on a GPU, queued on its stream).
void convert_layout(const Tensor& dst, const Tensor& src);

namespace detail {
// The GPU halves of the two (CUDA builds; layers/cuda/none.cpp throws otherwise).
void convert_dtype_cuda(const Tensor& dst, const Tensor& src);
void convert_layout_cuda(const Tensor& dst, const Tensor& src);
}  // namespace detail

}  // namespace alexnet

// What every CUDA kernel file of ours shares (.cu files only): the launch configuration, a
// grid-stride loop over int64 counts, the one launch macro (every launch is checked), dispatch on
// the activation type (float or bf16; arithmetic in float) and typed views of void pointers.
#pragma once

#include <cuda_bf16.h>

#include <cstdint>

#include "core/cuda_check.h"

namespace alexnet::gpu {

constexpr int kThreads = 256;
using bf16 = __nv_bfloat16;

inline unsigned blocks_for(int64_t count) {
  const int64_t b = (count + kThreads - 1) / kThreads;
  return static_cast<unsigned>(b < 1 ? 1 : (b > 65535 * 8 ? 65535 * 8 : b));
}

// Element loads and stores in float arithmetic, whatever the activation type.
__device__ inline float to_float(float v) { return v; }
__device__ inline float to_float(bf16 v) { return __bfloat162float(v); }
template <typename T>
__device__ inline T from_float(float v);
template <>
__device__ inline float from_float<float>(float v) {
  return v;
}
template <>
__device__ inline bf16 from_float<bf16>(float v) {
  return __float2bfloat16_rn(v);
}

// Runs `body` with T = the C++ type of e (float or bf16).
template <typename F>
void dispatch(Elem e, F&& body) {
  if (e == Elem::bf16)
    body(bf16{});
  else
    body(float{});
}

template <typename T>
T* as(void* p, T) {
  return static_cast<T*>(p);
}
template <typename T>
const T* as(const void* p, T) {
  return static_cast<const T*>(p);
}

}  // namespace alexnet::gpu

#define GRID_STRIDE(i, count)                                                                \
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < (count); \
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)

// kernel<<<...>>> over `count` elements on stream s, then the launch checked.
#define LAUNCH(kernel, count, s, ...)                                                           \
  do {                                                                                          \
    kernel<<<::alexnet::gpu::blocks_for(count), ::alexnet::gpu::kThreads, 0, s>>>(__VA_ARGS__); \
    CUDA_CHECK_LAUNCH();                                                                        \
  } while (0)

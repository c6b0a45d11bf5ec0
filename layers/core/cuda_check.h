// CUDA_CHECK and the element type of our kernels on activations: what CUDA sources may include
// (nvcc compiles .cu files as C++17; the rest of the core is C++20). CUDA builds only.
#pragma once

#include <cuda_runtime_api.h>

#include "core/error.h"

#define CUDA_CHECK(expr)                                                                           \
  do {                                                                                             \
    cudaError_t alexnet_err_ = (expr);                                                             \
    if (alexnet_err_ != cudaSuccess)                                                               \
      ::alexnet::throw_error("CUDA", cudaGetErrorString(alexnet_err_), #expr, __FILE__, __LINE__); \
  } while (0)

// After a kernel launch: launch-configuration errors show up here, not at the <<<>>>.
#define CUDA_CHECK_LAUNCH() CUDA_CHECK(cudaGetLastError())

namespace alexnet::gpu {

// Element type of the kernels on activations: fp32 or bf16.
enum class Elem { f32, bf16 };

}  // namespace alexnet::gpu

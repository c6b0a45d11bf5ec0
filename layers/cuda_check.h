// CUDA_CHECK, CUDNN_CHECK and CUBLAS_CHECK: throw alexnet::Error with the expression, file:line
// and the library's message. Included only by CUDA backend sources.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#include <cudnn.h>

#include "error.h"

#define CUDA_CHECK(expr)                                                                  \
  do {                                                                                    \
    cudaError_t alexnet_err_ = (expr);                                                    \
    if (alexnet_err_ != cudaSuccess)                                                      \
      ::alexnet::throw_error("CUDA", cudaGetErrorString(alexnet_err_), #expr, __FILE__,   \
                             __LINE__);                                                   \
  } while (0)

// After a kernel launch: launch-configuration errors show up here, not at the <<<>>>.
#define CUDA_CHECK_LAUNCH() CUDA_CHECK(cudaGetLastError())

#define CUDNN_CHECK(expr)                                                                  \
  do {                                                                                     \
    cudnnStatus_t alexnet_st_ = (expr);                                                    \
    if (alexnet_st_ != CUDNN_STATUS_SUCCESS)                                               \
      ::alexnet::throw_error("cuDNN", cudnnGetErrorString(alexnet_st_), #expr, __FILE__,   \
                             __LINE__);                                                    \
  } while (0)

#define CUBLAS_CHECK(expr)                                                                 \
  do {                                                                                     \
    cublasStatus_t alexnet_st_ = (expr);                                                   \
    if (alexnet_st_ != CUBLAS_STATUS_SUCCESS)                                              \
      ::alexnet::throw_error("cuBLAS", cublasGetStatusString(alexnet_st_), #expr,          \
                             __FILE__, __LINE__);                                          \
  } while (0)

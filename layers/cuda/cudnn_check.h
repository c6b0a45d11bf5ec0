// CUDNN_CHECK and CUBLAS_CHECK (CUDA_CHECK is core/cuda_check.h's): throw alexnet::Error with the
// expression, file:line and the library's message. Included only by CUDA backend sources.
#pragma once

#include <cublas_v2.h>
#include <cudnn.h>

#include "core/cuda_check.h"
#include "core/error.h"

#define CUDNN_CHECK(expr)                                                                           \
  do {                                                                                              \
    cudnnStatus_t alexnet_st_ = (expr);                                                             \
    if (alexnet_st_ != CUDNN_STATUS_SUCCESS)                                                        \
      ::alexnet::throw_error("cuDNN", cudnnGetErrorString(alexnet_st_), #expr, __FILE__, __LINE__); \
  } while (0)

#define CUBLAS_CHECK(expr)                                                                             \
  do {                                                                                                 \
    cublasStatus_t alexnet_st_ = (expr);                                                               \
    if (alexnet_st_ != CUBLAS_STATUS_SUCCESS)                                                          \
      ::alexnet::throw_error("cuBLAS", cublasGetStatusString(alexnet_st_), #expr, __FILE__, __LINE__); \
  } while (0)

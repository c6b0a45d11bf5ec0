// The execution context of the CUDA layer backends on one GPU: the cuDNN and cuBLASLt handles
// bound to the GPU's stream (core/gpu.h: every layer of that GPU runs on it, in order,
// asynchronously to the host), and one scratch workspace the layers share (they never run
// concurrently on one stream). Created on first use, kept until the process ends. Included only
// by CUDA backend sources.
#pragma once

#include <cublasLt.h>
#include <cuda_runtime_api.h>
#include <cudnn.h>

#include <cstddef>

#include "core/device.h"
#include "core/error.h"
#include "core/gpu.h"
#include "core/tensor.h"
#include "cuda/kernels.h"

namespace alexnet::gpu {

class Context {
 public:
  explicit Context(int device);
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  int device() const { return device_; }
  // Makes this GPU current on the calling thread (cheap; every backend call starts with it).
  void activate() const;
  cudaStream_t stream() const { return stream_; }  // the GPU's stream (core/gpu.h)
  cudnnHandle_t cudnn() const { return cudnn_; }
  cublasLtHandle_t lt() const { return lt_; }

  // Layers reserve() the scratch they need when they are built (this may reallocate it, after
  // synchronising the GPU) and read workspace() each time they run.
  void reserve(std::size_t bytes);
  void* workspace() const { return ws_; }
  std::size_t workspace_bytes() const { return ws_bytes_; }

 private:
  int device_;
  cudaStream_t stream_ = nullptr;
  cudnnHandle_t cudnn_ = nullptr;
  cublasLtHandle_t lt_ = nullptr;
  void* ws_ = nullptr;
  std::size_t ws_bytes_ = 0;
};

// The context of a CUDA device (made current). Throws Error for the CPU or a GPU that is absent.
Context& context(const Device& d);

// The most scratch one cuDNN engine or cuBLASLt algorithm may use: 256 MiB, or
// ALEXNET_GPU_WORKSPACE_MB.
std::size_t workspace_limit();

// How many runtime-compiled cuDNN engines (seconds each to build) one problem may try when no
// precompiled engine serves it: 1, or ALEXNET_CUDNN_RUNTIME_COMPILED (the tests set 0).
std::size_t runtime_compiled_limit();

}  // namespace alexnet::gpu

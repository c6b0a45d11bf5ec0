// The execution context of the CUDA backends on one GPU: one stream on which every layer of that
// GPU runs in order (asynchronously to the host), the cuDNN and cuBLASLt handles bound to it, and
// one scratch workspace the layers share (they never run concurrently on one stream). Created on
// first use, kept until the process ends. Included only by CUDA backend sources.
#pragma once

#include <cublasLt.h>
#include <cuda_runtime_api.h>
#include <cudnn.h>

#include <cstddef>

#include "device.h"
#include "error.h"
#include "kernels.h"
#include "tensor.h"

namespace alexnet::gpu {

class Context {
 public:
  explicit Context(int device);
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  int device() const { return device_; }
  // Makes this GPU current on the calling thread (cheap; every backend call starts with it).
  void activate() const;
  // A blocking stream: ordered with its GPU's legacy default stream (where Buffer's zero fill
  // runs). copy() and copy_async() queue on it, so they come after the layers' work.
  cudaStream_t stream() const { return stream_; }
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

// The kernels' element type of an activation dtype (f32 or bf16).
inline Elem elem_of(DType d) {
  ALEXNET_CHECK(d == DType::f32 || d == DType::bf16, "no GPU kernels for " << dtype_name(d) << " activations");
  return d == DType::bf16 ? Elem::bf16 : Elem::f32;
}

// A CUDA event on the current device, owned (the backends time their candidates with pairs).
class Event {
 public:
  Event();
  ~Event();
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;
  cudaEvent_t get() const { return e_; }

 private:
  cudaEvent_t e_ = nullptr;
};

// The context of a CUDA device (made current). Throws Error for the CPU or a GPU that is absent.
Context& context(const Device& d);

// The most scratch one cuDNN engine or cuBLASLt algorithm may use: 256 MiB, or
// ALEXNET_GPU_WORKSPACE_MB.
std::size_t workspace_limit();

}  // namespace alexnet::gpu

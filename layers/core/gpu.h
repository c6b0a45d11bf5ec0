// The CUDA runtime as the whole project uses it (CUDA builds only; include it under
// #ifdef ALEXNET_HAVE_CUDA): one blocking stream per GPU on which everything of that GPU runs in
// order (layers, copies, exchanges, the update; NCCL waits on it), owned events, and the kernels'
// element type of a dtype. CUDA_CHECK: core/cuda_check.h. cuDNN and cuBLASLt handles live with the layers
// (cuda/context.h).
#pragma once

#include <cuda_runtime_api.h>

#include "core/cuda_check.h"
#include "core/device.h"
#include "core/error.h"
#include "core/tensor.h"

namespace alexnet::gpu {

// GPU d's stream (created on first use, kept until the process ends), with d made current on the
// calling thread. Blocking: ordered with the GPU's legacy default stream (where Buffer's zero fill
// runs). Throws Error for the CPU or a GPU that is absent.
cudaStream_t stream(const Device& d);
// Makes GPU d current on the calling thread (cheap).
void activate(const Device& d);

// A CUDA event on the current device, owned.
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

// The kernels' element type of an activation dtype (f32 or bf16; throws for others).
Elem elem_of(DType d);

}  // namespace alexnet::gpu

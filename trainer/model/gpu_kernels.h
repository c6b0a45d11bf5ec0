// The CUDA kernels of the model: the SGD step, the NaN/Inf scan of gradients and the tower
// exchange on one GPU. Each is queued on the given stream (asynchronous to the host; errors in
// the launch configuration throw Error). Pointers are device pointers on the current GPU; counts
// are elements. CUDA builds only.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

#include "core/cuda_check.h"

namespace alexnet::gpu {

// The paper's SGD step on flat fp32 buffers (see model/sgd.h), as the CPU writes it:
//   v = momentum * v - decay_lr * w + neg_lr * g;  w += v
// with decay_lr = weight decay * lr and neg_lr = -lr * grad_scale.
void sgd_update(float* w, const float* g, float* v, int64_t count, float momentum, float decay_lr, float neg_lr,
                cudaStream_t s);

// Sets *flag to 1 (it is not cleared) when any of the count values is NaN or Inf.
void find_nonfinite(const float* x, int64_t count, int32_t* flag, cudaStream_t s);

// Tower exchange on one GPU, as rows: a half is (rows, inner), the gathered tensor (rows, 2*inner).
// gather: out[r] = [a[r] | b[r]]. reduce_scatter: ga[r] = x[r][:inner] + y[r][:inner] and
// gb[r] = x[r][inner:] + y[r][inner:]. split: ga[r] = g[r][:inner], gb[r] = g[r][inner:].
// add_half: dst[r] = mine[r][half] + other[r], with other (rows, inner) a copy of the other
// tower's half (two GPUs).
void exchange_gather(const void* a, const void* b, void* out, Elem e, int64_t rows, int64_t inner, cudaStream_t s);
void exchange_reduce_scatter(const void* x, const void* y, void* ga, void* gb, Elem e, int64_t rows, int64_t inner,
                             cudaStream_t s);
void exchange_split(const void* g, void* ga, void* gb, Elem e, int64_t rows, int64_t inner, cudaStream_t s);
void exchange_add_half(const void* mine, int half, const void* other, void* dst, Elem e, int64_t rows, int64_t inner,
                       cudaStream_t s);

}  // namespace alexnet::gpu

// The model's CUDA kernels (see gpu_kernels.h). Grid-stride loops; exchange kernels are
// templates over the activation type (float or bf16; sums in float).
#include "model/gpu_kernels.h"

#include "core/gpu_kernel.cuh"

namespace alexnet::gpu {
namespace {

__global__ void sgd_update_k(float* w, const float* g, float* v, int64_t count, float mu, float decay_lr,
                             float neg_lr) {
  GRID_STRIDE(i, count) {
    const float vi = mu * v[i] - decay_lr * w[i] + neg_lr * g[i];
    v[i] = vi;
    w[i] += vi;
  }
}

__global__ void find_nonfinite_k(const float* x, int64_t count, int32_t* flag) {
  GRID_STRIDE(i, count) {
    if (!isfinite(x[i])) *flag = 1;
  }
}

template <typename T>
__global__ void exchange_gather_k(const T* a, const T* b, T* out, int64_t rows, int64_t inner) {
  GRID_STRIDE(i, rows * 2 * inner) {
    const int64_t r = i / (2 * inner), j = i % (2 * inner);
    out[i] = j < inner ? a[r * inner + j] : b[r * inner + j - inner];
  }
}

template <typename T>
__global__ void exchange_reduce_scatter_k(const T* x, const T* y, T* ga, T* gb, int64_t rows, int64_t inner) {
  GRID_STRIDE(i, rows * 2 * inner) {
    const int64_t r = i / (2 * inner), j = i % (2 * inner);
    const T v = from_float<T>(to_float(x[i]) + to_float(y[i]));
    if (j < inner)
      ga[r * inner + j] = v;
    else
      gb[r * inner + j - inner] = v;
  }
}

template <typename T>
__global__ void exchange_split_k(const T* g, T* ga, T* gb, int64_t rows, int64_t inner) {
  GRID_STRIDE(i, rows * 2 * inner) {
    const int64_t r = i / (2 * inner), j = i % (2 * inner);
    if (j < inner)
      ga[r * inner + j] = g[i];
    else
      gb[r * inner + j - inner] = g[i];
  }
}

template <typename T>
__global__ void exchange_add_half_k(const T* mine, int half, const T* other, T* dst, int64_t rows, int64_t inner) {
  GRID_STRIDE(i, rows * inner) {
    const int64_t r = i / inner, j = i % inner;
    dst[i] = from_float<T>(to_float(mine[r * 2 * inner + half * inner + j]) + to_float(other[i]));
  }
}

}  // namespace

void sgd_update(float* w, const float* g, float* v, int64_t count, float momentum, float decay_lr, float neg_lr,
                cudaStream_t s) {
  LAUNCH(sgd_update_k, count, s, w, g, v, count, momentum, decay_lr, neg_lr);
}

void find_nonfinite(const float* x, int64_t count, int32_t* flag, cudaStream_t s) {
  LAUNCH(find_nonfinite_k, count, s, x, count, flag);
}

void exchange_gather(const void* a, const void* b, void* out, Elem e, int64_t rows, int64_t inner, cudaStream_t s) {
  dispatch(
      e, [&](auto t) { LAUNCH(exchange_gather_k, rows * 2 * inner, s, as(a, t), as(b, t), as(out, t), rows, inner); });
}

void exchange_reduce_scatter(const void* x, const void* y, void* ga, void* gb, Elem e, int64_t rows, int64_t inner,
                             cudaStream_t s) {
  dispatch(e, [&](auto t) {
    LAUNCH(exchange_reduce_scatter_k, rows * 2 * inner, s, as(x, t), as(y, t), as(ga, t), as(gb, t), rows, inner);
  });
}

void exchange_split(const void* g, void* ga, void* gb, Elem e, int64_t rows, int64_t inner, cudaStream_t s) {
  dispatch(e,
           [&](auto t) { LAUNCH(exchange_split_k, rows * 2 * inner, s, as(g, t), as(ga, t), as(gb, t), rows, inner); });
}

void exchange_add_half(const void* mine, int half, const void* other, void* dst, Elem e, int64_t rows, int64_t inner,
                       cudaStream_t s) {
  dispatch(e, [&](auto t) {
    LAUNCH(exchange_add_half_k, rows * inner, s, as(mine, t), half, as(other, t), as(dst, t), rows, inner);
  });
}

}  // namespace alexnet::gpu

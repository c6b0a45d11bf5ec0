// The layers' CUDA kernels (see kernels.h): element-wise layers, LRN, max pooling, the loss, bias
// terms and weight conversions. Grid-stride loops over int64
// counts; every reduction runs in a fixed order so results do not vary from run to run. Kernels
// on activations are templates over float and bf16 (arithmetic in float), dispatched on Elem.
#include "cuda/kernels.h"

#include <cuda_bf16.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <mutex>
#include <utility>

#include "core/gpu_kernel.cuh"
#include "cuda/cudnn_check.h"
#include "cuda/kernel_math.h"

namespace alexnet::gpu {
namespace {

using kmath::as_float;

// Sum of one double per thread over a block of kThreads, in a fixed tree order; the result is
// valid in thread 0.
__device__ double block_sum(double v, double* shared) {
  shared[threadIdx.x] = v;
  __syncthreads();
  for (int stride = kThreads / 2; stride > 0; stride /= 2) {
    if (threadIdx.x < stride) shared[threadIdx.x] += shared[threadIdx.x + stride];
    __syncthreads();
  }
  const double r = shared[0];
  __syncthreads();
  return r;
}

template <typename T>
__global__ void add_channel_bias_k(T* y, const float* b, int64_t count, int64_t c, int64_t hw, bool cl, bool relu) {
  GRID_STRIDE(i, count) {
    const float v = as_float(y[i]) + b[cl ? i % c : (i / hw) % c];
    y[i] = from_float<T>(relu && v < 0.f ? 0.f : v);
  }
}

// Channels last: a 2-D grid of (32 channels) x (a chunk of rows); a block's 32 x 8 threads read
// whole 32-channel runs of 8 rows at a time (coalesced), add up their lane in double, then the 8
// lanes in a fixed order: one partial per (chunk, channel). The second kernel adds the chunks'
// partials of each channel in chunk order. Deterministic, and no pass reads a row twice.
constexpr int kLanes = 8;
template <typename T>
__global__ void channel_partials_k(const T* dy, double* partial, int64_t rows, int64_t c, int64_t rows_per_chunk) {
  __shared__ double lane[kLanes][32];
  const int64_t ch = blockIdx.x * 32 + threadIdx.x;
  const int64_t r0 = blockIdx.y * rows_per_chunk;
  const int64_t r1 = r0 + rows_per_chunk < rows ? r0 + rows_per_chunk : rows;
  double acc = 0;
  if (ch < c)
    for (int64_t r = r0 + threadIdx.y; r < r1; r += kLanes) acc += as_float(dy[r * c + ch]);
  lane[threadIdx.y][threadIdx.x] = acc;
  __syncthreads();
  if (threadIdx.y == 0 && ch < c) {
    double sum = 0;
    for (int l = 0; l < kLanes; ++l) sum += lane[l][threadIdx.x];
    partial[blockIdx.y * c + ch] = sum;
  }
}

__global__ void channel_sum_partials_k(const double* partial, float* db, int64_t c, int64_t chunks) {
  GRID_STRIDE(ch, c) {
    double sum = 0;
    for (int64_t k = 0; k < chunks; ++k) sum += partial[k * c + ch];
    db[ch] = static_cast<float>(sum);
  }
}

template <typename T>
__global__ void channel_bias_grad_k(const T* dy, float* db, int64_t n, int64_t c, int64_t hw, bool cl) {
  __shared__ double shared[kThreads];
  const int64_t ch = blockIdx.x;
  double acc = 0;
  for (int64_t j = threadIdx.x; j < n * hw; j += kThreads) {
    const int64_t s = j / hw, p = j % hw;
    acc += as_float(dy[kmath::act_index(s, ch, p, c, hw, cl)]);
  }
  const double total = block_sum(acc, shared);
  if (threadIdx.x == 0) db[ch] = static_cast<float>(total);
}

// Weights between OIHW and OHWI (or the same order), converting the element type; j indexes
// the source.
template <typename S, typename D>
__global__ void weights_k(const S* src, D* dst, int64_t o, int64_t ic, int64_t kh, int64_t kw, bool src_oihw,
                          bool dst_oihw) {
  const int64_t count = o * ic * kh * kw;
  GRID_STRIDE(j, count) {
    int64_t oo, i, y, x;
    if (src_oihw) {
      x = j % kw, y = (j / kw) % kh, i = (j / (kw * kh)) % ic, oo = j / (kw * kh * ic);
    } else {
      i = j % ic, x = (j / ic) % kw, y = (j / (ic * kw)) % kh, oo = j / (ic * kw * kh);
    }
    const int64_t d = dst_oihw ? ((oo * ic + i) * kh + y) * kw + x : ((oo * kh + y) * kw + x) * ic + i;
    dst[d] = from_float<D>(as_float(src[j]));
  }
}

// j indexes dst; the element's (n, c, p) read from src in the other order.
template <typename T>
__global__ void transpose_channels_k(const T* src, T* dst, int64_t n, int64_t c, int64_t hw, bool from_cl) {
  GRID_STRIDE(j, n * c * hw) {
    const bool dst_cl = !from_cl;
    const int64_t ch = dst_cl ? j % c : (j / hw) % c;
    const int64_t p = dst_cl ? (j / c) % hw : j % hw;
    const int64_t s = j / (c * hw);
    dst[j] = src[kmath::act_index(s, ch, p, c, hw, from_cl)];
  }
}

template <typename S, typename D>
__global__ void convert_k(const S* src, D* dst, int64_t count) {
  GRID_STRIDE(i, count) dst[i] = from_float<D>(as_float(src[i]));
}

// NaN passes through, as on the CPU (so a NaN activation still shows in the loss).
template <typename T>
__global__ void relu_forward_k(const T* x, T* y, int64_t count) {
  GRID_STRIDE(i, count) y[i] = !(as_float(x[i]) <= 0.f) ? x[i] : from_float<T>(0.f);
}

template <typename T>
__global__ void relu_backward_k(const T* y, const T* dy, T* dx, int64_t count) {
  GRID_STRIDE(i, count) dx[i] = as_float(y[i]) > 0.f ? dy[i] : from_float<T>(0.f);
}

template <typename T>
__global__ void dropout_forward_k(const T* x, T* y, uint8_t* mask, int64_t count, uint64_t base, uint32_t threshold,
                                  float scale) {
  GRID_STRIDE(i, count) {
    const bool keep = dropout_keep(base, static_cast<uint64_t>(i), threshold);
    mask[i] = keep;
    y[i] = from_float<T>(keep ? as_float(x[i]) * scale : 0.f);
  }
}

template <typename T>
__global__ void dropout_backward_k(const T* dy, T* dx, const uint8_t* mask, int64_t count, float scale) {
  GRID_STRIDE(i, count) dx[i] = from_float<T>(mask[i] ? as_float(dy[i]) * scale : 0.f);
}

template <typename T>
__global__ void lrn_forward_k(const T* x, T* y, float* scale, int64_t n, int64_t c, int64_t hw, bool cl, int size,
                              float k, float coef, float beta) {
  GRID_STRIDE(i, n * c * hw) {
    // i enumerates memory order; recover (n, c, p).
    const int64_t ch = cl ? i % c : (i / hw) % c;
    const int64_t p = cl ? (i / c) % hw : i % hw;
    const int64_t s = i / (c * hw);
    const float sc = kmath::lrn_scale(x, s, ch, p, c, hw, cl, size, k, coef);
    scale[i] = sc;
    y[i] = from_float<T>(as_float(x[i]) * powf(sc, -beta));
  }
}

template <typename T>
__global__ void lrn_backward_k(const T* x, const float* scale, const T* dy, T* dx, int64_t n, int64_t c, int64_t hw,
                               bool cl, int size, float coef, float beta) {
  GRID_STRIDE(i, n * c * hw) {
    const int64_t ch = cl ? i % c : (i / hw) % c;
    const int64_t p = cl ? (i / c) % hw : i % hw;
    const int64_t s = i / (c * hw);
    dx[i] = from_float<T>(kmath::lrn_grad(x, scale, dy, s, ch, p, c, hw, cl, size, coef, beta));
  }
}

template <typename T>
__global__ void maxpool_forward_k(const T* x, T* y, int32_t* argmax, int64_t n, int64_t c, int64_t h, int64_t w,
                                  int64_t oh, int64_t ow, int k, int stride, int pad, bool cl) {
  const int64_t ohw = oh * ow;
  GRID_STRIDE(i, n * c * ohw) {
    const int64_t ch = cl ? i % c : (i / ohw) % c;
    const int64_t p = cl ? (i / c) % ohw : i % ohw;
    const int64_t s = i / (c * ohw);
    int32_t at = 0;
    y[i] = from_float<T>(kmath::pool_max(x, s, ch, p / ow, p % ow, c, h, w, cl, k, stride, pad, &at));
    argmax[i] = at;
  }
}

template <typename T>
__global__ void maxpool_backward_k(const T* dy, const int32_t* argmax, T* dx, int64_t n, int64_t c, int64_t h,
                                   int64_t w, int64_t oh, int64_t ow, int k, int stride, int pad, bool cl) {
  const int64_t hw = h * w;
  GRID_STRIDE(i, n * c * hw) {
    const int64_t ch = cl ? i % c : (i / hw) % c;
    const int64_t p = cl ? (i / c) % hw : i % hw;
    const int64_t s = i / (c * hw);
    dx[i] = from_float<T>(kmath::pool_grad(dy, argmax, s, ch, p / w, p % w, c, w, oh, ow, cl, k, stride, pad));
  }
}

// One block per sample: max, log-sum-exp (double), the loss and the label's rank.
template <typename T>
__global__ void softmax_loss_forward_k(const T* logits, const int32_t* labels, float* prob, double* loss, int32_t* rank,
                                       int32_t* bad, int32_t* first_bad, int64_t k) {
  __shared__ double shared[kThreads];
  const int64_t row = blockIdx.x;
  const T* z = logits + row * k;
  double m = -INFINITY;
  for (int64_t j = threadIdx.x; j < k; j += kThreads) m = fmax(m, static_cast<double>(as_float(z[j])));
  // Block max through the same tree (max instead of sum).
  shared[threadIdx.x] = m;
  __syncthreads();
  for (int stride = kThreads / 2; stride > 0; stride /= 2) {
    if (threadIdx.x < stride) shared[threadIdx.x] = fmax(shared[threadIdx.x], shared[threadIdx.x + stride]);
    __syncthreads();
  }
  const double zmax = shared[0];
  __syncthreads();
  double part = 0;
  for (int64_t j = threadIdx.x; j < k; j += kThreads) part += exp(static_cast<double>(as_float(z[j])) - zmax);
  const double log_sum = log(block_sum(part, shared));
  for (int64_t j = threadIdx.x; j < k; j += kThreads)
    prob[row * k + j] = static_cast<float>(exp(static_cast<double>(as_float(z[j])) - zmax - log_sum));
  const int32_t label = labels[row];
  const bool ok = label >= 0 && label < k;
  double better = 0;
  if (ok) {
    const float zl = as_float(z[label]);
    for (int64_t j = threadIdx.x; j < k; j += kThreads) better += as_float(z[j]) > zl ? 1.0 : 0.0;
  }
  const double above = block_sum(better, shared);
  if (threadIdx.x == 0) {
    if (ok) {
      loss[row] = -(static_cast<double>(as_float(z[label])) - zmax - log_sum);
      rank[row] = static_cast<int32_t>(above);
    } else {
      loss[row] = 0;
      rank[row] = static_cast<int32_t>(k);
      atomicAdd(bad, 1);
      atomicMin(first_bad, static_cast<int32_t>(row));
    }
  }
}

template <typename T>
__global__ void softmax_loss_backward_k(const float* prob, const int32_t* labels, T* d, int64_t n, int64_t k, float s) {
  GRID_STRIDE(i, n * k) {
    const int64_t row = i / k, j = i % k;
    d[i] = from_float<T>(prob[i] * s - (labels[row] == j ? s : 0.f));
  }
}

__global__ void softmax_loss_reduce_k(const double* loss, const int32_t* rank, double* out, int64_t n) {
  __shared__ double shared[kThreads];
  double l = 0, t1 = 0, t5 = 0;
  for (int64_t i = threadIdx.x; i < n; i += kThreads) {
    l += loss[i];
    t1 += rank[i] < 1;
    t5 += rank[i] < 5;
  }
  l = block_sum(l, shared);
  t1 = block_sum(t1, shared);
  t5 = block_sum(t5, shared);
  if (threadIdx.x == 0) {
    out[0] = l;
    out[1] = t1;
    out[2] = t5;
  }
}

}  // namespace

void add_channel_bias(void* y, Elem e, const float* b, int64_t n, int64_t c, int64_t hw, bool cl, bool relu,
                      cudaStream_t s) {
  dispatch(e, [&](auto t) { LAUNCH(add_channel_bias_k, n * c * hw, s, as(y, t), b, n * c * hw, c, hw, cl, relu); });
}

// Scratch of the channels-last bias gradient's partial sums on the current GPU, grown when a
// layer needs more (its first call). A replaced buffer is kept, not freed: queued kernels may still
// write it.
double* partial_sums(size_t count) {
  static std::mutex mu;
  static std::map<int, std::pair<double*, size_t>> buffers;
  int device = 0;
  CUDA_CHECK(cudaGetDevice(&device));
  std::lock_guard<std::mutex> lock(mu);
  auto& b = buffers[device];
  if (b.second < count) {
    double* p = nullptr;
    CUDA_CHECK(cudaMalloc(&p, count * sizeof(double)));
    b = {p, count};
  }
  return b.first;
}

void channel_bias_grad(const void* dy, Elem e, float* db, int64_t n, int64_t c, int64_t hw, bool cl, cudaStream_t s) {
  if (!cl || hw * n < 64) {  // NCHW: each channel's runs are contiguous, one block per channel
    dispatch(e, [&](auto t) {
      channel_bias_grad_k<<<static_cast<unsigned>(c), kThreads, 0, s>>>(as(dy, t), db, n, c, hw, cl);
      CUDA_CHECK_LAUNCH();
    });
    return;
  }
  const int64_t rows = n * hw;
  const int64_t col_blocks = (c + 31) / 32;
  // About 4 blocks per SM of an H100 in all, at least 64 rows per chunk.
  int64_t chunks = std::max<int64_t>(1, std::min<int64_t>(rows / 64, (528 + col_blocks - 1) / col_blocks));
  const int64_t per_chunk = (rows + chunks - 1) / chunks;
  chunks = (rows + per_chunk - 1) / per_chunk;
  double* partial = partial_sums(static_cast<size_t>(chunks * c));
  dispatch(e, [&](auto t) {
    channel_partials_k<<<dim3(static_cast<unsigned>(col_blocks), static_cast<unsigned>(chunks)), dim3(32, kLanes), 0,
                         s>>>(as(dy, t), partial, rows, c, per_chunk);
    CUDA_CHECK_LAUNCH();
  });
  LAUNCH(channel_sum_partials_k, c, s, partial, db, c, chunks);
}

void weights_to(const float* src, void* dst, Elem to, int64_t o, int64_t i, int64_t kh, int64_t kw, bool to_ohwi,
                cudaStream_t s) {
  dispatch(to, [&](auto t) { LAUNCH(weights_k, o * i * kh * kw, s, src, as(dst, t), o, i, kh, kw, true, !to_ohwi); });
}

void weights_grad_from(const void* src, Elem from, float* dst, int64_t o, int64_t i, int64_t kh, int64_t kw,
                       bool from_ohwi, cudaStream_t s) {
  dispatch(from,
           [&](auto t) { LAUNCH(weights_k, o * i * kh * kw, s, as(src, t), dst, o, i, kh, kw, !from_ohwi, true); });
}

void transpose_channels(const void* src, void* dst, Elem e, int64_t n, int64_t c, int64_t hw, bool from_cl,
                        cudaStream_t s) {
  dispatch(e, [&](auto t) { LAUNCH(transpose_channels_k, n * c * hw, s, as(src, t), as(dst, t), n, c, hw, from_cl); });
}

void convert(const void* src, Elem from, void* dst, Elem to, int64_t count, cudaStream_t s) {
  dispatch(from,
           [&](auto f) { dispatch(to, [&](auto t) { LAUNCH(convert_k, count, s, as(src, f), as(dst, t), count); }); });
}

void relu_forward(const void* x, void* y, Elem e, int64_t count, cudaStream_t s) {
  dispatch(e, [&](auto t) { LAUNCH(relu_forward_k, count, s, as(x, t), as(y, t), count); });
}

void relu_backward(const void* y, const void* dy, void* dx, Elem e, int64_t count, cudaStream_t s) {
  dispatch(e, [&](auto t) { LAUNCH(relu_backward_k, count, s, as(y, t), as(dy, t), as(dx, t), count); });
}

void dropout_forward(const void* x, void* y, Elem e, uint8_t* mask, int64_t count, uint64_t base, uint32_t threshold,
                     float scale, cudaStream_t s) {
  dispatch(
      e, [&](auto t) { LAUNCH(dropout_forward_k, count, s, as(x, t), as(y, t), mask, count, base, threshold, scale); });
}

void dropout_backward(const void* dy, void* dx, Elem e, const uint8_t* mask, int64_t count, float scale,
                      cudaStream_t s) {
  dispatch(e, [&](auto t) { LAUNCH(dropout_backward_k, count, s, as(dy, t), as(dx, t), mask, count, scale); });
}

void lrn_forward(const void* x, void* y, Elem e, float* scale, int64_t n, int64_t c, int64_t hw, bool cl, int size,
                 float k, float coef, float beta, cudaStream_t s) {
  dispatch(e, [&](auto t) {
    LAUNCH(lrn_forward_k, n * c * hw, s, as(x, t), as(y, t), scale, n, c, hw, cl, size, k, coef, beta);
  });
}

void lrn_backward(const void* x, const float* scale, const void* dy, void* dx, Elem e, int64_t n, int64_t c, int64_t hw,
                  bool cl, int size, float coef, float beta, cudaStream_t s) {
  dispatch(e, [&](auto t) {
    LAUNCH(lrn_backward_k, n * c * hw, s, as(x, t), scale, as(dy, t), as(dx, t), n, c, hw, cl, size, coef, beta);
  });
}

void maxpool_forward(const void* x, void* y, Elem e, int32_t* argmax, int64_t n, int64_t c, int64_t h, int64_t w,
                     int64_t oh, int64_t ow, int k, int stride, int pad, bool cl, cudaStream_t s) {
  dispatch(e, [&](auto t) {
    LAUNCH(maxpool_forward_k, n * c * oh * ow, s, as(x, t), as(y, t), argmax, n, c, h, w, oh, ow, k, stride, pad, cl);
  });
}

void maxpool_backward(const void* dy, const int32_t* argmax, void* dx, Elem e, int64_t n, int64_t c, int64_t h,
                      int64_t w, int64_t oh, int64_t ow, int k, int stride, int pad, bool cl, cudaStream_t s) {
  dispatch(e, [&](auto t) {
    LAUNCH(maxpool_backward_k, n * c * h * w, s, as(dy, t), argmax, as(dx, t), n, c, h, w, oh, ow, k, stride, pad, cl);
  });
}

void softmax_loss_forward(const void* logits, Elem e, const int32_t* labels, float* prob, double* loss, int32_t* rank,
                          int32_t* bad_label, int32_t* first_bad_label, int64_t n, int64_t k, cudaStream_t s) {
  dispatch(e, [&](auto t) {
    softmax_loss_forward_k<<<static_cast<unsigned>(n), kThreads, 0, s>>>(as(logits, t), labels, prob, loss, rank,
                                                                         bad_label, first_bad_label, k);
    CUDA_CHECK_LAUNCH();
  });
}

void softmax_loss_backward(const float* prob, const int32_t* labels, void* dlogits, Elem e, int64_t n, int64_t k,
                           float scale, cudaStream_t s) {
  dispatch(e, [&](auto t) {
    LAUNCH(softmax_loss_backward_k, n * k, s, prob, labels, as(dlogits, t), n, k, scale / static_cast<float>(n));
  });
}

void softmax_loss_reduce(const double* loss, const int32_t* rank, double* out, int64_t n, cudaStream_t s) {
  softmax_loss_reduce_k<<<1, kThreads, 0, s>>>(loss, rank, out, n);
  CUDA_CHECK_LAUNCH();
}

}  // namespace alexnet::gpu

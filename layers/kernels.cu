// Our CUDA kernels (see kernels.h): element-wise layers, LRN, max pooling, the loss, the SGD step,
// bias terms, weight permutes and the one-GPU tower exchange. Grid-stride loops over int64 counts;
// every reduction runs in a fixed order so results do not vary from run to run.
#include "kernels.h"

#include <cmath>

#include "cuda_check.h"
#include "kernel_math.h"

namespace alexnet::gpu {
namespace {

constexpr int kThreads = 256;

unsigned blocks_for(int64_t count) {
  const int64_t b = (count + kThreads - 1) / kThreads;
  return static_cast<unsigned>(b < 1 ? 1 : (b > 65535 * 8 ? 65535 * 8 : b));
}

#define GRID_STRIDE(i, count) \
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < (count); \
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)

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

__global__ void add_channel_bias_k(float* y, const float* b, int64_t count, int64_t c, int64_t hw, bool cl) {
  GRID_STRIDE(i, count) y[i] += b[cl ? i % c : (i / hw) % c];
}

__global__ void channel_bias_grad_k(const float* dy, float* db, int64_t n, int64_t c, int64_t hw, bool cl) {
  __shared__ double shared[kThreads];
  const int64_t ch = blockIdx.x;
  double acc = 0;
  for (int64_t j = threadIdx.x; j < n * hw; j += kThreads) {
    const int64_t s = j / hw, p = j % hw;
    acc += dy[kmath::act_index(s, ch, p, c, hw, cl)];
  }
  const double total = block_sum(acc, shared);
  if (threadIdx.x == 0) db[ch] = static_cast<float>(total);
}

// dst index of (o, i, y, x) in OHWI from a flat OIHW source index, and back.
__global__ void permute_k(const float* src, float* dst, int64_t o, int64_t ic, int64_t kh, int64_t kw, bool to_ohwi) {
  const int64_t count = o * ic * kh * kw;
  GRID_STRIDE(j, count) {
    if (to_ohwi) {  // j indexes OIHW
      const int64_t x = j % kw, y = (j / kw) % kh, i = (j / (kw * kh)) % ic, oo = j / (kw * kh * ic);
      dst[((oo * kh + y) * kw + x) * ic + i] = src[j];
    } else {  // j indexes OHWI
      const int64_t i = j % ic, x = (j / ic) % kw, y = (j / (ic * kw)) % kh, oo = j / (ic * kw * kh);
      dst[((oo * ic + i) * kh + y) * kw + x] = src[j];
    }
  }
}

__global__ void relu_forward_k(const float* x, float* y, int64_t count) {
  GRID_STRIDE(i, count) y[i] = x[i] > 0.f ? x[i] : 0.f;
}

__global__ void relu_backward_k(const float* y, const float* dy, float* dx, int64_t count) {
  GRID_STRIDE(i, count) dx[i] = y[i] > 0.f ? dy[i] : 0.f;
}

__global__ void dropout_forward_k(const float* x, float* y, uint8_t* mask, int64_t count, uint64_t base,
                                  uint32_t threshold, float scale) {
  GRID_STRIDE(i, count) {
    const bool keep = dropout_keep(base, static_cast<uint64_t>(i), threshold);
    mask[i] = keep;
    y[i] = keep ? x[i] * scale : 0.f;
  }
}

__global__ void dropout_backward_k(const float* dy, float* dx, const uint8_t* mask, int64_t count, float scale) {
  GRID_STRIDE(i, count) dx[i] = mask[i] ? dy[i] * scale : 0.f;
}

__global__ void lrn_forward_k(const float* x, float* y, float* scale, int64_t n, int64_t c, int64_t hw, bool cl,
                              int size, float k, float coef, float beta) {
  GRID_STRIDE(i, n * c * hw) {
    // i enumerates memory order; recover (n, c, p).
    const int64_t ch = cl ? i % c : (i / hw) % c;
    const int64_t p = cl ? (i / c) % hw : i % hw;
    const int64_t s = i / (c * hw);
    const float sc = kmath::lrn_scale(x, s, ch, p, c, hw, cl, size, k, coef);
    scale[i] = sc;
    y[i] = x[i] * powf(sc, -beta);
  }
}

__global__ void lrn_backward_k(const float* x, const float* scale, const float* dy, float* dx,
                               int64_t n, int64_t c, int64_t hw, bool cl, int size, float coef, float beta) {
  GRID_STRIDE(i, n * c * hw) {
    const int64_t ch = cl ? i % c : (i / hw) % c;
    const int64_t p = cl ? (i / c) % hw : i % hw;
    const int64_t s = i / (c * hw);
    dx[i] = kmath::lrn_grad(x, scale, dy, s, ch, p, c, hw, cl, size, coef, beta);
  }
}

__global__ void maxpool_forward_k(const float* x, float* y, int32_t* argmax, int64_t n, int64_t c, int64_t h,
                                  int64_t w, int64_t oh, int64_t ow, int k, int stride, int pad, bool cl) {
  const int64_t ohw = oh * ow;
  GRID_STRIDE(i, n * c * ohw) {
    const int64_t ch = cl ? i % c : (i / ohw) % c;
    const int64_t p = cl ? (i / c) % ohw : i % ohw;
    const int64_t s = i / (c * ohw);
    int32_t at = 0;
    y[i] = kmath::pool_max(x, s, ch, p / ow, p % ow, c, h, w, cl, k, stride, pad, &at);
    argmax[i] = at;
  }
}

__global__ void maxpool_backward_k(const float* dy, const int32_t* argmax, float* dx, int64_t n, int64_t c,
                                   int64_t h, int64_t w, int64_t oh, int64_t ow, int k, int stride, int pad,
                                   bool cl) {
  const int64_t hw = h * w;
  GRID_STRIDE(i, n * c * hw) {
    const int64_t ch = cl ? i % c : (i / hw) % c;
    const int64_t p = cl ? (i / c) % hw : i % hw;
    const int64_t s = i / (c * hw);
    dx[i] = kmath::pool_grad(dy, argmax, s, ch, p / w, p % w, c, w, oh, ow, cl, k, stride, pad);
  }
}

// One block per sample: max, log-sum-exp (double), the loss and the label's rank.
__global__ void softmax_loss_forward_k(const float* logits, const int32_t* labels, float* prob, double* loss,
                                       int32_t* rank, int32_t* bad, int32_t* first_bad, int64_t k) {
  __shared__ double shared[kThreads];
  const int64_t row = blockIdx.x;
  const float* z = logits + row * k;
  double m = -INFINITY;
  for (int64_t j = threadIdx.x; j < k; j += kThreads) m = fmax(m, static_cast<double>(z[j]));
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
  for (int64_t j = threadIdx.x; j < k; j += kThreads) part += exp(static_cast<double>(z[j]) - zmax);
  const double log_sum = log(block_sum(part, shared));
  for (int64_t j = threadIdx.x; j < k; j += kThreads)
    prob[row * k + j] = static_cast<float>(exp(static_cast<double>(z[j]) - zmax - log_sum));
  const int32_t label = labels[row];
  const bool ok = label >= 0 && label < k;
  double better = 0;
  if (ok) {
    const float zl = z[label];
    for (int64_t j = threadIdx.x; j < k; j += kThreads) better += z[j] > zl ? 1.0 : 0.0;
  }
  const double above = block_sum(better, shared);
  if (threadIdx.x == 0) {
    if (ok) {
      loss[row] = -(static_cast<double>(z[label]) - zmax - log_sum);
      rank[row] = static_cast<int32_t>(above);
    } else {
      loss[row] = 0;
      rank[row] = static_cast<int32_t>(k);
      atomicAdd(bad, 1);
      atomicMin(first_bad, static_cast<int32_t>(row));
    }
  }
}

__global__ void softmax_loss_backward_k(const float* prob, const int32_t* labels, float* d, int64_t n, int64_t k,
                                        float s) {
  GRID_STRIDE(i, n * k) {
    const int64_t row = i / k, j = i % k;
    d[i] = prob[i] * s - (labels[row] == j ? s : 0.f);
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

__global__ void exchange_gather_k(const float* a, const float* b, float* out, int64_t rows, int64_t inner) {
  GRID_STRIDE(i, rows * 2 * inner) {
    const int64_t r = i / (2 * inner), j = i % (2 * inner);
    out[i] = j < inner ? a[r * inner + j] : b[r * inner + j - inner];
  }
}

__global__ void exchange_reduce_scatter_k(const float* x, const float* y, float* ga, float* gb, int64_t rows,
                                          int64_t inner) {
  GRID_STRIDE(i, rows * 2 * inner) {
    const int64_t r = i / (2 * inner), j = i % (2 * inner);
    const float v = x[i] + y[i];
    if (j < inner) ga[r * inner + j] = v;
    else gb[r * inner + j - inner] = v;
  }
}

__global__ void exchange_split_k(const float* g, float* ga, float* gb, int64_t rows, int64_t inner) {
  GRID_STRIDE(i, rows * 2 * inner) {
    const int64_t r = i / (2 * inner), j = i % (2 * inner);
    if (j < inner) ga[r * inner + j] = g[i];
    else gb[r * inner + j - inner] = g[i];
  }
}

__global__ void exchange_add_half_k(const float* mine, int half, const float* other, float* dst, int64_t rows,
                                    int64_t inner) {
  GRID_STRIDE(i, rows * inner) {
    const int64_t r = i / inner, j = i % inner;
    dst[i] = mine[r * 2 * inner + half * inner + j] + other[i];
  }
}

}  // namespace

#define LAUNCH(kernel, count, s, ...)                              \
  do {                                                             \
    kernel<<<blocks_for(count), kThreads, 0, s>>>(__VA_ARGS__);    \
    CUDA_CHECK_LAUNCH();                                           \
  } while (0)

void add_channel_bias(float* y, const float* b, int64_t n, int64_t c, int64_t hw, bool cl, cudaStream_t s) {
  LAUNCH(add_channel_bias_k, n * c * hw, s, y, b, n * c * hw, c, hw, cl);
}

void channel_bias_grad(const float* dy, float* db, int64_t n, int64_t c, int64_t hw, bool cl, cudaStream_t s) {
  channel_bias_grad_k<<<static_cast<unsigned>(c), kThreads, 0, s>>>(dy, db, n, c, hw, cl);
  CUDA_CHECK_LAUNCH();
}

void permute_oihw_to_ohwi(const float* src, float* dst, int64_t o, int64_t i, int64_t kh, int64_t kw, cudaStream_t s) {
  LAUNCH(permute_k, o * i * kh * kw, s, src, dst, o, i, kh, kw, true);
}

void permute_ohwi_to_oihw(const float* src, float* dst, int64_t o, int64_t i, int64_t kh, int64_t kw, cudaStream_t s) {
  LAUNCH(permute_k, o * i * kh * kw, s, src, dst, o, i, kh, kw, false);
}

void relu_forward(const float* x, float* y, int64_t count, cudaStream_t s) {
  LAUNCH(relu_forward_k, count, s, x, y, count);
}

void relu_backward(const float* y, const float* dy, float* dx, int64_t count, cudaStream_t s) {
  LAUNCH(relu_backward_k, count, s, y, dy, dx, count);
}

void dropout_forward(const float* x, float* y, uint8_t* mask, int64_t count, uint64_t base, uint32_t threshold,
                     float scale, cudaStream_t s) {
  LAUNCH(dropout_forward_k, count, s, x, y, mask, count, base, threshold, scale);
}

void dropout_backward(const float* dy, float* dx, const uint8_t* mask, int64_t count, float scale, cudaStream_t s) {
  LAUNCH(dropout_backward_k, count, s, dy, dx, mask, count, scale);
}

void lrn_forward(const float* x, float* y, float* scale, int64_t n, int64_t c, int64_t hw, bool cl, int size,
                 float k, float coef, float beta, cudaStream_t s) {
  LAUNCH(lrn_forward_k, n * c * hw, s, x, y, scale, n, c, hw, cl, size, k, coef, beta);
}

void lrn_backward(const float* x, const float* scale, const float* dy, float* dx, int64_t n,
                  int64_t c, int64_t hw, bool cl, int size, float coef, float beta, cudaStream_t s) {
  LAUNCH(lrn_backward_k, n * c * hw, s, x, scale, dy, dx, n, c, hw, cl, size, coef, beta);
}

void maxpool_forward(const float* x, float* y, int32_t* argmax, int64_t n, int64_t c, int64_t h, int64_t w,
                     int64_t oh, int64_t ow, int k, int stride, int pad, bool cl, cudaStream_t s) {
  LAUNCH(maxpool_forward_k, n * c * oh * ow, s, x, y, argmax, n, c, h, w, oh, ow, k, stride, pad, cl);
}

void maxpool_backward(const float* dy, const int32_t* argmax, float* dx, int64_t n, int64_t c, int64_t h,
                      int64_t w, int64_t oh, int64_t ow, int k, int stride, int pad, bool cl, cudaStream_t s) {
  LAUNCH(maxpool_backward_k, n * c * h * w, s, dy, argmax, dx, n, c, h, w, oh, ow, k, stride, pad, cl);
}

void softmax_loss_forward(const float* logits, const int32_t* labels, float* prob, double* loss, int32_t* rank,
                          int32_t* bad_label, int32_t* first_bad_label, int64_t n, int64_t k, cudaStream_t s) {
  softmax_loss_forward_k<<<static_cast<unsigned>(n), kThreads, 0, s>>>(logits, labels, prob, loss, rank, bad_label,
                                                                       first_bad_label, k);
  CUDA_CHECK_LAUNCH();
}

void softmax_loss_backward(const float* prob, const int32_t* labels, float* dlogits, int64_t n, int64_t k,
                           float scale, cudaStream_t s) {
  LAUNCH(softmax_loss_backward_k, n * k, s, prob, labels, dlogits, n, k, scale / static_cast<float>(n));
}

void softmax_loss_reduce(const double* loss, const int32_t* rank, double* out, int64_t n, cudaStream_t s) {
  softmax_loss_reduce_k<<<1, kThreads, 0, s>>>(loss, rank, out, n);
  CUDA_CHECK_LAUNCH();
}

void sgd_update(float* w, const float* g, float* v, int64_t count, float momentum, float decay_lr, float neg_lr,
                cudaStream_t s) {
  LAUNCH(sgd_update_k, count, s, w, g, v, count, momentum, decay_lr, neg_lr);
}

void find_nonfinite(const float* x, int64_t count, int32_t* flag, cudaStream_t s) {
  LAUNCH(find_nonfinite_k, count, s, x, count, flag);
}

void exchange_gather(const float* a, const float* b, float* out, int64_t rows, int64_t inner, cudaStream_t s) {
  LAUNCH(exchange_gather_k, rows * 2 * inner, s, a, b, out, rows, inner);
}

void exchange_reduce_scatter(const float* x, const float* y, float* ga, float* gb, int64_t rows, int64_t inner,
                             cudaStream_t s) {
  LAUNCH(exchange_reduce_scatter_k, rows * 2 * inner, s, x, y, ga, gb, rows, inner);
}

void exchange_split(const float* g, float* ga, float* gb, int64_t rows, int64_t inner, cudaStream_t s) {
  LAUNCH(exchange_split_k, rows * 2 * inner, s, g, ga, gb, rows, inner);
}

void exchange_add_half(const float* mine, int half, const float* other, float* dst, int64_t rows, int64_t inner,
                       cudaStream_t s) {
  LAUNCH(exchange_add_half_k, rows * inner, s, mine, half, other, dst, rows, inner);
}

}  // namespace alexnet::gpu

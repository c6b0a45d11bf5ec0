// The per-element arithmetic of our CUDA kernels (LRN, max pooling), as host-and-device
// functions: the kernels call them on the GPU and tests/test_kernel_math.cpp checks them on the
// CPU against the double-precision reference, so their indexing is tested without a GPU.
// (N, C, HW) activations, channels_last: (N, HW, C) memory order.
#pragma once

#include <cmath>
#include <cstdint>

#include "core/hash.h"

#ifdef __CUDACC__
#include <cuda_bf16.h>
#endif

namespace alexnet::kmath {

// Element loads as float, whatever the activation type (float, or bf16 on the GPU).
ALEXNET_HD inline float as_float(float v) { return v; }
#ifdef __CUDACC__
__device__ inline float as_float(__nv_bfloat16 v) { return __bfloat162float(v); }
#endif

ALEXNET_HD inline int64_t act_index(int64_t n, int64_t c, int64_t p, int64_t C, int64_t HW, bool cl) {
  return cl ? (n * HW + p) * C + c : (n * C + c) * HW + p;
}

// k + coef * sum of x^2 over channels [c - size/2, c + size/2] within [0, C).
template <typename T>
ALEXNET_HD inline float lrn_scale(const T* x, int64_t n, int64_t c, int64_t p, int64_t C, int64_t HW, bool cl, int size,
                                  float k, float coef) {
  const int64_t lo = c - size / 2 < 0 ? 0 : c - size / 2;
  const int64_t hi = c + size / 2 >= C ? C - 1 : c + size / 2;
  float sum = 0.f;
  for (int64_t j = lo; j <= hi; ++j) {
    const float v = as_float(x[act_index(n, j, p, C, HW, cl)]);
    sum += v * v;
  }
  return k + coef * sum;
}

// dx_i = dy_i * s_i^-beta - 2 beta coef x_i * sum_{c: i in window(c)} dy_c x_c s_c^(-beta-1)
// (windows are symmetric, so c runs over window(i)); s is the forward's scale.
template <typename T>
ALEXNET_HD inline float lrn_grad(const T* x, const float* scale, const T* dy, int64_t n, int64_t c, int64_t p,
                                 int64_t C, int64_t HW, bool cl, int size, float coef, float beta) {
  const int64_t lo = c - size / 2 < 0 ? 0 : c - size / 2;
  const int64_t hi = c + size / 2 >= C ? C - 1 : c + size / 2;
  float acc = 0.f;
  for (int64_t j = lo; j <= hi; ++j) {
    const int64_t o = act_index(n, j, p, C, HW, cl);
    acc += as_float(dy[o]) * as_float(x[o]) * powf(scale[o], -beta - 1.f);
  }
  const int64_t i = act_index(n, c, p, C, HW, cl);
  return as_float(dy[i]) * powf(scale[i], -beta) - 2.f * beta * coef * as_float(x[i]) * acc;
}

// Max of one pooling window and where it is (h * W + w; the first maximum in row-major order).
template <typename T>
ALEXNET_HD inline float pool_max(const T* x, int64_t n, int64_t c, int64_t oh, int64_t ow, int64_t C, int64_t H,
                                 int64_t W, bool cl, int k, int stride, int pad, int32_t* where) {
  const int64_t h0 = oh * stride - pad, w0 = ow * stride - pad;
  float best = 0.f;
  int32_t at = -1;
  for (int64_t h = h0; h < h0 + k; ++h) {
    if (h < 0 || h >= H) continue;
    for (int64_t w = w0; w < w0 + k; ++w) {
      if (w < 0 || w >= W) continue;
      const float v = as_float(x[act_index(n, c, h * W + w, C, H * W, cl)]);
      if (at < 0 || v > best || (v != v && best == best)) {  // a NaN wins (and stays), as on the CPU
        best = v;
        at = static_cast<int32_t>(h * W + w);
      }
    }
  }
  *where = at;
  return best;
}

// The gradient of input (h, w): the sum, over the windows containing it (output rows, then
// columns, ascending), of dy where the window's maximum was (h, w).
template <typename T>
ALEXNET_HD inline float pool_grad(const T* dy, const int32_t* argmax, int64_t n, int64_t c, int64_t h, int64_t w,
                                  int64_t C, int64_t W, int64_t OH, int64_t OW, bool cl, int k, int stride, int pad) {
  // Output o covers inputs [o*stride - pad, o*stride - pad + k - 1].
  const int64_t hp = h + pad, wp = w + pad;
  const int64_t oh_lo = hp < k ? 0 : (hp - k) / stride + 1, oh_hi = hp / stride < OH - 1 ? hp / stride : OH - 1;
  const int64_t ow_lo = wp < k ? 0 : (wp - k) / stride + 1, ow_hi = wp / stride < OW - 1 ? wp / stride : OW - 1;
  const int32_t me = static_cast<int32_t>(h * W + w);
  float g = 0.f;
  for (int64_t oh = oh_lo; oh <= oh_hi; ++oh)
    for (int64_t ow = ow_lo; ow <= ow_hi; ++ow) {
      const int64_t o = act_index(n, c, oh * OW + ow, C, OH * OW, cl);
      if (argmax[o] == me) g += as_float(dy[o]);
    }
  return g;
}

}  // namespace alexnet::kmath

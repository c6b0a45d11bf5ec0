// The layers' CUDA kernels, each queued on the given stream (asynchronous to the host; errors in
// the launch configuration throw Error). Pointers are device pointers on the current GPU. Counts
// are elements. "channels_last": (N, H, W, C) memory order; otherwise (N, C, H, W).
// Activations and their gradients are `Elem` (fp32 or bf16, the layer's precision; void*
// pointers); parameters, their gradients, biases and every sum are fp32.
// Included only by CUDA backend sources.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

#include "core/cuda_check.h"

namespace alexnet::gpu {

// y[n, c, p] += b[c] for every position p of the hw positions (a (rows, cols) matrix: n = rows,
// c = cols, hw = 1, channels_last); relu: then y = max(y, 0), in the same pass.
void add_channel_bias(void* y, Elem e, const float* b, int64_t n, int64_t c, int64_t hw, bool channels_last, bool relu,
                      cudaStream_t s);
// db[c] = sum over n and p of dy[n, c, p] (overwrites db; deterministic, summed in double).
void channel_bias_grad(const void* dy, Elem e, float* db, int64_t n, int64_t c, int64_t hw, bool channels_last,
                       cudaStream_t s);
// fp32 master weights (O, I, KH, KW) -> the layer's copy in `to`, (O, KH, KW, I) when to_ohwi
// (the filter order of channels-last convolutions); for fc weights kh = kw = 1.
void weights_to(const float* src, void* dst, Elem to, int64_t o, int64_t i, int64_t kh, int64_t kw, bool to_ohwi,
                cudaStream_t s);
// A weight gradient in `from` ((O, KH, KW, I) when from_ohwi) -> fp32 (O, I, KH, KW).
void weights_grad_from(const void* src, Elem from, float* dst, int64_t o, int64_t i, int64_t kh, int64_t kw,
                       bool from_ohwi, cudaStream_t s);
// (N, C, HW) between NCHW and NHWC: from_channels_last says which one src is (dst is the other).
void transpose_channels(const void* src, void* dst, Elem e, int64_t n, int64_t c, int64_t hw, bool from_channels_last,
                        cudaStream_t s);
// dst = src converted element by element (round to nearest even into bf16).
void convert(const void* src, Elem from, void* dst, Elem to, int64_t count, cudaStream_t s);

// ReLU: y = max(x, 0); dx = dy * (y > 0). In place allowed.
void relu_forward(const void* x, void* y, Elem e, int64_t count, cudaStream_t s);
void relu_backward(const void* y, const void* dy, void* dx, Elem e, int64_t count, cudaStream_t s);

// Dropout with the counter-based hash of hash.h: mask[i] = dropout_keep(base, i, threshold),
// y = x * mask * scale; dx = dy * mask * scale.
void dropout_forward(const void* x, void* y, Elem e, uint8_t* mask, int64_t count, uint64_t base, uint32_t threshold,
                     float scale, cudaStream_t s);
void dropout_backward(const void* dy, void* dx, Elem e, const uint8_t* mask, int64_t count, float scale,
                      cudaStream_t s);

// Cross-channel LRN, b = a / (k + coef * sum a^2 over `size` channels centred on c)^beta, in either
// memory order. scale (N*C*H*W floats) keeps k + coef * sum for backward.
void lrn_forward(const void* x, void* y, Elem e, float* scale, int64_t n, int64_t c, int64_t hw, bool channels_last,
                 int size, float k, float coef, float beta, cudaStream_t s);
void lrn_backward(const void* x, const float* scale, const void* dy, void* dx, Elem e, int64_t n, int64_t c, int64_t hw,
                  bool channels_last, int size, float coef, float beta, cudaStream_t s);

// Max pooling (k x k windows, stride, zero padding never wins): y and the argmax (h * W + w of
// the input, the first maximum on ties); backward sums, for every input element in a fixed
// order, the gradients of the outputs whose maximum it was (deterministic, no atomics).
void maxpool_forward(const void* x, void* y, Elem e, int32_t* argmax, int64_t n, int64_t c, int64_t h, int64_t w,
                     int64_t oh, int64_t ow, int k, int stride, int pad, bool channels_last, cudaStream_t s);
void maxpool_backward(const void* dy, const int32_t* argmax, void* dx, Elem e, int64_t n, int64_t c, int64_t h,
                      int64_t w, int64_t oh, int64_t ow, int k, int stride, int pad, bool channels_last,
                      cudaStream_t s);

// Softmax cross-entropy over (n, k) logits: per-sample loss (double) and rank of the label (how
// many classes score strictly higher); prob keeps the softmax. bad_label counts labels outside
// [0, k) (they get loss 0 and rank k) and first_bad_label keeps the smallest such sample index
// (initialise it to n). Then the gradient (prob - onehot) * scale / n.
void softmax_loss_forward(const void* logits, Elem e, const int32_t* labels, float* prob, double* loss, int32_t* rank,
                          int32_t* bad_label, int32_t* first_bad_label, int64_t n, int64_t k, cudaStream_t s);
void softmax_loss_backward(const float* prob, const int32_t* labels, void* dlogits, Elem e, int64_t n, int64_t k,
                           float scale, cudaStream_t s);
// out = {sum of loss, count of rank < 1, count of rank < 5} summed in a fixed order.
void softmax_loss_reduce(const double* loss, const int32_t* rank, double* out, int64_t n, cudaStream_t s);

}  // namespace alexnet::gpu

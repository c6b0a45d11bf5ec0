// Naive double-precision reference implementations of every layer: plain loops over NCHW (or
// row-major 2-D) data, written for clarity, not speed. The tests compare each backend to these.
#pragma once

#include <cstdint>
#include <vector>

#include "layers/conv.h"
#include "layers/lrn.h"
#include "layers/pool.h"

namespace alexnet::ref {

using Vec = std::vector<double>;

struct Dims4 {
  int64_t n, c, h, w;
  int64_t size() const { return n * c * h * w; }
  int64_t at(int64_t in, int64_t ic, int64_t ih, int64_t iw) const { return ((in * c + ic) * h + ih) * w + iw; }
};

// x (N,C,H,W), w (O, C/g, K, K), b (O) -> y (N, O, OH, OW)
Vec conv_forward(const Vec& x, const Dims4& xd, const Vec& w, const Vec& b, const ConvSpec& s, Dims4* yd);
// dx, dw, db from x, w, dy (all overwritten)
void conv_backward(const Vec& x, const Dims4& xd, const Vec& w, const Vec& dy, const ConvSpec& s, Vec* dx, Vec* dw,
                   Vec* db);

Vec lrn_forward(const Vec& x, const Dims4& d, const LrnSpec& s);
Vec lrn_backward(const Vec& x, const Vec& dy, const Dims4& d, const LrnSpec& s);

// Max pooling; argmax (flat input index per output, the first max on ties) for the backward.
Vec maxpool_forward(const Vec& x, const Dims4& xd, const PoolSpec& s, Dims4* yd, std::vector<int64_t>* argmax);
Vec maxpool_backward(const Vec& dy, const std::vector<int64_t>& argmax, int64_t input_size);

Vec relu_forward(const Vec& x);
Vec relu_backward(const Vec& y, const Vec& dy);

// x (N, I), w (O, I), b (O) -> y (N, O)
Vec fc_forward(const Vec& x, const Vec& w, const Vec& b, int64_t n, int64_t in, int64_t out);
void fc_backward(const Vec& x, const Vec& w, const Vec& dy, int64_t n, int64_t in, int64_t out, Vec* dx, Vec* dw,
                 Vec* db);

struct LossRef {
  double loss = 0;
  int64_t top1 = 0, top5 = 0;
  Vec dlogits;  // gradient of the mean loss
};
LossRef softmax_loss(const Vec& logits, const std::vector<int32_t>& labels, int64_t n, int64_t k);

}  // namespace alexnet::ref

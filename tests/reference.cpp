// The double-precision reference layers (see reference.h).
#include "reference.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace alexnet::ref {

Vec conv_forward(const Vec& x, const Dims4& xd, const Vec& w, const Vec& b, const ConvSpec& s, Dims4* yd) {
  const int64_t oh = (xd.h + 2 * s.pad - s.kernel) / s.stride + 1;
  const int64_t ow = (xd.w + 2 * s.pad - s.kernel) / s.stride + 1;
  *yd = {xd.n, s.out_channels, oh, ow};
  const int64_t cg = s.in_channels / s.groups, og = s.out_channels / s.groups, k = s.kernel;
  Vec y(static_cast<size_t>(yd->size()));
  for (int64_t n = 0; n < xd.n; ++n)
    for (int64_t o = 0; o < s.out_channels; ++o) {
      const int64_t g = o / og;
      for (int64_t i = 0; i < oh; ++i)
        for (int64_t j = 0; j < ow; ++j) {
          double acc = b[o];
          for (int64_t c = 0; c < cg; ++c)
            for (int64_t ki = 0; ki < k; ++ki)
              for (int64_t kj = 0; kj < k; ++kj) {
                const int64_t hi = i * s.stride - s.pad + ki, wj = j * s.stride - s.pad + kj;
                if (hi < 0 || hi >= xd.h || wj < 0 || wj >= xd.w) continue;
                acc += x[xd.at(n, g * cg + c, hi, wj)] * w[((o * cg + c) * k + ki) * k + kj];
              }
          y[yd->at(n, o, i, j)] = acc;
        }
    }
  return y;
}

void conv_backward(const Vec& x, const Dims4& xd, const Vec& w, const Vec& dy, const ConvSpec& s, Vec* dx, Vec* dw,
                   Vec* db) {
  const int64_t oh = (xd.h + 2 * s.pad - s.kernel) / s.stride + 1;
  const int64_t ow = (xd.w + 2 * s.pad - s.kernel) / s.stride + 1;
  const Dims4 yd{xd.n, s.out_channels, oh, ow};
  const int64_t cg = s.in_channels / s.groups, og = s.out_channels / s.groups, k = s.kernel;
  dx->assign(x.size(), 0.0);
  dw->assign(w.size(), 0.0);
  db->assign(static_cast<size_t>(s.out_channels), 0.0);
  for (int64_t n = 0; n < xd.n; ++n)
    for (int64_t o = 0; o < s.out_channels; ++o) {
      const int64_t g = o / og;
      for (int64_t i = 0; i < oh; ++i)
        for (int64_t j = 0; j < ow; ++j) {
          const double g_out = dy[yd.at(n, o, i, j)];
          (*db)[o] += g_out;
          for (int64_t c = 0; c < cg; ++c)
            for (int64_t ki = 0; ki < k; ++ki)
              for (int64_t kj = 0; kj < k; ++kj) {
                const int64_t hi = i * s.stride - s.pad + ki, wj = j * s.stride - s.pad + kj;
                if (hi < 0 || hi >= xd.h || wj < 0 || wj >= xd.w) continue;
                const int64_t xi = xd.at(n, g * cg + c, hi, wj);
                const int64_t wi = ((o * cg + c) * k + ki) * k + kj;
                (*dx)[xi] += g_out * w[wi];
                (*dw)[wi] += g_out * x[xi];
              }
        }
    }
}

namespace {
// s_i = k + a * sum of squares over the window around channel c.
double lrn_scale(const Vec& x, const Dims4& d, const LrnSpec& s, int64_t n, int64_t c, int64_t h, int64_t w) {
  const int64_t half = s.size / 2;
  double sum = 0;
  for (int64_t j = std::max<int64_t>(0, c - half); j <= std::min<int64_t>(d.c - 1, c + half); ++j) {
    const double v = x[d.at(n, j, h, w)];
    sum += v * v;
  }
  return s.k + s.sum_coefficient() * sum;
}
}  // namespace

Vec lrn_forward(const Vec& x, const Dims4& d, const LrnSpec& s) {
  Vec y(x.size());
  for (int64_t n = 0; n < d.n; ++n)
    for (int64_t c = 0; c < d.c; ++c)
      for (int64_t h = 0; h < d.h; ++h)
        for (int64_t w = 0; w < d.w; ++w)
          y[d.at(n, c, h, w)] = x[d.at(n, c, h, w)] * std::pow(lrn_scale(x, d, s, n, c, h, w), -s.beta);
  return y;
}

// y_i = x_i s_i^-b, s_i = k + a sum_{j in N(i)} x_j^2  =>
// dx_j = dy_j s_j^-b - 2 a b x_j sum_{i : j in N(i)} dy_i x_i s_i^(-b-1)
Vec lrn_backward(const Vec& x, const Vec& dy, const Dims4& d, const LrnSpec& s) {
  Vec dx(x.size(), 0.0);
  const int64_t half = s.size / 2;
  for (int64_t n = 0; n < d.n; ++n)
    for (int64_t h = 0; h < d.h; ++h)
      for (int64_t w = 0; w < d.w; ++w)
        for (int64_t i = 0; i < d.c; ++i) {
          const int64_t ii = d.at(n, i, h, w);
          const double si = lrn_scale(x, d, s, n, i, h, w);
          dx[ii] += dy[ii] * std::pow(si, -s.beta);
          const double common = -2.0 * s.sum_coefficient() * s.beta * dy[ii] * x[ii] * std::pow(si, -s.beta - 1);
          for (int64_t j = std::max<int64_t>(0, i - half); j <= std::min<int64_t>(d.c - 1, i + half); ++j) {
            const int64_t jj = d.at(n, j, h, w);
            dx[jj] += common * x[jj];
          }
        }
  return dx;
}

Vec maxpool_forward(const Vec& x, const Dims4& xd, const PoolSpec& s, Dims4* yd, std::vector<int64_t>* argmax) {
  const int64_t oh = (xd.h + 2 * s.pad - s.kernel) / s.stride + 1;
  const int64_t ow = (xd.w + 2 * s.pad - s.kernel) / s.stride + 1;
  *yd = {xd.n, xd.c, oh, ow};
  Vec y(static_cast<size_t>(yd->size()));
  argmax->assign(y.size(), -1);
  for (int64_t n = 0; n < xd.n; ++n)
    for (int64_t c = 0; c < xd.c; ++c)
      for (int64_t i = 0; i < oh; ++i)
        for (int64_t j = 0; j < ow; ++j) {
          double best = -std::numeric_limits<double>::infinity();
          int64_t where = -1;
          for (int64_t ki = 0; ki < s.kernel; ++ki)
            for (int64_t kj = 0; kj < s.kernel; ++kj) {
              const int64_t hi = i * s.stride - s.pad + ki, wj = j * s.stride - s.pad + kj;
              if (hi < 0 || hi >= xd.h || wj < 0 || wj >= xd.w) continue;
              const int64_t xi = xd.at(n, c, hi, wj);
              if (x[xi] > best) {
                best = x[xi];
                where = xi;
              }
            }
          y[yd->at(n, c, i, j)] = best;
          (*argmax)[yd->at(n, c, i, j)] = where;
        }
  return y;
}

Vec maxpool_backward(const Vec& dy, const std::vector<int64_t>& argmax, int64_t input_size) {
  Vec dx(static_cast<size_t>(input_size), 0.0);
  for (size_t i = 0; i < dy.size(); ++i) dx[argmax[i]] += dy[i];
  return dx;
}

Vec relu_forward(const Vec& x) {
  Vec y(x.size());
  for (size_t i = 0; i < x.size(); ++i) y[i] = x[i] > 0 ? x[i] : 0.0;
  return y;
}

Vec relu_backward(const Vec& y, const Vec& dy) {
  Vec dx(y.size());
  for (size_t i = 0; i < y.size(); ++i) dx[i] = y[i] > 0 ? dy[i] : 0.0;
  return dx;
}

Vec fc_forward(const Vec& x, const Vec& w, const Vec& b, int64_t n, int64_t in, int64_t out) {
  Vec y(static_cast<size_t>(n * out));
  for (int64_t i = 0; i < n; ++i)
    for (int64_t o = 0; o < out; ++o) {
      double acc = b[o];
      for (int64_t f = 0; f < in; ++f) acc += x[i * in + f] * w[o * in + f];
      y[i * out + o] = acc;
    }
  return y;
}

void fc_backward(const Vec& x, const Vec& w, const Vec& dy, int64_t n, int64_t in, int64_t out, Vec* dx, Vec* dw,
                 Vec* db) {
  dx->assign(static_cast<size_t>(n * in), 0.0);
  dw->assign(static_cast<size_t>(out * in), 0.0);
  db->assign(static_cast<size_t>(out), 0.0);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t o = 0; o < out; ++o) {
      const double g = dy[i * out + o];
      (*db)[o] += g;
      for (int64_t f = 0; f < in; ++f) {
        (*dx)[i * in + f] += g * w[o * in + f];
        (*dw)[o * in + f] += g * x[i * in + f];
      }
    }
}

LossRef softmax_loss(const Vec& logits, const std::vector<int32_t>& labels, int64_t n, int64_t k) {
  LossRef r;
  r.dlogits.assign(logits.size(), 0.0);
  for (int64_t i = 0; i < n; ++i) {
    const double* z = logits.data() + i * k;
    const double zmax = *std::max_element(z, z + k);
    double sum = 0;
    for (int64_t j = 0; j < k; ++j) sum += std::exp(z[j] - zmax);
    const int32_t y = labels[static_cast<size_t>(i)];
    r.loss += -(z[y] - zmax - std::log(sum)) / static_cast<double>(n);
    int64_t better = 0;
    for (int64_t j = 0; j < k; ++j) better += z[j] > z[y];
    r.top1 += better < 1;
    r.top5 += better < 5;
    for (int64_t j = 0; j < k; ++j)
      r.dlogits[i * k + j] = (std::exp(z[j] - zmax) / sum - (j == y ? 1.0 : 0.0)) / static_cast<double>(n);
  }
  return r;
}

}  // namespace alexnet::ref

// Mean and RGB PCA statistics (see color_stats.h).
#include "io/color_stats.h"

#include <algorithm>
#include <cmath>
#include <utility>

namespace alexnet {

void ColorStats::add(const uint8_t* rgb, int64_t pixels) {
  int64_t s[3] = {0, 0, 0}, q[3][3] = {};
  for (int64_t i = 0; i < pixels; ++i) {
    const int64_t v[3] = {rgb[3 * i], rgb[3 * i + 1], rgb[3 * i + 2]};
    for (int a = 0; a < 3; ++a) {
      s[a] += v[a];
      for (int b = a; b < 3; ++b) q[a][b] += v[a] * v[b];
    }
  }
  n_ += pixels;
  for (int a = 0; a < 3; ++a) {
    sum_[a] += static_cast<double>(s[a]);
    for (int b = a; b < 3; ++b) sq_[a][b] += static_cast<double>(q[a][b]);
  }
}

void ColorStats::merge(const ColorStats& o) {
  n_ += o.n_;
  for (int a = 0; a < 3; ++a) {
    sum_[a] += o.sum_[a];
    for (int b = a; b < 3; ++b) sq_[a][b] += o.sq_[a][b];
  }
}

void symmetric_eigen3(const double in[3][3], double values[3], double vectors[9]) {
  double a[3][3], v[3][3] = {{1, 0, 0}, {0, 1, 0}, {0, 0, 1}};
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j) a[i][j] = in[i][j];
  for (int sweep = 0; sweep < 50; ++sweep) {
    const double off = std::fabs(a[0][1]) + std::fabs(a[0][2]) + std::fabs(a[1][2]);
    if (off < 1e-15 * (std::fabs(a[0][0]) + std::fabs(a[1][1]) + std::fabs(a[2][2]) + 1e-300)) break;
    for (int p = 0; p < 2; ++p)
      for (int q = p + 1; q < 3; ++q) {
        if (a[p][q] == 0) continue;
        const double theta = (a[q][q] - a[p][p]) / (2 * a[p][q]);
        const double t = (theta >= 0 ? 1 : -1) / (std::fabs(theta) + std::sqrt(theta * theta + 1));
        const double c = 1 / std::sqrt(t * t + 1), s = t * c;
        for (int k = 0; k < 3; ++k) {  // a = J^T a J
          const double akp = a[k][p], akq = a[k][q];
          a[k][p] = c * akp - s * akq;
          a[k][q] = s * akp + c * akq;
        }
        for (int k = 0; k < 3; ++k) {
          const double apk = a[p][k], aqk = a[q][k];
          a[p][k] = c * apk - s * aqk;
          a[q][k] = s * apk + c * aqk;
        }
        for (int k = 0; k < 3; ++k) {
          const double vkp = v[k][p], vkq = v[k][q];
          v[k][p] = c * vkp - s * vkq;
          v[k][q] = s * vkp + c * vkq;
        }
      }
  }
  int order[3] = {0, 1, 2};
  std::sort(order, order + 3, [&](int x, int y) { return a[x][x] > a[y][y]; });
  for (int k = 0; k < 3; ++k) {
    values[k] = a[order[k]][order[k]];
    for (int r = 0; r < 3; ++r) vectors[3 * r + k] = v[r][order[k]];
  }
}

void ColorStats::finish(std::array<float, 3>* mean, std::array<float, 3>* eigval, std::array<float, 9>* eigvec) const {
  const double n = std::max<double>(1.0, static_cast<double>(n_));
  double m[3], cov[3][3];
  for (int a = 0; a < 3; ++a) m[a] = sum_[a] / n;
  for (int a = 0; a < 3; ++a)
    for (int b = a; b < 3; ++b) cov[a][b] = cov[b][a] = sq_[a][b] / n - m[a] * m[b];
  double values[3], vectors[9];
  symmetric_eigen3(cov, values, vectors);
  for (int a = 0; a < 3; ++a) {
    (*mean)[a] = static_cast<float>(m[a]);
    (*eigval)[a] = static_cast<float>(std::max(0.0, values[a]));
  }
  for (int i = 0; i < 9; ++i) (*eigvec)[i] = static_cast<float>(vectors[i]);
}

}  // namespace alexnet

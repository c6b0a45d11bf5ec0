// Per-channel mean and the RGB covariance's eigen-decomposition over a set of images, for mean
// subtraction and the paper's PCA lighting. Accumulate from any number of threads (each its own
// ColorStats), merge, then finish.
#pragma once

#include <array>
#include <cstdint>

namespace alexnet {

class ColorStats {
 public:
  void add(const uint8_t* rgb, int64_t pixels);  // HWC pixels
  void merge(const ColorStats& o);
  int64_t pixels() const { return n_; }
  // mean (R, G, B), eigenvalues descending, eigvec[3 * channel + k] = component of eigenvector k.
  void finish(std::array<float, 3>* mean, std::array<float, 3>* eigval, std::array<float, 9>* eigvec) const;

 private:
  int64_t n_ = 0;
  double sum_[3] = {0, 0, 0};
  double sq_[3][3] = {};
};

// Eigen-decomposition of a symmetric 3x3 matrix (Jacobi rotations): values descending,
// vectors[3 * row + k] is row `row` of eigenvector k.
void symmetric_eigen3(const double a[3][3], double values[3], double vectors[9]);

}  // namespace alexnet

// The GPU self-test kernel (see layers/backend_info.h).
#include <cmath>
#include <vector>

#include "cuda/cudnn_check.h"
#include "layers/backend_info.h"

namespace alexnet {
namespace {

__global__ void axpy_kernel(int n, float a, const float* x, float* y) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) y[i] = a * x[i] + y[i];
}

}  // namespace

std::string cuda_selftest(int device) {
  constexpr int n = 4099;
  float *x = nullptr, *y = nullptr;
  std::string err;
  try {
    CUDA_CHECK(cudaSetDevice(device));
    std::vector<float> hx(n), hy(n);
    for (int i = 0; i < n; ++i) {
      hx[i] = 0.5f * static_cast<float>(i % 97);
      hy[i] = static_cast<float>(i % 13) - 6.f;
    }
    CUDA_CHECK(cudaMalloc(&x, n * sizeof(float)));
    CUDA_CHECK(cudaMalloc(&y, n * sizeof(float)));
    CUDA_CHECK(cudaMemcpy(x, hx.data(), n * sizeof(float), cudaMemcpyHostToDevice));
    CUDA_CHECK(cudaMemcpy(y, hy.data(), n * sizeof(float), cudaMemcpyHostToDevice));
    axpy_kernel<<<(n + 255) / 256, 256>>>(n, 3.f, x, y);
    CUDA_CHECK_LAUNCH();
    std::vector<float> out(n);
    CUDA_CHECK(cudaMemcpy(out.data(), y, n * sizeof(float), cudaMemcpyDeviceToHost));
    for (int i = 0; i < n; ++i) {
      if (out[i] != 3.f * hx[i] + hy[i]) {
        err = "axpy element " + std::to_string(i) + " is " + std::to_string(out[i]) + ", expected " +
              std::to_string(3.f * hx[i] + hy[i]);
        break;
      }
    }
  } catch (const std::exception& e) {
    err = e.what();
  }
  if (x) cudaFree(x);
  if (y) cudaFree(y);
  return err;
}

}  // namespace alexnet

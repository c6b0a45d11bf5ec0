// The cuDNN and cuBLAS versions this build runs with (see layers/backend_info.h).
#include <cublasLt.h>
#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#include <cudnn.h>

#include "layers/backend_info.h"

namespace alexnet {

namespace {
std::string dotted(long v, long major_div, long minor_div) {
  return std::to_string(v / major_div) + "." + std::to_string((v % major_div) / minor_div) + "." +
         std::to_string(v % minor_div);
}
}  // namespace

std::string cudnn_version() {
  // cuDNN 9 encodes major*10000 + minor*100 + patch.
  return "cuDNN " + dotted(static_cast<long>(cudnnGetVersion()), 10000, 100);
}

std::string cublas_version() {
  int major = 0, minor = 0, patch = 0;
  cublasGetProperty(MAJOR_VERSION, &major);
  cublasGetProperty(MINOR_VERSION, &minor);
  cublasGetProperty(PATCH_LEVEL, &patch);
  return "cuBLAS " + std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(patch);
}

std::vector<LibraryVersion> gpu_library_versions() {
  int runtime = 0, driver = 0;
  if (cudaRuntimeGetVersion(&runtime) != cudaSuccess) runtime = 0;
  if (cudaDriverGetVersion(&driver) != cudaSuccess) driver = 0;  // 0 as well without a driver
  cudaGetLastError();
  return {{"CUDA runtime", CUDART_VERSION, runtime, true},
          {"CUDA driver", CUDART_VERSION, driver, true},
          {"cuDNN", CUDNN_VERSION, static_cast<int>(cudnnGetVersion()), false},
          {"cuBLAS", CUBLAS_VERSION, static_cast<int>(cublasLtGetVersion()), false}};
}

}  // namespace alexnet

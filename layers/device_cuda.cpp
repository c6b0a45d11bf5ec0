// The CUDA side of device discovery: GPUs and library versions. Compiled in every build; without
// CUDA it reports that the build has no GPU backend.
#include "device.h"

#ifdef ALEXNET_HAVE_CUDA
#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#include <cudnn.h>

#include "cuda_check.h"
#include "cuda_context.h"
#endif

namespace alexnet {

#ifdef ALEXNET_HAVE_CUDA

bool cuda_built() { return true; }

void synchronize(const Device& d) {
  if (d.is_cuda()) CUDA_CHECK(cudaStreamSynchronize(gpu::context(d).stream()));
}

std::vector<GpuInfo> list_gpus(std::string* why_none) {
  std::vector<GpuInfo> gpus;
  int count = 0;
  cudaError_t err = cudaGetDeviceCount(&count);
  if (err != cudaSuccess) {
    if (why_none) *why_none = std::string("cudaGetDeviceCount: ") + cudaGetErrorString(err);
    cudaGetLastError();  // clear the sticky-free error so later calls are not confused
    return gpus;
  }
  for (int i = 0; i < count; ++i) {
    cudaDeviceProp prop{};
    if (cudaGetDeviceProperties(&prop, i) != cudaSuccess) continue;
    gpus.push_back({i, prop.name, prop.totalGlobalMem, prop.major, prop.minor});
  }
  if (gpus.empty() && why_none) *why_none = "the CUDA driver reports no GPU";
  return gpus;
}

static std::string dotted(long v, long major_div, long minor_div) {
  return std::to_string(v / major_div) + "." + std::to_string((v % major_div) / minor_div) + "." +
         std::to_string(v % minor_div);
}

std::string cuda_runtime_version() {
  int v = 0;
  cudaRuntimeGetVersion(&v);
  return "CUDA runtime " + std::to_string(v / 1000) + "." + std::to_string((v % 1000) / 10);
}

std::string cudnn_version() {
  // cuDNN 9 encodes major*10000 + minor*100 + patch.
  return "cuDNN " + dotted(static_cast<long>(cudnnGetVersion()), 10000, 100);
}

std::string cublas_version() {
  int major = 0, minor = 0, patch = 0;
  cublasGetProperty(MAJOR_VERSION, &major);
  cublasGetProperty(MINOR_VERSION, &minor);
  cublasGetProperty(PATCH_LEVEL, &patch);
  return "cuBLAS " + std::to_string(major) + "." + std::to_string(minor) + "." +
         std::to_string(patch);
}

#else

bool cuda_built() { return false; }

void synchronize(const Device&) {}

std::vector<GpuInfo> list_gpus(std::string* why_none) {
  if (why_none) *why_none = "this build has no CUDA backend (configured with ALEXNET_CUDA=OFF or without the toolkit)";
  return {};
}

std::string cuda_runtime_version() { return ""; }
std::string cudnn_version() { return ""; }
std::string cublas_version() { return ""; }

#endif

}  // namespace alexnet

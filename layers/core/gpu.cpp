// The CUDA runtime side of the core (see gpu.h and device.h): the GPUs found, one stream per
// GPU, events. Compiled in CUDA builds; core/gpu_none.cpp stands in otherwise.
#include "core/gpu.h"

#include <map>
#include <mutex>

namespace alexnet {

bool cuda_built() { return true; }

void synchronize(const Device& d) {
  if (d.is_cuda()) CUDA_CHECK(cudaStreamSynchronize(gpu::stream(d)));
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

std::string cuda_runtime_version() {
  int v = 0;
  cudaRuntimeGetVersion(&v);
  return "CUDA runtime " + std::to_string(v / 1000) + "." + std::to_string((v % 1000) / 10);
}

namespace gpu {

cudaStream_t stream(const Device& d) {
  ALEXNET_CHECK(d.is_cuda(), "a GPU stream was asked for " << d.str());
  static std::mutex mu;
  // Never destroyed: the CUDA driver may be gone by the time static destructors run.
  static auto* streams = new std::map<int, cudaStream_t>();
  std::lock_guard<std::mutex> lock(mu);
  auto it = streams->find(d.index);
  if (it == streams->end()) {
    int count = 0;
    CUDA_CHECK(cudaGetDeviceCount(&count));
    ALEXNET_CHECK(d.index >= 0 && d.index < count,
                  "no " << d.str() << ": this process sees " << count << " GPU" << (count == 1 ? "" : "s"));
    CUDA_CHECK(cudaSetDevice(d.index));
    cudaStream_t s = nullptr;
    CUDA_CHECK(cudaStreamCreate(&s));
    it = streams->emplace(d.index, s).first;
  }
  CUDA_CHECK(cudaSetDevice(d.index));
  return it->second;
}

void activate(const Device& d) { CUDA_CHECK(cudaSetDevice(d.index)); }

Event::Event() { CUDA_CHECK(cudaEventCreate(&e_)); }
Event::~Event() { cudaEventDestroy(e_); }  // errors ignored: destructors never throw

Elem elem_of(DType d) {
  ALEXNET_CHECK(d == DType::f32 || d == DType::bf16, "no GPU kernels for " << dtype_name(d) << " activations");
  return d == DType::bf16 ? Elem::bf16 : Elem::f32;
}

}  // namespace gpu
}  // namespace alexnet

// Per-GPU contexts of the layer backends (see context.h).
#include "cuda/context.h"

#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "cuda/cudnn_check.h"

namespace alexnet::gpu {

Context::Context(int device) : device_(device), stream_(gpu::stream(Device::cuda(device))) {
  CUDNN_CHECK(cudnnCreate(&cudnn_));
  CUDNN_CHECK(cudnnSetStream(cudnn_, stream_));
  CUBLAS_CHECK(cublasLtCreate(&lt_));
}

void Context::activate() const { CUDA_CHECK(cudaSetDevice(device_)); }

void Context::reserve(std::size_t bytes) {
  if (bytes <= ws_bytes_) return;
  activate();
  CUDA_CHECK(cudaDeviceSynchronize());  // nothing may still use the old workspace
  if (ws_) CUDA_CHECK(cudaFree(ws_));
  ws_ = nullptr;
  ws_bytes_ = 0;
  const std::size_t rounded = (bytes + (1u << 20) - 1) / (1u << 20) * (1u << 20);
  CUDA_CHECK(cudaMalloc(&ws_, rounded));
  ws_bytes_ = rounded;
}

Context& context(const Device& d) {
  ALEXNET_CHECK(d.is_cuda(), "a GPU context was asked for " << d.str());
  static std::mutex mu;
  // Never destroyed: the CUDA driver may be gone by the time static destructors run.
  static auto* contexts = new std::map<int, std::unique_ptr<Context>>();
  std::lock_guard<std::mutex> lock(mu);
  auto it = contexts->find(d.index);
  if (it == contexts->end()) {
    stream(d);  // checks that the GPU exists
    it = contexts->emplace(d.index, std::make_unique<Context>(d.index)).first;
  }
  it->second->activate();
  return *it->second;
}

std::size_t workspace_limit() {
  static const std::size_t limit = [] {
    const char* env = std::getenv("ALEXNET_GPU_WORKSPACE_MB");
    const long mb = env ? std::atol(env) : 256;
    return static_cast<std::size_t>(mb > 0 ? mb : 256) << 20;
  }();
  return limit;
}

std::size_t runtime_compiled_limit() {
  static const std::size_t limit = [] {
    const char* env = std::getenv("ALEXNET_CUDNN_RUNTIME_COMPILED");
    const long n = env ? std::atol(env) : 1;
    return static_cast<std::size_t>(n >= 0 ? n : 1);
  }();
  return limit;
}

}  // namespace alexnet::gpu

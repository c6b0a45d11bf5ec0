// The GPU side of the core in a build without CUDA (see device.h): no GPU, nothing to wait for.
#include "core/device.h"

namespace alexnet {

bool cuda_built() { return false; }

void synchronize(const Device&) {}

std::vector<GpuInfo> list_gpus(std::string* why_none) {
  if (why_none) *why_none = "this build has no CUDA backend (configured with ALEXNET_CUDA=OFF or without the toolkit)";
  return {};
}

std::string cuda_runtime_version() { return ""; }

}  // namespace alexnet

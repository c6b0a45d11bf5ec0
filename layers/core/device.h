// Where a tensor lives and which backend runs a layer: the CPU (oneDNN) or CUDA GPU n (cuDNN,
// cuBLAS). Also the GPUs this process sees, through the CUDA runtime (core/gpu.cpp; without CUDA
// core/gpu_none.cpp reports that there are none). The backends' libraries: layers/backend_info.h.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace alexnet {

enum class DeviceKind { cpu, cuda };

struct Device {
  DeviceKind kind = DeviceKind::cpu;
  int index = 0;  // CUDA device ordinal; 0 for the CPU

  static Device cpu() { return {DeviceKind::cpu, 0}; }
  static Device cuda(int index) { return {DeviceKind::cuda, index}; }
  bool is_cpu() const { return kind == DeviceKind::cpu; }
  bool is_cuda() const { return kind == DeviceKind::cuda; }
  bool operator==(const Device&) const = default;
  std::string str() const;  // "cpu", "cuda:1"
};

// Parses "cpu", "cuda", "cuda:N", "gpu:N"; throws Error naming the text otherwise.
Device parse_device(const std::string& text);

struct GpuInfo {
  int index = 0;
  std::string name;
  std::size_t memory_bytes = 0;
  int cc_major = 0, cc_minor = 0;
};

// True when this build contains the CUDA backend (whether or not a GPU is present).
bool cuda_built();

// The GPUs this process can use. Never throws: with no driver, no device or a CPU-only build it
// returns an empty list and sets *why_none (when given) to the reason.
std::vector<GpuInfo> list_gpus(std::string* why_none = nullptr);

// Blocks until every layer queued on GPU d has run (nothing to wait for on the CPU).
void synchronize(const Device& d);

// "CUDA runtime 13.0" ("" when not built with CUDA).
std::string cuda_runtime_version();

}  // namespace alexnet

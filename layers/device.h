// Where a tensor lives and which backend runs a layer: the CPU (oneDNN) or CUDA GPU n (cuDNN,
// cuBLAS). Also what the machine has: the GPUs found and the library versions in use.
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

// Library versions of the GPU stack ("" when not built with CUDA): "cuDNN 9.19.0" etc.
std::string cuda_runtime_version();
std::string cudnn_version();
std::string cublas_version();

// oneDNN's version and the CPU instruction set it dispatches to ("avx512_core_bf16", ...).
std::string dnnl_version();
std::string dnnl_cpu_isa();
// Whether oneDNN dispatches to AVX-512 (avx512_core or newer): its blocked nChw16c kernels and
// Winograd convolutions exist only there; on AVX2 they fall to reference code (100x slower).
bool cpu_has_avx512();

// Threads the CPU backend uses (OpenMP); set_cpu_threads(0) keeps the default.
int cpu_threads();
void set_cpu_threads(int n);

}  // namespace alexnet

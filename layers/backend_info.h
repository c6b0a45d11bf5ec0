// What the layer backends run on: oneDNN's version and the instruction set it dispatches to, the
// CPU threads, the cuDNN and cuBLAS versions, and a self-test kernel per GPU. Implemented by
// layers/cpu/cpu_info.cpp and layers/cuda/cuda_info.cpp (layers/cuda/none.cpp without CUDA).
#pragma once

#include <string>
#include <vector>

namespace alexnet {

// oneDNN's version and the CPU instruction set it dispatches to ("avx512_core_bf16", ...).
std::string dnnl_version();
std::string dnnl_cpu_isa();
// Whether oneDNN dispatches to AVX-512 (avx512_core or newer): its blocked nChw16c kernels and
// Winograd convolutions exist only there; on AVX2 they fall to reference code (100x slower).
bool cpu_has_avx512();
// Whether oneDNN runs bf16 convolutions, matrix products, LRN and pooling natively here
// (avx512_core_bf16 or avx512_core_amx); cpu_bf16_missing() says why not ("" when it does).
bool cpu_has_bf16();
std::string cpu_bf16_missing();

// Threads the CPU backend uses (OpenMP); set_cpu_threads(0) keeps the default.
int cpu_threads();
void set_cpu_threads(int n);

// "cuDNN 9.19.0", "cuBLAS 13.0.0" ("" without CUDA).
std::string cudnn_version();
std::string cublas_version();

// A GPU library: the version this build was compiled against and the one found at run time, as
// numbers (CUDA: major * 1000 + minor * 10; the others: major * 10000 + minor * 100 + patch);
// running 0 when the library, or the driver, is not there.
struct LibraryVersion {
  std::string name;  // "CUDA runtime", "CUDA driver", "cuDNN", "cuBLAS", "NCCL"
  int compiled = 0, running = 0;
  bool cuda_style = false;             // the CUDA encoding
  std::string str(int version) const;  // "13.0" or "9.19.0"; "none" for 0
};
// CUDA runtime, the driver (the CUDA version it supports, against the runtime compiled in), cuDNN,
// cuBLAS; empty without CUDA. NCCL's is parallel/comm.h's nccl_library_version().
std::vector<LibraryVersion> gpu_library_versions();
// One warning per library found older at run time than at compile time (or a driver whose CUDA is
// older than the runtime's): the combinations that fail in odd ways, or not at all but slowly.
std::vector<std::string> version_warnings(const std::vector<LibraryVersion>& libraries);

// A tiny kernel run on GPU `device` to prove that the code compiled into this build runs there
// (the architectures match, the driver is new enough): y = a * x + y over a few thousand
// elements, checked on the host. Empty string on success, otherwise what went wrong; throws
// nothing. Without CUDA: a message.
std::string cuda_selftest(int device);

}  // namespace alexnet

// What the layer backends run on: oneDNN's version and the instruction set it dispatches to, the
// CPU threads, the cuDNN and cuBLAS versions, and a self-test kernel per GPU. Implemented by
// layers/cpu/cpu_info.cpp and layers/cuda/cuda_info.cpp (layers/cuda/none.cpp without CUDA).
#pragma once

#include <string>

namespace alexnet {

// oneDNN's version and the CPU instruction set it dispatches to ("avx512_core_bf16", ...).
std::string dnnl_version();
std::string dnnl_cpu_isa();
// Whether oneDNN dispatches to AVX-512 (avx512_core or newer): its blocked nChw16c kernels and
// Winograd convolutions exist only there; on AVX2 they fall to reference code (100x slower).
bool cpu_has_avx512();

// Threads the CPU backend uses (OpenMP); set_cpu_threads(0) keeps the default.
int cpu_threads();
void set_cpu_threads(int n);

// "cuDNN 9.19.0", "cuBLAS 13.0.0" ("" without CUDA).
std::string cudnn_version();
std::string cublas_version();

// A tiny kernel run on GPU `device` to prove that the code compiled into this build runs there
// (the architectures match, the driver is new enough): y = a * x + y over a few thousand
// elements, checked on the host. Empty string on success, otherwise what went wrong; throws
// nothing. Without CUDA: a message.
std::string cuda_selftest(int device);

}  // namespace alexnet

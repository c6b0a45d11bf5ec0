// What the CPU backend runs on: oneDNN's version and instruction set, OpenMP's threads (see
// layers/backend_info.h).
#include <omp.h>

#include <oneapi/dnnl/dnnl.hpp>

#include "core/error.h"
#include "layers/backend_info.h"

namespace alexnet {

std::string dnnl_version() {
  const dnnl_version_t* v = ::dnnl_version();
  return "oneDNN " + std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch);
}

std::string dnnl_cpu_isa() {
  using isa = dnnl::cpu_isa;
  switch (dnnl::get_effective_cpu_isa()) {
    case isa::sse41:
      return "sse41";
    case isa::avx:
      return "avx";
    case isa::avx2:
      return "avx2";
    case isa::avx512_mic:
      return "avx512_mic";
    case isa::avx512_mic_4ops:
      return "avx512_mic_4ops";
    case isa::avx512_core:
      return "avx512_core";
    case isa::avx512_core_vnni:
      return "avx512_core_vnni";
    case isa::avx512_core_bf16:
      return "avx512_core_bf16";
    case isa::avx512_core_amx:
      return "avx512_core_amx";
    case isa::avx2_vnni:
      return "avx2_vnni";
    default:
      return "generic";
  }
}

bool cpu_has_avx512() {
  using isa = dnnl::cpu_isa;
  switch (dnnl::get_effective_cpu_isa()) {
    case isa::avx512_core:
    case isa::avx512_core_vnni:
    case isa::avx512_core_bf16:
    case isa::avx512_core_amx:
      return true;
    default:
      return false;
  }
}

bool cpu_has_bf16() {
  using isa = dnnl::cpu_isa;
  const isa i = dnnl::get_effective_cpu_isa();
  return i == isa::avx512_core_bf16 || i == isa::avx512_core_amx;
}

std::string cpu_bf16_missing() {
  if (cpu_has_bf16()) return "";
  return "bf16 on the CPU needs bf16 instructions (oneDNN's avx512_core_bf16 or avx512_core_amx), but " +
         dnnl_version() + " dispatches to " + dnnl_cpu_isa() + " here";
}

int cpu_threads() { return omp_get_max_threads(); }

void set_cpu_threads(int n) {
  ALEXNET_CHECK(n >= 0, "thread count must be >= 0, got " << n);
  if (n > 0) omp_set_num_threads(n);
}

}  // namespace alexnet

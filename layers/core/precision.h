// Numeric precision of the layers: fp32 (IEEE single everywhere), tf32 (GPUs: fp32 storage, tensor
// cores multiply in TF32 inside convolutions and matrix products), bf16 (bf16 activations and
// gradients, fp32 master weights, weight gradients and update; on the CPU where oneDNN has bf16
// instructions: avx512_core_bf16 or avx512_core_amx).
#pragma once

#include <string>

namespace alexnet {

enum class Precision { fp32, tf32, bf16 };

Precision parse_precision(const std::string& text);  // "fp32", "tf32", "bf16"; throws Error otherwise
const char* precision_name(Precision p);

}  // namespace alexnet

// Numeric precision of the GPU layers: fp32 (IEEE single everywhere), tf32 (fp32 storage, tensor
// cores multiply in TF32 inside convolutions and matrix products), bf16 (bf16 activations and
// gradients, fp32 master weights and update). The CPU backend computes in fp32 only.
#pragma once

#include <string>

namespace alexnet {

enum class Precision { fp32, tf32, bf16 };

Precision parse_precision(const std::string& text);  // "fp32", "tf32", "bf16"; throws Error otherwise
const char* precision_name(Precision p);

}  // namespace alexnet

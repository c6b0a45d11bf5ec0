// Counter-based random numbers: a hash of (seed, index) instead of a stateful generator, so the
// same numbers come out on every backend, platform and thread count, and any position can be
// reproduced (resume) without replaying the stream.
#pragma once

#include <cmath>
#include <cstdint>
#include <numbers>

#include "core/hash.h"

namespace alexnet {

// Uniform in [0, 1) with 53 random bits.
inline double hashed_uniform(uint64_t seed, uint64_t index) {
  return static_cast<double>(mix64(seed ^ mix64(index)) >> 11) * 0x1.0p-53;
}

// Standard normal (Box-Muller on two hashed uniforms).
inline double hashed_normal(uint64_t seed, uint64_t index) {
  const double u1 = 1.0 - hashed_uniform(seed, 2 * index);  // (0, 1]
  const double u2 = hashed_uniform(seed, 2 * index + 1);
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
}

}  // namespace alexnet

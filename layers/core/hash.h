// The counter hash behind every random number (random.h) and the dropout mask (dropout.h), in a
// header that both the C++20 sources and the CUDA kernels (C++17, device code) include, so every
// backend draws exactly the same numbers.
#pragma once

#include <cstdint>

#ifdef __CUDACC__
#define ALEXNET_HD __host__ __device__
#else
#define ALEXNET_HD
#endif

namespace alexnet {

// SplitMix64's finaliser: a good 64-bit mix of a counter.
ALEXNET_HD constexpr uint64_t mix64(uint64_t z) {
  z += 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// Dropout: the per-call base of the hash, and whether element i is kept: P(keep) = threshold / 2^24.
ALEXNET_HD constexpr uint64_t dropout_base(uint64_t seed, uint64_t counter) {
  return mix64(seed ^ mix64(counter + 0x632be59bd9b4e019ULL));
}
ALEXNET_HD constexpr bool dropout_keep(uint64_t base, uint64_t i, uint32_t threshold) {
  return (mix64(base + i) >> 40) < threshold;
}

}  // namespace alexnet

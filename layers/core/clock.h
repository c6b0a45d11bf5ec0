// The monotonic clock in seconds, for every timing in the project (std::chrono::steady_clock).
#pragma once

#include <chrono>

namespace alexnet {

inline double now_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace alexnet

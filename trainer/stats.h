// Timing: a monotonic clock in seconds, and summaries (mean, standard deviation, median, min, max).
#pragma once

#include <cstddef>
#include <vector>

namespace alexnet {

struct Summary {
  std::size_t n = 0;
  double mean = 0, sd = 0, median = 0, min = 0, max = 0;
};

Summary summarize(std::vector<double> v);

// Seconds on the monotonic clock (std::chrono::steady_clock).
double now_seconds();

}  // namespace alexnet

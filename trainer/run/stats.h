// Timing summaries (mean, standard deviation, median, min, max); the clock is layers/clock.h.
#pragma once

#include <cstddef>
#include <vector>

#include "core/clock.h"

namespace alexnet {

struct Summary {
  std::size_t n = 0;
  double mean = 0, sd = 0, median = 0, min = 0, max = 0;
};

Summary summarize(std::vector<double> v);


}  // namespace alexnet

// Summaries of timings: mean, standard deviation, median, min and max.
#pragma once

#include <cstddef>
#include <vector>

namespace alexnet {

struct Summary {
  std::size_t n = 0;
  double mean = 0, sd = 0, median = 0, min = 0, max = 0;
};

Summary summarize(std::vector<double> v);

}  // namespace alexnet

// Timing summaries (mean, standard deviation, median, min, max; the clock is core/clock.h), and the
// table of per-rank numbers that rank 0 prints: min, median and max over the ranks of each row.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "core/clock.h"
#include "parallel/cluster.h"

namespace alexnet {

struct Summary {
  std::size_t n = 0;
  double mean = 0, sd = 0, median = 0, min = 0, max = 0;
};

Summary summarize(std::vector<double> v);

// Rank 0 prints min / median / max over ranks of the per-rank values of each row, and the slowest
// rank (collective). values: this rank's numbers, one per row; unit_scale multiplies them for
// printing.
void print_across_ranks(const Cluster& c, const std::string& title, const std::vector<std::string>& rows,
                        const std::vector<double>& values, double unit_scale, const char* unit);

}  // namespace alexnet

// Timing summaries (see stats.h).
#include "run/stats.h"

#include <algorithm>
#include <cmath>

namespace alexnet {

Summary summarize(std::vector<double> v) {
  Summary s;
  s.n = v.size();
  if (v.empty()) return s;
  double sum = 0;
  for (double x : v) sum += x;
  s.mean = sum / static_cast<double>(s.n);
  double sq = 0;
  for (double x : v) sq += (x - s.mean) * (x - s.mean);
  s.sd = s.n > 1 ? std::sqrt(sq / static_cast<double>(s.n)) : 0.0;  // as the seed: population sd
  std::sort(v.begin(), v.end());
  s.median = s.n % 2 ? v[s.n / 2] : 0.5 * (v[s.n / 2 - 1] + v[s.n / 2]);
  s.min = v.front();
  s.max = v.back();
  return s;
}

}  // namespace alexnet

// Timing summaries (see stats.h).
#include "run/stats.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

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

void print_across_ranks(const Cluster& c, const std::string& title, const std::vector<std::string>& rows,
                        const std::vector<double>& values, double unit_scale, const char* unit) {
  const std::vector<double> all = gather_to_root(c, values);
  if (!c.root()) return;
  std::printf("%s\n%-22s %10s %10s %10s  %s\n", title.c_str(), "", "min", "median", "max", "slowest rank");
  for (size_t k = 0; k < rows.size(); ++k) {
    std::vector<double> v;
    int slowest = 0;
    for (int r = 0; r < c.size; ++r) {
      v.push_back(all[static_cast<size_t>(r) * rows.size() + k]);
      if (v.back() > v[static_cast<size_t>(slowest)]) slowest = r;
    }
    const Summary s = summarize(v);
    std::printf("%-22s %10.2f %10.2f %10.2f  %d  (%s)\n", rows[k].c_str(), s.min * unit_scale, s.median * unit_scale,
                s.max * unit_scale, slowest, unit);
  }
}

}  // namespace alexnet

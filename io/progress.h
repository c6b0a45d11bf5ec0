// A progress line on stderr for long imports: count, rate, ETA; redrawn in place on a terminal,
// one line per 10% otherwise (logs stay short).
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <string>

#include "core/clock.h"

namespace alexnet {

class Progress {
 public:
  Progress(std::string what, int64_t total)
      : what_(std::move(what)), total_(total), t0_(now_seconds()), tty_(isatty(2)) {}
  void update(int64_t done, bool last = false) {
    const double t = now_seconds();
    const int decile = total_ ? static_cast<int>(10 * done / total_) : 10;
    if (!last && (tty_ ? t - shown_ < 0.25 : decile == decile_)) return;
    shown_ = t;
    decile_ = decile;
    const double rate = done / std::max(1e-9, t - t0_);
    const double eta = rate > 0 ? (total_ - done) / rate : 0;
    const int width = 30, fill = total_ ? static_cast<int>(width * done / total_) : width;
    std::fprintf(stderr, "%s%s [%s%s] %lld/%lld %3.0f%% %.0f img/s ETA %d:%02d%s", tty_ ? "\r" : "", what_.c_str(),
                 std::string(static_cast<size_t>(fill), '=').c_str(),
                 std::string(static_cast<size_t>(width - fill), ' ').c_str(), static_cast<long long>(done),
                 static_cast<long long>(total_), total_ ? 100.0 * done / total_ : 100.0, rate,
                 static_cast<int>(eta) / 60, static_cast<int>(eta) % 60, tty_ && !last ? "" : "\n");
  }

 private:
  std::string what_;
  int64_t total_;
  double t0_, shown_ = 0;
  bool tty_;
  int decile_ = -1;
};

}  // namespace alexnet

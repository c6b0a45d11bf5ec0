// Per-layer step timing (see step_timer.h).
#include "model/step_timer.h"

#include <algorithm>
#include <cmath>

#include "core/clock.h"
#include "core/error.h"
#include "model/gpu_timer.h"

namespace alexnet {

class StepTimer::TowerProbe final : public LayerProbe {
 public:
  TowerProbe(StepTimer& timer, int tower) : timer_(timer), tower_(tower) {}
  int row(const std::string& name) override { return timer_.row(name); }
  int begin(int row, bool backward, const Device&) override { return timer_.begin(tower_, row, backward); }
  void end(int token) noexcept override { timer_.end(token); }

 private:
  StepTimer& timer_;
  int tower_;
};

StepTimer::StepTimer(std::vector<std::string> rows, std::array<Device, 2> towers)
    : rows_(std::move(rows)), dev_(towers), fwd_s_(rows_.size(), 0.0), bwd_s_(rows_.size(), 0.0) {
  for (size_t i = 0; i < rows_.size(); ++i) row_of_[rows_[i]] = static_cast<int>(i);
  for (int t = 0; t < 2; ++t) probes_[static_cast<size_t>(t)] = std::make_unique<TowerProbe>(*this, t);
  if (dev_[0].is_cuda()) gpu_ = std::make_unique<GpuTimer>();
}

StepTimer::~StepTimer() = default;

LayerProbe* StepTimer::probe(int tower) { return probes_.at(static_cast<size_t>(tower)).get(); }

ProbeScope StepTimer::scope(const std::string& row, bool backward, int tower) {
  return ProbeScope(probe(tower), on_ ? this->row(row) : -1, backward, dev_.at(static_cast<size_t>(tower)));
}

int StepTimer::row(const std::string& name) const {
  const auto it = row_of_.find(name);
  ALEXNET_CHECK(it != row_of_.end(), "step timer: no row '" << name << "'");
  return it->second;
}

int StepTimer::begin(int tower, int row, bool backward) {
  if (!on_ || row < 0) return -1;
  Open o{row, tower, backward};
  if (gpu_)
    o.gpu_span = gpu_->begin(dev_[static_cast<size_t>(tower)]);
  else
    o.t0 = now_seconds();
  open_.push_back(o);
  return static_cast<int>(open_.size() - 1);
}

void StepTimer::end(int token) noexcept {
  if (token < 0 || token >= static_cast<int>(open_.size())) return;
  const Open o = open_[static_cast<size_t>(token)];
  open_.resize(static_cast<size_t>(token));  // spans nest: this one and any left open inside it
  if (o.gpu_span < 0) {
    const double t1 = now_seconds();
    (o.backward ? bwd_s_ : fwd_s_)[static_cast<size_t>(o.row)] += t1 - o.t0;
    if (trace_ && trace_->recording()) trace_span(o.row, o.tower, o.backward, o.t0, t1);
    return;
  }
  try {
    gpu_->end(o.gpu_span);
    spans_.push_back({o.row, o.tower, o.backward});
  } catch (...) {
    // A failing event record must not throw from a destructor; the layer's own error surfaces.
  }
}

void StepTimer::trace_span(int row, int tower, bool backward, double t0, double t1) const {
  TraceEvent e;
  e.track = kTrackTower0 + tower;
  e.name = rows_[static_cast<size_t>(row)] + (backward ? " backward" : " forward");
  e.category = "layer";
  e.t0 = t0, e.t1 = t1;
  e.text_args = {{"row", rows_[static_cast<size_t>(row)]}, {"direction", backward ? "backward" : "forward"}};
  trace_->add(std::move(e));
}

void StepTimer::anchor() {
  if (!gpu_) return;
  gpu_->anchor(dev_[0]);
  if (dev_[1] != dev_[0]) gpu_->anchor(dev_[1]);
}

void StepTimer::collect() const {
  if (!gpu_ || spans_.empty()) return;
  std::vector<double> starts;
  const bool tracing = trace_ && trace_->recording();
  const std::vector<double> secs = gpu_->collect(tracing ? &starts : nullptr);
  for (size_t i = 0; tracing && i < spans_.size() && i < secs.size() && i < starts.size(); ++i)
    if (std::isfinite(starts[i]))
      trace_span(spans_[i].row, spans_[i].tower, spans_[i].backward, starts[i], starts[i] + secs[i]);
  const size_t rows = rows_.size();
  std::vector<double> per(rows * 2 * 2, 0.0);  // (row, direction, tower)
  for (size_t i = 0; i < spans_.size() && i < secs.size(); ++i) {
    const Span& sp = spans_[i];
    per[(static_cast<size_t>(sp.row) * 2 + sp.backward) * 2 + static_cast<size_t>(sp.tower)] += secs[i];
  }
  const bool side_by_side = dev_[0] != dev_[1];
  for (size_t r = 0; r < rows; ++r)
    for (size_t b = 0; b < 2; ++b) {
      const double t0 = per[(r * 2 + b) * 2], t1 = per[(r * 2 + b) * 2 + 1];
      (b ? bwd_s_ : fwd_s_)[r] += side_by_side ? std::max(t0, t1) : t0 + t1;
    }
  spans_.clear();
}

const std::vector<double>& StepTimer::forward_seconds() const {
  collect();
  return fwd_s_;
}

const std::vector<double>& StepTimer::backward_seconds() const {
  collect();
  return bwd_s_;
}

void StepTimer::clear() {
  std::fill(fwd_s_.begin(), fwd_s_.end(), 0.0);
  std::fill(bwd_s_.begin(), bwd_s_.end(), 0.0);
  if (gpu_) gpu_->clear();
  spans_.clear();
  open_.clear();
}

}  // namespace alexnet

// Tower exchange with both towers in host memory (see exchange.h).
#include "model/exchange.h"

#include <cstring>

#include "core/error.h"

namespace alexnet {

ExchangeGeometry exchange_geometry(const Tensor& gathered) {
  const Shape& s = gathered.shape;
  ALEXNET_CHECK(s.rank() >= 2 && s.numel() % 2 == 0, "cannot split " << gathered.str() << " into two halves");
  if (s.rank() == 4 && gathered.layout == Layout::nhwc) {
    ALEXNET_CHECK(s.c() % 2 == 0, "odd channel count in " << gathered.str());
    return {s.n() * s.h() * s.w(), s.c() / 2};
  }
  return {s.n(), s.numel() / s.n() / 2};
}

namespace {

void check_halves(const ExchangeGeometry& g, const TowerPair& halves, const char* what) {
  for (const auto& h : halves)
    ALEXNET_CHECK(h.numel() == g.outer * g.inner && h.device.is_cpu(),
                  "tower exchange: " << what << " " << h.str() << " is not a half of " << g.outer << " x "
                                     << 2 * g.inner << " on the CPU");
}

class HostExchange final : public TowerExchange {
 public:
  void gather(const TowerPair& in, const TowerPair& out) override {
    const auto g = exchange_geometry(out[0]);
    check_halves(g, in, "input");
    const int copies = out[0].data == out[1].data ? 1 : 2;
    const int64_t rows = g.outer, inner = g.inner;
    const size_t bytes = static_cast<size_t>(inner) * sizeof(float);
#pragma omp parallel for schedule(static) collapse(2)
    for (int c = 0; c < copies; ++c)
      for (int64_t r = 0; r < rows; ++r) {
        float* dst = out[c].f32() + r * 2 * inner;
        std::memcpy(dst, in[0].f32() + r * inner, bytes);
        std::memcpy(dst + inner, in[1].f32() + r * inner, bytes);
      }
  }

  void reduce_scatter(const TowerPair& gout, const TowerPair& gin) override {
    const auto g = exchange_geometry(gout[0]);
    check_halves(g, gin, "gradient");
    const int64_t rows = g.outer, inner = g.inner;
    const float* a = gout[0].f32();
    const float* b = gout[1].f32();
    float* d0 = gin[0].f32();
    float* d1 = gin[1].f32();
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < rows; ++r) {
      const float* ar = a + r * 2 * inner;
      const float* br = b + r * 2 * inner;
      float* o0 = d0 + r * inner;
      float* o1 = d1 + r * inner;
#pragma omp simd
      for (int64_t i = 0; i < inner; ++i) {
        o0[i] = ar[i] + br[i];
        o1[i] = ar[inner + i] + br[inner + i];
      }
    }
  }

  void split(const Tensor& grad, const TowerPair& gin) override {
    const auto g = exchange_geometry(grad);
    check_halves(g, gin, "gradient");
    const size_t bytes = static_cast<size_t>(g.inner) * sizeof(float);
    for (int64_t r = 0; r < g.outer; ++r)
      for (int t = 0; t < 2; ++t) std::memcpy(gin[t].f32() + r * g.inner, grad.f32() + (2 * r + t) * g.inner, bytes);
  }

  bool shared() const override { return true; }
};

}  // namespace

std::unique_ptr<TowerExchange> make_host_exchange() { return std::make_unique<HostExchange>(); }

}  // namespace alexnet

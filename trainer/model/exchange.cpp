// Tower exchange with both towers in host memory (see exchange.h).
#include "model/exchange.h"

#include <cstring>
#include <type_traits>

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

void check_halves(const ExchangeGeometry& g, const TowerPair& halves, const char* what, DType dtype) {
  for (const auto& h : halves)
    ALEXNET_CHECK(h.numel() == g.outer * g.inner && h.device.is_cpu() && h.dtype == dtype &&
                      (dtype == DType::f32 || dtype == DType::bf16),
                  "tower exchange: " << what << " " << h.str() << " is not a half of " << g.outer << " x "
                                     << 2 * g.inner << " on the CPU");
}

// The two towers' gradients of one gathered tensor summed, each tower's half to its own output:
// fp32, or bf16 summed in fp32 and rounded once.
template <class T>
void sum_halves(const ExchangeGeometry& g, const TowerPair& gout, const TowerPair& gin) {
  const int64_t rows = g.outer, inner = g.inner;
  const T* a = static_cast<const T*>(gout[0].data);
  const T* b = static_cast<const T*>(gout[1].data);
  T* d0 = static_cast<T*>(gin[0].data);
  T* d1 = static_cast<T*>(gin[1].data);
  auto sum = [](T x, T y) {
    if constexpr (std::is_same_v<T, float>)
      return x + y;
    else
      return bf16_bits(bf16_value(x) + bf16_value(y));
  };
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows; ++r) {
    const T* ar = a + r * 2 * inner;
    const T* br = b + r * 2 * inner;
    T* o0 = d0 + r * inner;
    T* o1 = d1 + r * inner;
#pragma omp simd
    for (int64_t i = 0; i < inner; ++i) {
      o0[i] = sum(ar[i], br[i]);
      o1[i] = sum(ar[inner + i], br[inner + i]);
    }
  }
}

// The byte at offset `byte` of a tensor's memory.
inline char* at(const Tensor& t, int64_t byte) { return static_cast<char*>(t.data) + byte; }

class HostExchange final : public TowerExchange {
 public:
  void gather(const TowerPair& in, const TowerPair& out) override {
    const auto g = exchange_geometry(out[0]);
    check_halves(g, in, "input", out[0].dtype);
    const int copies = out[0].data == out[1].data ? 1 : 2;
    const int64_t rows = g.outer, inner = g.inner;
    const auto es = static_cast<int64_t>(dtype_size(out[0].dtype));
    const size_t bytes = static_cast<size_t>(inner * es);
#pragma omp parallel for schedule(static) collapse(2)
    for (int c = 0; c < copies; ++c)
      for (int64_t r = 0; r < rows; ++r) {
        char* dst = at(out[c], r * 2 * inner * es);
        std::memcpy(dst, at(in[0], r * inner * es), bytes);
        std::memcpy(dst + bytes, at(in[1], r * inner * es), bytes);
      }
  }

  void reduce_scatter(const TowerPair& gout, const TowerPair& gin) override {
    const auto g = exchange_geometry(gout[0]);
    check_halves(g, gin, "gradient", gout[0].dtype);
    ALEXNET_CHECK(gout[1].dtype == gout[0].dtype,
                  "tower exchange: gradients " << gout[0].str() << " and " << gout[1].str());
    if (gout[0].dtype == DType::bf16)
      sum_halves<uint16_t>(g, gout, gin);
    else
      sum_halves<float>(g, gout, gin);
  }

  void split(const Tensor& grad, const TowerPair& gin) override {
    const auto g = exchange_geometry(grad);
    check_halves(g, gin, "gradient", grad.dtype);
    const auto es = static_cast<int64_t>(dtype_size(grad.dtype));
    const size_t bytes = static_cast<size_t>(g.inner * es);
    for (int64_t r = 0; r < g.outer; ++r)
      for (int t = 0; t < 2; ++t)
        std::memcpy(at(gin[t], r * g.inner * es), at(grad, (2 * r + t) * g.inner * es), bytes);
  }

  bool shared() const override { return true; }
};

}  // namespace

std::unique_ptr<TowerExchange> make_host_exchange() { return std::make_unique<HostExchange>(); }

}  // namespace alexnet

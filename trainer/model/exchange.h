// How the two towers of a rank swap activations and gradients, the 2012 model-parallel split:
// forward is an all-gather of the two halves (along channels or features), backward a
// reduce-scatter (each tower sums both towers' gradients for its own half). The model calls only
// this interface; the placement (both towers on the CPU or one GPU, or on two GPUs) picks the
// implementation.
//
// Geometry: a half is seen as (outer, inner) rows; the gathered tensor as (outer, 2 * inner) with
// tower 0's half first. For a 4-D NHWC gathered tensor outer = N*H*W and inner = C/2 (channels
// are innermost); otherwise outer = N and inner = numel/N of a half.
#pragma once

#include <array>
#include <memory>

#include "core/tensor.h"

namespace alexnet {

using TowerPair = std::array<Tensor, 2>;

class TowerExchange {
 public:
  virtual ~TowerExchange() = default;
  // out[t] = [in[0] | in[1]] for each tower's copy; when out[0] and out[1] are the same memory
  // (both towers on one device) it is written once.
  virtual void gather(const TowerPair& in, const TowerPair& out) = 0;
  // gin[t] = gout[0][:, half t] + gout[1][:, half t]
  virtual void reduce_scatter(const TowerPair& gout, const TowerPair& gin) = 0;
  // gin[t] = g[:, half t] (the loss gradient: no sum)
  virtual void split(const Tensor& g, const TowerPair& gin) = 0;
  // Whether both towers can read one gathered tensor (they share a device).
  virtual bool shared() const = 0;
};

// Both towers in host memory: parallel strided copies and sums.
std::unique_ptr<TowerExchange> make_host_exchange();
// Towers on GPUs: one GPU (a, b the same; one kernel per exchange, the gathered tensor shared) or
// two (peer copies between the towers' streams, ordered by events; peer access enabled where
// the GPUs allow it). Throws in a build without CUDA.
std::unique_ptr<TowerExchange> make_gpu_exchange(const Device& a, const Device& b);

struct ExchangeGeometry {
  int64_t outer = 0, inner = 0;  // of one half
};
ExchangeGeometry exchange_geometry(const Tensor& gathered);

}  // namespace alexnet

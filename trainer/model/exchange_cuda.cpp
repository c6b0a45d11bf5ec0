// Tower exchange on GPUs (see exchange.h). One GPU: the towers share its stream, so a kernel reads
// both halves directly. Two GPUs: each tower's stream waits (event) for the other's work, copies
// the other half device to device (cudaMemcpy2DAsync over peer access), then both streams wait
// for each other again so neither overwrites what the other still reads.
#include "model/exchange.h"

#include "core/error.h"

#ifdef ALEXNET_HAVE_CUDA
#include "core/buffer.h"
#include "core/gpu.h"
#include "core/log.h"
#include "model/gpu_kernels.h"
#endif

namespace alexnet {

#ifdef ALEXNET_HAVE_CUDA
namespace {

void check_half(const ExchangeGeometry& g, const Tensor& h, const Device& d, const char* what) {
  ALEXNET_CHECK(h.numel() == g.outer * g.inner && h.device == d && (h.dtype == DType::f32 || h.dtype == DType::bf16),
                "tower exchange: " << what << " " << h.str() << " is not a half of " << g.outer << " x " << 2 * g.inner
                                   << " on " << d.str());
}

class OneGpuExchange final : public TowerExchange {
 public:
  explicit OneGpuExchange(const Device& d) : d_(d) {}

  void gather(const TowerPair& in, const TowerPair& out) override {
    const auto g = exchange_geometry(out[0]);
    for (const auto& h : in) check_half(g, h, d_, "input");
    gpu::exchange_gather(in[0].data, in[1].data, out[0].data, gpu::elem_of(out[0].dtype), g.outer, g.inner,
                         gpu::stream(d_));
    if (out[1].data != out[0].data) copy_async(out[1], out[0]);
  }

  void reduce_scatter(const TowerPair& gout, const TowerPair& gin) override {
    const auto g = exchange_geometry(gout[0]);
    for (const auto& h : gin) check_half(g, h, d_, "gradient");
    gpu::exchange_reduce_scatter(gout[0].data, gout[1].data, gin[0].data, gin[1].data, gpu::elem_of(gout[0].dtype),
                                 g.outer, g.inner, gpu::stream(d_));
  }

  void split(const Tensor& grad, const TowerPair& gin) override {
    const auto g = exchange_geometry(grad);
    for (const auto& h : gin) check_half(g, h, d_, "gradient");
    gpu::exchange_split(grad.data, gin[0].data, gin[1].data, gpu::elem_of(grad.dtype), g.outer, g.inner,
                        gpu::stream(d_));
  }

  bool shared() const override { return true; }

 private:
  Device d_;
};

class TwoGpuExchange final : public TowerExchange {
 public:
  TwoGpuExchange(const Device& a, const Device& b) : dev_{a, b} {
    for (int t = 0; t < 2; ++t) {
      stream_[t] = gpu::stream(dev_[t]);
      int can = 0;
      CUDA_CHECK(cudaDeviceCanAccessPeer(&can, dev_[t].index, dev_[1 - t].index));
      if (can) {
        const cudaError_t e = cudaDeviceEnablePeerAccess(dev_[1 - t].index, 0);
        if (e == cudaErrorPeerAccessAlreadyEnabled)
          cudaGetLastError();
        else
          CUDA_CHECK(e);
      } else {
        LOG_WARN << "no peer access from " << dev_[t].str() << " to " << dev_[1 - t].str()
                 << ": the tower exchange goes through the driver's staging copies";
      }
      CUDA_CHECK(cudaEventCreateWithFlags(&ready_[t], cudaEventDisableTiming));
    }
  }
  ~TwoGpuExchange() override {
    for (int t = 0; t < 2; ++t)
      if (ready_[t]) {
        cudaSetDevice(dev_[t].index);
        cudaEventDestroy(ready_[t]);
      }
  }

  void gather(const TowerPair& in, const TowerPair& out) override {
    const auto g = exchange_geometry(out[0]);
    for (int t = 0; t < 2; ++t) check_half(g, in[t], dev_[t], "input");
    const size_t es = dtype_size(out[0].dtype);
    cross_wait();
    // Each copy of the gathered tensor gets both halves; out[1] may be out[0] (the logits).
    for (int t = 0; t < 2; ++t) {
      if (t == 1 && out[1].data == out[0].data) break;
      const int d = out[t].device == dev_[0] ? 0 : 1;
      for (int h = 0; h < 2; ++h) copy_rows(at(out[t], h * g.inner), 2 * g.inner, in[h].data, g.inner, g, d, h, es);
    }
    cross_wait();
  }

  void reduce_scatter(const TowerPair& gout, const TowerPair& gin) override {
    const auto g = exchange_geometry(gout[0]);
    for (int t = 0; t < 2; ++t) check_half(g, gin[t], dev_[t], "gradient");
    const size_t es = dtype_size(gout[0].dtype);
    cross_wait();
    for (int t = 0; t < 2; ++t) {
      // The other tower's gradient for my half, brought here, then added to mine.
      void* other = scratch(t, static_cast<size_t>(g.outer * g.inner) * es);
      copy_rows(other, g.inner, at(gout[1 - t], t * g.inner), 2 * g.inner, g, t, 1 - t, es);
      gpu::activate(dev_[t]);
      gpu::exchange_add_half(gout[t].data, t, other, gin[t].data, gpu::elem_of(gout[t].dtype), g.outer, g.inner,
                             stream_[t]);
    }
    cross_wait();
  }

  void split(const Tensor& grad, const TowerPair& gin) override {
    const auto g = exchange_geometry(grad);
    for (int t = 0; t < 2; ++t) check_half(g, gin[t], dev_[t], "gradient");
    const size_t es = dtype_size(grad.dtype);
    cross_wait();
    const int from = grad.device == dev_[0] ? 0 : 1;
    for (int t = 0; t < 2; ++t) copy_rows(gin[t].data, g.inner, at(grad, t * g.inner), 2 * g.inner, g, t, from, es);
    cross_wait();
  }

  bool shared() const override { return false; }

 private:
  // Both streams wait for everything queued so far on the other.
  void cross_wait() {
    for (int t = 0; t < 2; ++t) {
      gpu::activate(dev_[t]);
      CUDA_CHECK(cudaEventRecord(ready_[t], stream_[t]));
    }
    for (int t = 0; t < 2; ++t) {
      gpu::activate(dev_[t]);
      CUDA_CHECK(cudaStreamWaitEvent(stream_[t], ready_[1 - t], 0));
    }
  }

  // Element `offset` of t.
  static void* at(const Tensor& t, int64_t offset) {
    return static_cast<char*>(t.data) + static_cast<size_t>(offset) * dtype_size(t.dtype);
  }

  // rows of `inner` elements of es bytes, from src on tower `from`'s GPU (row pitch src_pitch
  // elements) to dst on tower `on`'s (dst_pitch), queued on tower `on`'s stream. Between the two
  // GPUs a peer copy (direct over peer access, else staged by the driver).
  void copy_rows(void* dst, int64_t dst_pitch, const void* src, int64_t src_pitch, const ExchangeGeometry& g, int on,
                 int from, size_t es) {
    gpu::activate(dev_[on]);
    const size_t width = static_cast<size_t>(g.inner) * es, rows = static_cast<size_t>(g.outer);
    if (on == from) {
      CUDA_CHECK(cudaMemcpy2DAsync(dst, static_cast<size_t>(dst_pitch) * es, src, static_cast<size_t>(src_pitch) * es,
                                   width, rows, cudaMemcpyDeviceToDevice, stream_[on]));
      return;
    }
    cudaMemcpy3DPeerParms p{};
    p.srcPtr = cudaPitchedPtr{const_cast<void*>(src), static_cast<size_t>(src_pitch) * es, width, rows};
    p.srcDevice = dev_[from].index;
    p.dstPtr = cudaPitchedPtr{dst, static_cast<size_t>(dst_pitch) * es, width, rows};
    p.dstDevice = dev_[on].index;
    p.extent = cudaExtent{width, rows, 1};
    CUDA_CHECK(cudaMemcpy3DPeerAsync(&p, stream_[on]));
  }

  void* scratch(int t, size_t bytes) {
    if (scratch_[t].bytes() < bytes) {
      gpu::activate(dev_[t]);
      CUDA_CHECK(cudaStreamSynchronize(stream_[t]));  // the old one may still be read (first steps only)
      scratch_[t] = Buffer(bytes, dev_[t]);
    }
    return scratch_[t].data();
  }

  std::array<Device, 2> dev_;
  std::array<cudaStream_t, 2> stream_{};
  std::array<cudaEvent_t, 2> ready_{};
  std::array<Buffer, 2> scratch_;  // (rows, inner) the other tower's half, per GPU
};

}  // namespace

std::unique_ptr<TowerExchange> make_gpu_exchange(const Device& a, const Device& b) {
  ALEXNET_CHECK(a.is_cuda() && b.is_cuda(),
                "a GPU tower exchange needs two CUDA devices, got " << a.str() << ", " << b.str());
  if (a == b) return std::make_unique<OneGpuExchange>(a);
  return std::make_unique<TwoGpuExchange>(a, b);
}

#else

std::unique_ptr<TowerExchange> make_gpu_exchange(const Device& a, const Device& b) {
  throw Error("towers on " + a.str() + " and " + b.str() + ": this build has no CUDA backend");
}

#endif

}  // namespace alexnet

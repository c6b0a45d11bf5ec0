// CUDA-event spans (see gpu_timer.h).
#include "model/gpu_timer.h"

#include <cmath>
#include <limits>

#include "core/clock.h"
#include "core/error.h"

#ifdef ALEXNET_HAVE_CUDA
#include "core/gpu.h"
#endif

namespace alexnet {

#ifdef ALEXNET_HAVE_CUDA

struct GpuTimer::Impl {
  struct Span {
    int device = 0;
    cudaStream_t stream = nullptr;
    cudaEvent_t start = nullptr, stop = nullptr;
  };
  std::vector<Span> pool;  // events made so far (kept for reuse)
  size_t used = 0;         // spans of this step
  struct Anchor {
    int device = -1;
    cudaEvent_t event = nullptr;
    double host_s = 0;
  };
  std::vector<Anchor> anchors;  // one per device anchored (kept for reuse; host_s < 0: not this step)
};

GpuTimer::GpuTimer() : impl_(std::make_unique<Impl>()) {}

GpuTimer::~GpuTimer() {
  for (auto& s : impl_->pool) {  // never throws
    cudaSetDevice(s.device);
    cudaEventDestroy(s.start);
    cudaEventDestroy(s.stop);
  }
  for (auto& a : impl_->anchors) cudaSetDevice(a.device), cudaEventDestroy(a.event);
}

void GpuTimer::anchor(const Device& d) {
  auto& I = *impl_;
  Impl::Anchor* a = nullptr;
  for (auto& x : I.anchors)
    if (x.device == d.index) a = &x;
  gpu::activate(d);
  if (!a) {
    Impl::Anchor made;
    made.device = d.index;
    CUDA_CHECK(cudaEventCreate(&made.event));
    I.anchors.push_back(made);
    a = &I.anchors.back();
  }
  CUDA_CHECK(cudaEventRecord(a->event, gpu::stream(d)));
  CUDA_CHECK(cudaEventSynchronize(a->event));
  a->host_s = now_seconds();
}

int GpuTimer::begin(const Device& d) {
  const cudaStream_t stream = gpu::stream(d);
  auto& I = *impl_;
  if (I.used == I.pool.size() || I.pool[I.used].device != d.index) {
    // A new pair (events belong to the device they were made on).
    Impl::Span s;
    s.device = d.index;
    CUDA_CHECK(cudaEventCreate(&s.start));
    CUDA_CHECK(cudaEventCreate(&s.stop));
    if (I.used == I.pool.size()) {
      I.pool.push_back(s);
    } else {
      cudaSetDevice(I.pool[I.used].device);  // events are destroyed on their own device
      cudaEventDestroy(I.pool[I.used].start);
      cudaEventDestroy(I.pool[I.used].stop);
      I.pool[I.used] = s;
      gpu::activate(d);
    }
  }
  Impl::Span& s = I.pool[I.used];
  s.stream = stream;
  CUDA_CHECK(cudaEventRecord(s.start, s.stream));
  return static_cast<int>(I.used++);
}

void GpuTimer::end(int span) {
  Impl::Span& s = impl_->pool.at(static_cast<size_t>(span));
  CUDA_CHECK(cudaSetDevice(s.device));
  CUDA_CHECK(cudaEventRecord(s.stop, s.stream));
}

std::vector<double> GpuTimer::collect(std::vector<double>* starts) {
  auto& I = *impl_;
  std::vector<double> out(I.used);
  if (starts) starts->assign(I.used, std::numeric_limits<double>::quiet_NaN());
  for (size_t i = 0; i < I.used; ++i) {
    Impl::Span& s = I.pool[i];
    CUDA_CHECK(cudaSetDevice(s.device));
    CUDA_CHECK(cudaEventSynchronize(s.stop));
    float ms = 0;
    CUDA_CHECK(cudaEventElapsedTime(&ms, s.start, s.stop));
    out[i] = ms * 1e-3;
    if (!starts) continue;
    for (const auto& a : I.anchors)
      if (a.device == s.device && a.host_s > 0) {
        float since = 0;
        CUDA_CHECK(cudaEventElapsedTime(&since, a.event, s.start));
        (*starts)[i] = a.host_s + since * 1e-3;
      }
  }
  I.used = 0;
  for (auto& a : I.anchors) a.host_s = 0;
  return out;
}

void GpuTimer::clear() {
  impl_->used = 0;
  for (auto& a : impl_->anchors) a.host_s = 0;
}

#else

struct GpuTimer::Impl {};
GpuTimer::GpuTimer() = default;
GpuTimer::~GpuTimer() = default;
int GpuTimer::begin(const Device& d) { throw Error("GPU timing on " + d.str() + ": this build has no CUDA backend"); }
void GpuTimer::end(int) { throw Error("GPU timing: this build has no CUDA backend"); }
std::vector<double> GpuTimer::collect(std::vector<double>* starts) {
  if (starts) starts->clear();
  return {};
}
void GpuTimer::anchor(const Device& d) { throw Error("GPU timing on " + d.str() + ": this build has no CUDA backend"); }
void GpuTimer::clear() {}

#endif

}  // namespace alexnet

// The NCCL communicator (see comm.h): one NCCL communicator per tower, its unique id made by rank
// 0 and broadcast over MPI; sums on a stream of their own that first waits for the compute stream
// (an event, never a host synchronisation); wait() makes the compute stream wait for the sums.
// Built only with CUDA; validated on a GPU machine (tests/gpu_check.sh).
#ifdef ALEXNET_HAVE_CUDA

#include <cuda_runtime_api.h>
#include <nccl.h>

#include <memory>
#include <vector>

#include "core/clock.h"
#include "core/gpu.h"
#include "parallel/comm.h"
#include "parallel/mpi_check.h"

namespace alexnet {
namespace {

class NcclCommunicator final : public Communicator {
 public:
  NcclCommunicator(MPI_Comm world, int device, void* compute_stream)
      : device_(device), compute_(static_cast<cudaStream_t>(compute_stream)) {
    int rank = 0;
    MPI_CHECK(MPI_Comm_rank(world, &rank));
    MPI_CHECK(MPI_Comm_size(world, &size_));
    ncclUniqueId id{};
    if (rank == 0) NCCL_CHECK(ncclGetUniqueId(&id));
    MPI_CHECK(MPI_Bcast(&id, sizeof id, MPI_BYTE, 0, world));
    CUDA_CHECK(cudaSetDevice(device_));
    NCCL_CHECK(ncclCommInitRank(&comm_, size_, id, rank));
    CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
    CUDA_CHECK(cudaEventCreateWithFlags(&ready_, cudaEventDisableTiming));
    CUDA_CHECK(cudaEventCreateWithFlags(&done_, cudaEventDisableTiming));
  }

  ~NcclCommunicator() override {
    // Destructors never throw: failures here are ignored (the job is ending).
    cudaSetDevice(device_);
    if (comm_) ncclCommDestroy(comm_);
    if (ready_) cudaEventDestroy(ready_);
    if (done_) cudaEventDestroy(done_);
    for (const Span& s : spans_) cudaEventDestroy(s.start), cudaEventDestroy(s.stop);
    if (anchor_) cudaEventDestroy(anchor_);
    if (stream_) cudaStreamDestroy(stream_);
  }

  int size() const override { return size_; }
  const char* name() const override { return "NCCL"; }

  void start(const Tensor& slice, const Collective& what) override {
    ALEXNET_CHECK(slice.device.is_cuda() && slice.device.index == device_ && slice.dtype == DType::f32,
                  "NCCL all-reduce needs f32 memory on cuda:" << device_ << ", got " << slice.str());
    CUDA_CHECK(cudaSetDevice(device_));
    const bool tracing = trace_ && trace_->recording();
    if (tracing && timed_ == 0) {
      // The step's first collective: stream_ is idle, so the anchor completes at once and ties
      // this step's event times to the host clock.
      if (!anchor_) CUDA_CHECK(cudaEventCreate(&anchor_));
      CUDA_CHECK(cudaEventRecord(anchor_, stream_));
      CUDA_CHECK(cudaEventSynchronize(anchor_));
      anchor_host_s_ = now_seconds();
    }
    CUDA_CHECK(cudaEventRecord(ready_, compute_));
    CUDA_CHECK(cudaStreamWaitEvent(stream_, ready_, 0));
    if (timed_ == spans_.size()) {
      Span s;
      CUDA_CHECK(cudaEventCreate(&s.start));
      CUDA_CHECK(cudaEventCreate(&s.stop));
      spans_.push_back(std::move(s));
    }
    Span& span = spans_[timed_++];
    span.event.reset();
    if (tracing) {
      span.event = std::make_unique<TraceEvent>(queued_event(what));
    }
    CUDA_CHECK(cudaEventRecord(span.start, stream_));
    NCCL_CHECK(
        ncclAllReduce(slice.data, slice.data, static_cast<size_t>(slice.numel()), ncclFloat, ncclSum, comm_, stream_));
    CUDA_CHECK(cudaEventRecord(span.stop, stream_));
  }

  void wait() override {
    CUDA_CHECK(cudaSetDevice(device_));
    CUDA_CHECK(cudaEventRecord(done_, stream_));
    CUDA_CHECK(cudaStreamWaitEvent(compute_, done_, 0));
  }

  // The collectives run one after another on stream_: their durations add up.
  double take_busy_seconds() override {
    CUDA_CHECK(cudaSetDevice(device_));
    double total = 0;
    for (size_t i = 0; i < timed_; ++i) {
      CUDA_CHECK(cudaEventSynchronize(spans_[i].stop));
      float ms = 0;
      CUDA_CHECK(cudaEventElapsedTime(&ms, spans_[i].start, spans_[i].stop));
      total += ms * 1e-3;
      if (spans_[i].event && anchor_host_s_ > 0) {
        float since = 0;
        CUDA_CHECK(cudaEventElapsedTime(&since, anchor_, spans_[i].start));
        TraceEvent& e = *spans_[i].event;
        e.t0 = anchor_host_s_ + since * 1e-3, e.t1 = e.t0 + ms * 1e-3;
        trace_->add(std::move(e));
      }
      spans_[i].event.reset();
    }
    timed_ = 0;
    anchor_host_s_ = 0;
    return total;
  }
  bool asynchronous() const override { return true; }

 private:
  int device_;
  int size_ = 1;
  cudaStream_t compute_ = nullptr, stream_ = nullptr;
  cudaEvent_t ready_ = nullptr, done_ = nullptr;
  struct Span {
    cudaEvent_t start = nullptr, stop = nullptr;
    std::unique_ptr<TraceEvent> event;  // tracing: the event, its times filled in once read
  };
  cudaEvent_t anchor_ = nullptr;  // tracing: recorded at the step's first collective
  double anchor_host_s_ = 0;      // when it completed (host clock); 0: none this step
  std::vector<Span> spans_;       // around each all-reduce since the last take_busy_seconds()
  size_t timed_ = 0;
  ncclComm_t comm_ = nullptr;
};

}  // namespace

std::unique_ptr<Communicator> make_nccl_communicator(MPI_Comm world, int device, void* compute_stream) {
  return std::make_unique<NcclCommunicator>(world, device, compute_stream);
}

std::optional<LibraryVersion> nccl_library_version() {
  int running = 0;
  if (ncclGetVersion(&running) != ncclSuccess) running = 0;
  return LibraryVersion{"NCCL", NCCL_VERSION_CODE, running, false};
}

}  // namespace alexnet

#else

#include "parallel/comm.h"

namespace alexnet {
std::optional<LibraryVersion> nccl_library_version() { return std::nullopt; }
}  // namespace alexnet

#endif  // ALEXNET_HAVE_CUDA

// Gradient communicators: one per tower, summing tower t's gradient buckets in place across the
// same tower of every rank (tower t's weights are only ever summed with tower t's). Collectives
// are started in the same order on every rank. MPI on host buffers (the CPU backend), NCCL on GPU
// buffers. The sum is turned into the average by the SGD update (grad scale 1/ranks).
#pragma once

#include <mpi.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/clock.h"
#include "core/tensor.h"
#include "core/trace.h"
#include "layers/backend_info.h"

namespace alexnet {

class CommWorker;

// One collective: what errors and the stall detector call it ("all-reduce of step 3, bucket 1 (fc6)
// of tower 0"), and its event in a trace (name, numbers; the communicator adds the times).
struct Collective {
  std::string label;
  std::string trace_name;
  std::vector<std::pair<std::string, double>> trace_args;
};

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int size() const = 0;
  virtual const char* name() const = 0;  // "MPI" or "NCCL"
  // Starts summing `slice` in place across ranks and returns at once.
  virtual void start(const Tensor& slice, const Collective& what) = 0;
  // Everything started so far has finished (MPI: blocks; NCCL: later work on the compute stream
  // waits for it, without a host synchronisation).
  virtual void wait() = 0;
  // Seconds spent inside collectives since the last call (MPI: measured on the worker thread;
  // NCCL: CUDA events around each collective on its stream, read once the step's GPU work is
  // done: asynchronous() says so, and the caller asks after synchronising).
  virtual double take_busy_seconds() = 0;
  virtual bool asynchronous() const { return false; }
  // While `trace` records, every collective becomes an event on `track` (when it was queued,
  // started and ended; NCCL: from its CUDA events, once take_busy_seconds() reads them).
  void set_trace(Trace* trace, int track) { trace_ = trace, track_ = track; }

 protected:
  // The trace event of a collective queued now; the communicator fills in when it ran.
  TraceEvent queued_event(const Collective& what) const {
    TraceEvent e;
    e.track = track_, e.name = what.trace_name, e.category = "allreduce";
    e.args = what.trace_args, e.queued = now_seconds(), e.step = trace_->step();
    return e;
  }

  Trace* trace_ = nullptr;
  int track_ = kTrackComm;
};

// A thread that runs queued jobs in order: the MPI communicators of both towers share one, so
// every rank issues its collectives in the same order. Errors are rethrown by drain().
class CommWorker {
 public:
  CommWorker();
  ~CommWorker();
  CommWorker(const CommWorker&) = delete;
  CommWorker& operator=(const CommWorker&) = delete;
  void post(std::function<void()> job);
  void drain();  // blocks until the queue is empty and idle; rethrows a job's error

 private:
  struct State;
  std::unique_ptr<State> s_;
};

// MPI: a duplicate of `world` (errors returned, not fatal). With a worker the sums run on it
// (overlapping the caller's work); without, start() sums at once on the calling thread.
std::unique_ptr<Communicator> make_mpi_communicator(MPI_Comm world, CommWorker* worker);

// NCCL compiled against and found at run time ({} without CUDA).
std::optional<LibraryVersion> nccl_library_version();

#ifdef ALEXNET_HAVE_CUDA
// NCCL on GPU `device`: the unique id comes from rank 0 of `world` over MPI; sums run on a stream
// of their own that waits (event) for the compute stream `compute_stream` (a cudaStream_t).
std::unique_ptr<Communicator> make_nccl_communicator(MPI_Comm world, int device, void* compute_stream);
#endif

}  // namespace alexnet

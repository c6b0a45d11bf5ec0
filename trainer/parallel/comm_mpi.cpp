// The MPI communicator and the communication worker thread (see comm.h).
#include <condition_variable>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include "core/clock.h"
#include "parallel/comm.h"
#include "parallel/mpi_check.h"
#include "parallel/watchdog.h"

namespace alexnet {

struct CommWorker::State {
  std::mutex m;
  std::condition_variable cv;
  std::deque<std::function<void()>> jobs;
  bool busy = false, stop = false;
  std::exception_ptr error;
  std::thread thread;
};

CommWorker::CommWorker() : s_(std::make_unique<State>()) {
  s_->thread = std::thread([s = s_.get()] {
    std::unique_lock<std::mutex> lock(s->m);
    for (;;) {
      s->cv.wait(lock, [&] { return s->stop || !s->jobs.empty(); });
      if (s->jobs.empty()) return;  // stop requested and nothing left
      auto job = std::move(s->jobs.front());
      s->jobs.pop_front();
      s->busy = true;
      lock.unlock();
      try {
        if (!s->error) job();  // after an error the rest would only compound it
      } catch (...) {
        lock.lock();
        s->error = std::current_exception();
        lock.unlock();
      }
      lock.lock();
      s->busy = false;
      s->cv.notify_all();
    }
  });
}

CommWorker::~CommWorker() {
  {
    std::lock_guard<std::mutex> lock(s_->m);
    s_->stop = true;
  }
  s_->cv.notify_all();
  s_->thread.join();
}

void CommWorker::post(std::function<void()> job) {
  {
    std::lock_guard<std::mutex> lock(s_->m);
    s_->jobs.push_back(std::move(job));
  }
  s_->cv.notify_all();
}

void CommWorker::drain() {
  std::unique_lock<std::mutex> lock(s_->m);
  s_->cv.wait(lock, [&] { return s_->jobs.empty() && !s_->busy; });
  if (s_->error) {
    auto e = s_->error;
    s_->error = nullptr;
    std::rethrow_exception(e);
  }
}

namespace {

class MpiCommunicator final : public Communicator {
 public:
  MpiCommunicator(MPI_Comm world, CommWorker* worker) : worker_(worker) {
    MPI_CHECK(MPI_Comm_dup(world, &comm_));
    MPI_CHECK(MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN));
    MPI_CHECK(MPI_Comm_size(comm_, &size_));
  }
  ~MpiCommunicator() override {
    if (worker_) {
      try {
        worker_->drain();
      } catch (...) {  // destructors never throw; the error was reported by wait()
      }
    }
    MPI_Comm_free(&comm_);
  }

  int size() const override { return size_; }
  const char* name() const override { return "MPI"; }

  void start(const Tensor& slice, const Collective& what) override {
    ALEXNET_CHECK(slice.device.is_cpu() && slice.dtype == DType::f32,
                  "MPI all-reduce needs f32 host memory, got " << slice.str());
    float* p = slice.f32();
    const int64_t n = slice.numel();
    std::shared_ptr<TraceEvent> event;  // when tracing: filled in by the job
    if (trace_ && trace_->recording()) event = std::make_shared<TraceEvent>(queued_event(what));
    auto job = [this, p, n, label = what.label, event] {
      WatchScope watch(label);
      const double t0 = now_seconds();
      for (int64_t done = 0; done < n;) {  // MPI counts are int
        const int chunk = static_cast<int>(std::min<int64_t>(n - done, 1 << 30));
        MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, p + done, chunk, MPI_FLOAT, MPI_SUM, comm_));
        done += chunk;
      }
      const double t1 = now_seconds();
      if (event) {
        event->t0 = t0, event->t1 = t1;
        trace_->add(*event);
      }
      std::lock_guard<std::mutex> lock(busy_m_);
      busy_s_ += t1 - t0;
    };
    if (worker_)
      worker_->post(job);
    else
      job();
  }

  void wait() override {
    if (worker_) worker_->drain();
  }

  double take_busy_seconds() override {
    std::lock_guard<std::mutex> lock(busy_m_);
    return std::exchange(busy_s_, 0.0);
  }

 private:
  MPI_Comm comm_ = MPI_COMM_NULL;
  int size_ = 1;
  CommWorker* worker_;
  std::mutex busy_m_;
  double busy_s_ = 0;
};

}  // namespace

std::unique_ptr<Communicator> make_mpi_communicator(MPI_Comm world, CommWorker* worker) {
  return std::make_unique<MpiCommunicator>(world, worker);
}

}  // namespace alexnet

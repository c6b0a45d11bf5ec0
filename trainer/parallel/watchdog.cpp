// The stall detector (see watchdog.h).
#include "parallel/watchdog.h"

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "core/host.h"
#include "core/log.h"
#include "parallel/mpi_check.h"

namespace alexnet {

namespace {
std::atomic<Watchdog*> g_current{nullptr};
constexpr int kReportTag = 71;
constexpr int kReportLen = 512;
constexpr double kGraceS = 5.0;  // how long rank 0 collects reports; the others wait for its abort
}  // namespace

struct Watchdog::State {
  Cluster cluster;
  double timeout_s;
  MPI_Comm comm = MPI_COMM_NULL;
  std::mutex m;
  std::condition_variable cv;
  std::map<int, std::pair<std::string, double>> active;  // id -> (what, since)
  std::vector<std::string> hosts;                        // every rank's node (rank 0)
  int next_id = 0;
  bool stop = false;
  std::thread thread;

  void run();
  [[noreturn]] void fire(const std::string& what, double waited);
};

void Watchdog::State::run() {
  std::unique_lock<std::mutex> lock(m);
  while (!stop) {
    cv.wait_for(lock, std::chrono::milliseconds(200));
    if (stop) break;
    const double now = now_seconds();
    for (const auto& [id, op] : active) {
      if (now - op.second > timeout_s) {
        const std::string what = op.first;
        const double waited = now - op.second;
        lock.unlock();
        fire(what, waited);
      }
    }
    // Rank 0 also listens while it is not stalled itself: another rank's report starts the count.
    if (cluster.root()) {
      int flag = 0;
      MPI_Iprobe(MPI_ANY_SOURCE, kReportTag, comm, &flag, MPI_STATUS_IGNORE);
      if (flag) {
        std::string mine = active.empty() ? "not waiting in any collective (busy in the step)"
                                          : "waiting in " + active.begin()->second.first;
        lock.unlock();
        fire(mine, 0);
      }
    }
  }
}

void Watchdog::State::fire(const std::string& what, double waited) {
  std::ostringstream me;
  me << "rank " << cluster.rank << " (" << hostname() << "): " << (waited > 0 ? "waiting for " : "");
  if (waited > 0)
    me << static_cast<int>(waited) << " s in " << what;
  else
    me << what;
  if (waited > 0)
    LOG_ERROR << "stall: no progress for " << static_cast<int>(waited) << " s in " << what << " (--timeout "
              << timeout_s << "): another rank died or hangs; reporting to rank 0";
  if (!cluster.root()) {
    char buf[kReportLen] = {};
    std::snprintf(buf, sizeof buf, "%s", me.str().c_str());
    MPI_Request req;
    MPI_Isend(buf, kReportLen, MPI_CHAR, 0, kReportTag, comm, &req);
    // Rank 0 aborts the job once it has the reports; if it does not, it is the silent one.
    const double t0 = now_seconds();
    int done = 0;
    while (now_seconds() - t0 < 3 * kGraceS) {
      MPI_Test(&req, &done, MPI_STATUS_IGNORE);
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    LOG_ERROR << "stall: rank 0 did not end the job within " << 3 * kGraceS
              << " s: rank 0 is dead or hung; ending the job from rank " << cluster.rank;
    MPI_Abort(MPI_COMM_WORLD, 3);
  }
  // Rank 0: collect what the other ranks say for a while, then name the silent ones.
  std::vector<std::string> reports(static_cast<size_t>(cluster.size));
  reports[0] = me.str();
  const double t0 = now_seconds();
  int got = 1;
  while (got < cluster.size && now_seconds() - t0 < kGraceS) {
    int flag = 0;
    MPI_Status st;
    MPI_Iprobe(MPI_ANY_SOURCE, kReportTag, comm, &flag, &st);
    if (!flag) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      continue;
    }
    char buf[kReportLen] = {};
    MPI_Recv(buf, kReportLen, MPI_CHAR, st.MPI_SOURCE, kReportTag, comm, MPI_STATUS_IGNORE);
    if (reports[static_cast<size_t>(st.MPI_SOURCE)].empty()) ++got;
    reports[static_cast<size_t>(st.MPI_SOURCE)] = buf;
  }
  std::vector<int> silent;
  std::ostringstream heard;
  for (int r = 0; r < cluster.size; ++r) {
    if (reports[static_cast<size_t>(r)].empty())
      silent.push_back(r);
    else
      heard << "\n  " << reports[static_cast<size_t>(r)];
  }
  LOG_ERROR << "stall: ending the job. Silent (dead or hung) rank(s): "
            << (silent.empty() ? std::string("none: every rank reported") : ranks_by_node(silent, hosts))
            << ". Reports:" << heard.str();
  MPI_Abort(MPI_COMM_WORLD, 3);
  std::abort();  // MPI_Abort does not return
}

Watchdog::Watchdog(const Cluster& c, double timeout_s) : s_(std::make_unique<State>()) {
  ALEXNET_CHECK(timeout_s > 0, "the stall timeout must be positive, got " << timeout_s);
  s_->cluster = c;
  s_->timeout_s = timeout_s;
  MPI_CHECK(MPI_Comm_dup(c.world, &s_->comm));
  s_->hosts = gather_hostnames(c);  // to name the nodes of silent ranks
  s_->thread = std::thread([s = s_.get()] { s->run(); });
  g_current = this;
}

Watchdog::~Watchdog() {
  g_current = nullptr;
  {
    std::lock_guard<std::mutex> lock(s_->m);
    s_->stop = true;
  }
  s_->cv.notify_all();
  s_->thread.join();
  MPI_Comm_free(&s_->comm);
}

Watchdog* Watchdog::current() { return g_current.load(); }

int Watchdog::begin(const std::string& what) {
  std::lock_guard<std::mutex> lock(s_->m);
  const int id = s_->next_id++;
  s_->active[id] = {what, now_seconds()};
  return id;
}

void Watchdog::end(int id) {
  std::lock_guard<std::mutex> lock(s_->m);
  s_->active.erase(id);
}

WatchScope::WatchScope(const std::string& what) : w_(Watchdog::current()) {
  if (w_) id_ = w_->begin(what);
}

WatchScope::~WatchScope() {
  if (w_) w_->end(id_);
}

std::unique_ptr<Watchdog> start_watchdog(const Cluster& c, double timeout_s) {
  if (c.alone() || timeout_s <= 0) return nullptr;
  return std::make_unique<Watchdog>(c, timeout_s);
}

}  // namespace alexnet

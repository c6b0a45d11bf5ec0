// The stall detector: a job never hangs in a collective. Every blocking collective runs inside a
// WatchScope naming it ("all-reduce of step 12, bucket 2 (fc6) of tower 1"). When one has not
// completed within the timeout, that rank logs what it waits in and reports to rank 0 over a
// communicator of the watchdog's own; rank 0 gathers the reports for a few seconds, names the
// ranks that stayed silent (dead or hung) and ends the job with MPI_Abort. If rank 0 is the silent
// one, the others end the job themselves, saying so.
#pragma once

#include <memory>
#include <string>

#include "parallel/cluster.h"

namespace alexnet {

class Watchdog {
 public:
  Watchdog(const Cluster& c, double timeout_s);  // collective (duplicates the communicator)
  ~Watchdog();
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

  static Watchdog* current();  // the one running in this process, or nullptr

  int begin(const std::string& what);  // a blocking collective starts; returns its id
  void end(int id);

 private:
  struct State;
  std::unique_ptr<State> s_;
};

// The watchdog of a job of several ranks with a timeout; nullptr for a lone rank or timeout 0
// (nothing to watch). Collective.
std::unique_ptr<Watchdog> start_watchdog(const Cluster& c, double timeout_s);

// Marks the enclosing block as waiting in a collective (no-op without a watchdog).
class WatchScope {
 public:
  explicit WatchScope(const std::string& what);
  ~WatchScope();
  WatchScope(const WatchScope&) = delete;
  WatchScope& operator=(const WatchScope&) = delete;

 private:
  Watchdog* w_;
  int id_ = -1;
};

}  // namespace alexnet

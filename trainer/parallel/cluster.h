// The MPI world as the commands see it: rank, size, local rank (MPI_Comm_split_type SHARED), the
// check that every rank was started with the same configuration, root-only actions whose failure
// stops every rank (no rank left waiting in a collective), and gathers of per-rank numbers.
#pragma once

#include <mpi.h>

#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace alexnet {

// A default Cluster is one process on its own: no MPI call is made for it (library users and
// tests need no MPI); from() describes a real communicator.
struct Cluster {
  MPI_Comm world = MPI_COMM_NULL;
  int rank = 0, size = 1;
  int local_rank = 0, local_size = 1;  // on this node

  static Cluster from(MPI_Comm world);
  bool root() const { return rank == 0; }
  bool alone() const { return size == 1; }
};

// Every rank passes its configuration as (name, value) pairs. Throws UsageError on every rank
// when any rank differs from rank 0; rank 0's message names each differing rank, option and both
// values. Collective.
void check_same_config(const Cluster& c, const std::vector<std::pair<std::string, std::string>>& config);

// Runs fn on rank 0 only; if it throws, every rank throws a CollectiveError with rank 0's message.
// Collective; `what` names it for the stall detector.
void on_root(const Cluster& c, const std::function<void()>& fn, const std::string& what = "an action of rank 0");

// check() on rank 0 only, returning what is wrong ("" when nothing is): a UsageError with that
// message on every rank (exit 2, printed once). Collective. For the checks made before a run
// starts that only rank 0 can make (can it write the report file?).
void usage_check_on_root(const Cluster& c, const std::function<std::string()>& check);

// Every rank's string on rank 0, in rank order; empty elsewhere. Collective.
std::vector<std::string> gather_strings_to_root(const Cluster& c, const std::string& mine);

// Every rank's vector (all of the same length) on rank 0, rank-major; empty elsewhere. Collective;
// `what` names it to the stall detector.
std::vector<double> gather_to_root(const Cluster& c, const std::vector<double>& mine,
                                   const std::string& what = "a gather of timings");

// Every rank's host name on rank 0 (empty elsewhere). Collective.
std::vector<std::string> gather_hostnames(const Cluster& c);

// Where a rank runs: its node (host name) and its place among that node's ranks.
struct RankPlace {
  std::string host;
  int local_rank = 0, local_size = 1;
};

// Every rank's place on rank 0, in rank order (empty elsewhere). Collective.
std::vector<RankPlace> gather_placement(const Cluster& c);

// "2 nodes: node1 (ranks 0, 1), node2 (ranks 2-4)": the nodes in order of their first rank, each
// with its ranks (three or more consecutive ones as a-b).
std::string describe_nodes(const std::vector<std::string>& host_of_rank);

// The ranks in `ranks` grouped by node: "2, 3 on node2 (all of its ranks); 5 on node3".
std::string ranks_by_node(const std::vector<int>& ranks, const std::vector<std::string>& host_of_rank);

}  // namespace alexnet

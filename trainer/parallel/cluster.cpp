// MPI world helpers (see cluster.h).
#include "parallel/cluster.h"

#include <cstring>
#include <sstream>

#include <algorithm>

#include "core/error.h"
#include "core/host.h"
#include "parallel/mpi_check.h"
#include "parallel/watchdog.h"

namespace alexnet {

Cluster Cluster::from(MPI_Comm world) {
  Cluster c;
  c.world = world;
  MPI_CHECK(MPI_Comm_rank(world, &c.rank));
  MPI_CHECK(MPI_Comm_size(world, &c.size));
  MPI_Comm local;
  MPI_CHECK(MPI_Comm_split_type(world, MPI_COMM_TYPE_SHARED, c.rank, MPI_INFO_NULL, &local));
  MPI_CHECK(MPI_Comm_rank(local, &c.local_rank));
  MPI_CHECK(MPI_Comm_size(local, &c.local_size));
  MPI_CHECK(MPI_Comm_free(&local));
  return c;
}

namespace {

std::string serialize(const std::vector<std::pair<std::string, std::string>>& config) {
  std::string s;
  for (const auto& [k, v] : config) s += k + '\x1f' + v + '\x1e';
  return s;
}

std::vector<std::pair<std::string, std::string>> deserialize(const std::string& s) {
  std::vector<std::pair<std::string, std::string>> out;
  size_t pos = 0;
  while (pos < s.size()) {
    const size_t us = s.find('\x1f', pos), rs = s.find('\x1e', pos);
    if (us == std::string::npos || rs == std::string::npos || us > rs) break;
    out.emplace_back(s.substr(pos, us - pos), s.substr(us + 1, rs - us - 1));
    pos = rs + 1;
  }
  return out;
}

void bcast_string(const Cluster& c, std::string& s) {
  uint64_t n = s.size();
  MPI_CHECK(MPI_Bcast(&n, 1, MPI_UINT64_T, 0, c.world));
  s.resize(n);
  if (n) MPI_CHECK(MPI_Bcast(s.data(), static_cast<int>(n), MPI_CHAR, 0, c.world));
}

// Every rank's string on rank 0.
std::vector<std::string> gather_strings(const Cluster& c, const std::string& mine) {
  const int n = static_cast<int>(mine.size());
  std::vector<int> sizes(c.root() ? c.size : 0), offsets;
  MPI_CHECK(MPI_Gather(&n, 1, MPI_INT, sizes.data(), 1, MPI_INT, 0, c.world));
  std::string all;
  if (c.root()) {
    int total = 0;
    for (int s : sizes) offsets.push_back(total), total += s;
    all.resize(static_cast<size_t>(total));
  }
  MPI_CHECK(MPI_Gatherv(mine.data(), n, MPI_CHAR, all.data(), sizes.data(), offsets.data(), MPI_CHAR, 0, c.world));
  std::vector<std::string> out;
  for (int r = 0; c.root() && r < c.size; ++r) out.push_back(all.substr(offsets[r], sizes[r]));
  return out;
}

}  // namespace

void check_same_config(const Cluster& c, const std::vector<std::pair<std::string, std::string>>& config) {
  if (c.alone()) return;
  auto mine = config;
  mine.emplace_back("code version", code_version());
  std::string root_text = c.root() ? serialize(mine) : std::string();
  bcast_string(c, root_text);
  const auto theirs = deserialize(root_text);
  std::string diff;
  for (const auto& entry : mine) {
    const std::string& k = entry.first;
    const std::string& v = entry.second;
    auto it = std::find_if(theirs.begin(), theirs.end(), [&](const auto& p) { return p.first == k; });
    const std::string root_v = it == theirs.end() ? "(unset)" : it->second;
    if (root_v != v) {
      std::ostringstream os;
      os << "rank " << c.rank << " has " << k << " = " << v << " but rank 0 has " << root_v;
      diff = os.str();
      break;
    }
  }
  int bad = diff.empty() ? 0 : 1, any = 0;
  MPI_CHECK(MPI_Allreduce(&bad, &any, 1, MPI_INT, MPI_MAX, c.world));
  if (!any) return;
  const auto diffs = gather_strings(c, diff);
  std::string msg = "the ranks were started with different configurations:";
  for (const auto& d : diffs)
    if (!d.empty()) msg += "\n  " + d;
  throw UsageError(c.root() ? msg : "configuration mismatch (rank 0 reports it)");
}

void on_root(const Cluster& c, const std::function<void()>& fn, const std::string& what) {
  if (c.alone()) {
    try {
      fn();
    } catch (const CollectiveError&) {
      throw;
    } catch (const UsageError&) {
      throw;
    } catch (const Error& e) {
      throw CollectiveError(e.what());
    }
    return;
  }
  std::string error;
  if (c.root()) {
    try {
      fn();
    } catch (const std::exception& e) {
      error = e.what();
      if (error.empty()) error = "unknown error";
    }
  }
  {
    WatchScope watch("waiting for " + what);
    bcast_string(c, error);
  }
  // Every rank knows: a clean stop everywhere (logged once), no abort needed.
  if (!error.empty()) throw CollectiveError(error);
}

std::vector<double> gather_to_root(const Cluster& c, const std::vector<double>& mine, const std::string& what) {
  if (c.alone()) return mine;
  WatchScope watch(what);
  std::vector<double> all(c.root() ? mine.size() * static_cast<size_t>(c.size) : 0);
  MPI_CHECK(MPI_Gather(mine.data(), static_cast<int>(mine.size()), MPI_DOUBLE, all.data(),
                       static_cast<int>(mine.size()), MPI_DOUBLE, 0, c.world));
  return all;
}

void usage_check_on_root(const Cluster& c, const std::function<std::string()>& check) {
  std::string error = c.root() ? check() : std::string();
  if (!c.alone()) bcast_string(c, error);
  if (!error.empty()) throw UsageError(error);
}

std::vector<std::string> gather_strings_to_root(const Cluster& c, const std::string& mine) {
  if (c.alone()) return {mine};
  WatchScope watch("a gather of texts");
  return gather_strings(c, mine);
}

std::vector<std::string> gather_hostnames(const Cluster& c) {
  if (c.alone()) return {hostname()};
  return gather_strings(c, hostname());
}

std::vector<RankPlace> gather_placement(const Cluster& c) {
  const std::string mine = std::to_string(c.local_rank) + ' ' + std::to_string(c.local_size) + ' ' + hostname();
  std::vector<RankPlace> out;
  for (const std::string& s : c.alone() ? std::vector<std::string>{mine} : gather_strings_to_root(c, mine)) {
    RankPlace p;
    std::istringstream in(s);
    in >> p.local_rank >> p.local_size;
    std::getline(in >> std::ws, p.host);
    out.push_back(p);
  }
  return out;
}

namespace {

// "0-1, 4" for the sorted ranks {0, 1, 4}.
std::string rank_runs(const std::vector<int>& ranks) {
  std::ostringstream os;
  for (size_t i = 0; i < ranks.size();) {
    size_t j = i;
    while (j + 1 < ranks.size() && ranks[j + 1] == ranks[j] + 1) ++j;
    os << (i ? ", " : "") << ranks[i];
    if (j > i) os << (j == i + 1 ? ", " : "-") << ranks[j];
    i = j + 1;
  }
  return os.str();
}

// The nodes in order of first appearance in `ranks`, each with its ranks among them.
std::vector<std::pair<std::string, std::vector<int>>> by_node(const std::vector<int>& ranks,
                                                              const std::vector<std::string>& host_of_rank) {
  std::vector<std::pair<std::string, std::vector<int>>> out;
  for (int r : ranks) {
    const std::string h =
        r >= 0 && static_cast<size_t>(r) < host_of_rank.size() ? host_of_rank[static_cast<size_t>(r)] : "?";
    auto it = std::find_if(out.begin(), out.end(), [&](const auto& e) { return e.first == h; });
    if (it == out.end()) it = out.insert(out.end(), {h, {}});
    it->second.push_back(r);
  }
  return out;
}

}  // namespace

std::string describe_nodes(const std::vector<std::string>& host_of_rank) {
  std::vector<int> all(host_of_rank.size());
  for (size_t r = 0; r < all.size(); ++r) all[r] = static_cast<int>(r);
  const auto nodes = by_node(all, host_of_rank);
  std::ostringstream os;
  os << nodes.size() << (nodes.size() == 1 ? " node: " : " nodes: ");
  for (size_t i = 0; i < nodes.size(); ++i)
    os << (i ? ", " : "") << nodes[i].first << " (rank" << (nodes[i].second.size() == 1 ? " " : "s ")
       << rank_runs(nodes[i].second) << ")";
  return os.str();
}

std::string ranks_by_node(const std::vector<int>& ranks, const std::vector<std::string>& host_of_rank) {
  std::ostringstream os;
  for (const auto& [host, rs] : by_node(ranks, host_of_rank)) {
    const auto on_node = std::count(host_of_rank.begin(), host_of_rank.end(), host);
    os << (os.tellp() > 0 ? "; " : "");
    for (size_t i = 0; i < rs.size(); ++i) os << (i ? ", " : "") << rs[i];
    os << " on " << host;
    if (static_cast<size_t>(on_node) == rs.size() && ranks.size() < host_of_rank.size()) os << " (all of its ranks)";
  }
  return os.str();
}

}  // namespace alexnet

// What a run ran on, for JSON reports: host, CPU, GPUs and library versions.
#pragma once

#include <string>
#include <vector>

#include "parallel/cluster.h"

namespace alexnet {

class JsonWriter;

std::string mpi_library();   // "Open MPI v4.1.4"
std::string nccl_version();  // "NCCL 2.28.9", "" without CUDA

// "host": {...}, "libraries": {...} members of the current object.
void write_environment(JsonWriter& j);

// "nodes": N and "placement": [{"rank", "host", "local_rank", "local_size"}, ...] members of the
// current object: where every rank ran (gather_placement's result).
void write_placement(JsonWriter& j, const std::vector<RankPlace>& placement);

// Rank 0 logs "<what>: 2 nodes: node1 (ranks 0-1), node2 (ranks 2-3)" when there are several ranks.
// Collective; returns the placement (on rank 0).
std::vector<RankPlace> log_placement(const Cluster& c, const std::string& what);

}  // namespace alexnet

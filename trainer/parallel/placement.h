// Where a rank's two towers run (--devices): by the rank's place on its node and the GPUs it sees.
#pragma once

#include <array>
#include <string>

#include "core/device.h"
#include "parallel/cluster.h"

namespace alexnet {

// The devices of a rank's two towers from --devices `text` (auto, cpu, cuda, cuda:A, cuda:A,B),
// the rank's place on its node and the GPUs it sees: auto and cuda put towers on GPUs 2L and 2L+1
// when the node has two per rank, else both on GPU L; auto without GPUs is the CPU. Throws Error
// naming the flag when the placement cannot be made.
std::array<Device, 2> place_towers(const std::string& text, int local_rank, int local_size, int gpus);

// Whether the ranks of this node see different GPU sets (CUDA_VISIBLE_DEVICES differs between
// them, as with Slurm's --gpus-per-task): then each rank places its towers among its own GPUs, as
// if alone on the node. Collective over the node's ranks.
bool gpus_per_rank(const Cluster& c);

}  // namespace alexnet

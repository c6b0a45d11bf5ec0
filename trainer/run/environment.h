// What a run ran on, for JSON reports: host, CPU, GPUs and library versions.
#pragma once

#include <string>

namespace alexnet {

class JsonWriter;

std::string mpi_library();   // "Open MPI v4.1.4"
std::string nccl_version();  // "NCCL 2.28.9", "" without CUDA

// "host": {...}, "libraries": {...} members of the current object.
void write_environment(JsonWriter& j);

}  // namespace alexnet

// What a run ran on, for logs and JSON reports: host, CPU, library versions.
#pragma once

#include <string>

namespace alexnet {

class JsonWriter;

std::string hostname();
std::string cpu_model();
std::string mpi_library();   // "Open MPI v4.1.4"
std::string nccl_version();  // "NCCL 2.28.9", "" without CUDA
std::string compiler();      // "GCC 12.2.0"
std::string code_version();  // the project version, plus the git commit when known at build time

// "host": {...}, "libraries": {...} members of the current object.
void write_environment(JsonWriter& j);

}  // namespace alexnet

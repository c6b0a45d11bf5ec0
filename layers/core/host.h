// What this process runs as: the host, its CPU, the compiler and the project's version (recorded
// in logs, reports and checkpoints, and compared across ranks).
#pragma once

#include <string>

namespace alexnet {

std::string hostname();
std::string cpu_model();     // /proc/cpuinfo's model name
std::string compiler();      // "GCC 12.2.0"
std::string code_version();  // the project version, plus the git commit when known at build time

}  // namespace alexnet

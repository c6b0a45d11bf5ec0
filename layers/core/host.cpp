// Host, CPU, compiler and project version (see host.h).
#include "core/host.h"

#include <unistd.h>

#include <fstream>

#ifndef ALEXNET_VERSION
#define ALEXNET_VERSION "unknown"
#endif

namespace alexnet {

std::string hostname() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0) return "unknown";
  return buf;
}

std::string cpu_model() {
  std::ifstream f("/proc/cpuinfo");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("model name", 0) == 0) {
      auto colon = line.find(':');
      if (colon != std::string::npos) return line.substr(line.find_first_not_of(" \t", colon + 1));
    }
  return "unknown";
}

std::string compiler() {
#if defined(__clang__)
  return "Clang " __clang_version__;
#elif defined(__GNUC__)
  return "GCC " __VERSION__;
#else
  return "unknown";
#endif
}

std::string code_version() { return ALEXNET_VERSION; }

}  // namespace alexnet

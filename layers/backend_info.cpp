// Library versions and their warnings (see backend_info.h); the queries live with the backends.
#include "layers/backend_info.h"

namespace alexnet {

std::string LibraryVersion::str(int v) const {
  if (v <= 0) return "none";
  if (cuda_style) return std::to_string(v / 1000) + "." + std::to_string((v % 1000) / 10);
  return std::to_string(v / 10000) + "." + std::to_string((v % 10000) / 100) + "." + std::to_string(v % 100);
}

std::vector<std::string> version_warnings(const std::vector<LibraryVersion>& libraries) {
  std::vector<std::string> out;
  for (const LibraryVersion& l : libraries) {
    if (l.running == 0 || l.running >= l.compiled) continue;
    if (l.name == "CUDA driver")
      out.push_back("the driver supports CUDA " + l.str(l.running) + " but this build needs the CUDA " +
                    l.str(l.compiled) + " runtime: update the driver");
    else
      out.push_back(l.name + " " + l.str(l.running) + " is older than the " + l.str(l.compiled) +
                    " this build was compiled against");
  }
  return out;
}

}  // namespace alexnet

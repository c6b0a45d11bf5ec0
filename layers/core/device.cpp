// Device naming (see device.h).
#include "core/device.h"

#include <regex>

#include "core/error.h"

namespace alexnet {

std::string Device::str() const {
  return is_cpu() ? std::string("cpu") : "cuda:" + std::to_string(index);
}

Device parse_device(const std::string& text) {
  static const std::regex re(R"((cpu)|(?:cuda|gpu)(?::(\d+))?)");
  std::smatch m;
  ALEXNET_CHECK(std::regex_match(text, m, re),
                "unknown device '" << text << "' (expected cpu, cuda or cuda:N)");
  if (m[1].matched) return Device::cpu();
  return Device::cuda(m[2].matched ? std::stoi(m[2].str()) : 0);
}

}  // namespace alexnet

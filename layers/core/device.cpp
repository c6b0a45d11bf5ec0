// Device naming (see device.h).
#include "core/device.h"

#include <regex>

#include "core/error.h"
#include "core/text.h"

namespace alexnet {

std::string Device::str() const { return is_cpu() ? std::string("cpu") : "cuda:" + std::to_string(index); }

Device parse_device(const std::string& text) {
  static const std::regex re(R"((cpu)|(?:cuda|gpu)(?::(\d+))?)");
  std::smatch m;
  ALEXNET_CHECK(std::regex_match(text, m, re), "unknown device '" << text << "' (expected cpu, cuda or cuda:N)");
  if (m[1].matched) return Device::cpu();
  const auto index = m[2].matched ? parse_int(m[2].str()) : std::optional<int64_t>(0);
  ALEXNET_CHECK(index && *index < 1 << 20, "unknown device '" << text << "' (no such GPU index)");
  return Device::cuda(static_cast<int>(*index));
}

}  // namespace alexnet

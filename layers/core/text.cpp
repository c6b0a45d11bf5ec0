// Numbers and lists from text (see text.h).
#include "core/text.h"

#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <set>
#include <sstream>

#include "core/error.h"

namespace alexnet {

std::optional<int64_t> parse_int(const std::string& text) {
  if (text.empty() || std::isspace(static_cast<unsigned char>(text[0]))) return std::nullopt;
  errno = 0;
  char* end = nullptr;
  const long long v = std::strtoll(text.c_str(), &end, 10);
  if (errno != 0 || end != text.c_str() + text.size()) return std::nullopt;
  return static_cast<int64_t>(v);
}

std::vector<std::string> split(const std::string& text, char separator) {
  std::vector<std::string> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, separator))
    if (!item.empty()) out.push_back(item);
  return out;
}

std::string format_number(double v) {
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::general);  // %g style, round trip
  return std::string(buf, r.ptr);
}

namespace {

std::string trim(const std::string& s) {
  const size_t a = s.find_first_not_of(" \t\r"), b = s.find_last_not_of(" \t\r");
  return a == std::string::npos ? std::string() : s.substr(a, b - a + 1);
}

}  // namespace

std::vector<IniEntry> parse_ini(const std::string& text, const std::string& source) {
  std::vector<IniEntry> out;
  std::set<std::string> seen;
  std::istringstream in(text);
  std::string raw;
  for (int line = 1; std::getline(in, raw); ++line) {
    const std::string s = trim(raw);
    if (s.empty() || s[0] == '#' || s[0] == ';') continue;
    const std::string where = source + " line " + std::to_string(line) + ": ";
    if (s[0] == '[') throw Error(where + "sections are not used ('" + s + "'); write name = value lines");
    const size_t eq = s.find('=');
    if (eq == std::string::npos) throw Error(where + "'" + s + "' is not a name = value line");
    std::string key = trim(s.substr(0, eq));
    if (key.rfind("--", 0) == 0) key = key.substr(2);
    if (key.empty()) throw Error(where + "'" + s + "' has no name before '='");
    if (!seen.insert(key).second) throw Error(where + key + " is given twice");
    out.push_back({key, trim(s.substr(eq + 1)), line});
  }
  return out;
}

}  // namespace alexnet

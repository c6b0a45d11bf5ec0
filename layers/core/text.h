// Reading numbers and lists out of text (command lines, label files) without exceptions for
// ordinary bad input: the caller names what was wrong.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace alexnet {

// The whole of `text` as a decimal integer; nullopt when it is anything else ("", "12x", "1e3",
// out of range).
std::optional<int64_t> parse_int(const std::string& text);

// "a,b,,c" -> {"a", "b", "c"} (empty items dropped).
std::vector<std::string> split(const std::string& text, char separator = ',');

// The shortest decimal text that reads back as exactly v ("0.9", "0.0005", "1e-06", "128").
std::string format_number(double v);

// One "name = value" line of an INI text (the value trimmed; it may be empty).
struct IniEntry {
  std::string key, value;
  int line = 0;  // 1-based
};
// Every entry of an INI text; blank lines and lines starting with '#' or ';' are skipped, a
// leading "--" on a name is dropped. Throws Error "SOURCE line N: ..." for a line without '=', an
// empty name, a [section] header, or a name given twice.
std::vector<IniEntry> parse_ini(const std::string& text, const std::string& source);

}  // namespace alexnet

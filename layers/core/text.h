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

}  // namespace alexnet

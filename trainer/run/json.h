// A small JSON writer for reports: objects, arrays, numbers, strings, booleans, written in order
// with correct commas and escaping. Non-finite numbers are written as null.
#pragma once

#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

namespace alexnet {

class JsonWriter {
 public:
  JsonWriter& begin_object(const std::string& key = "");
  JsonWriter& end_object();
  JsonWriter& begin_array(const std::string& key = "");
  JsonWriter& end_array();
  JsonWriter& value(const std::string& key, double v);
  JsonWriter& value(const std::string& key, int64_t v);
  JsonWriter& value(const std::string& key, int v) { return value(key, static_cast<int64_t>(v)); }
  JsonWriter& value(const std::string& key, bool v);
  JsonWriter& value(const std::string& key, const std::string& v);
  JsonWriter& value(const std::string& key, const char* v) { return value(key, std::string(v)); }
  JsonWriter& array(const std::string& key, const std::vector<double>& v);
  std::string str() const;

  // Writes text to path atomically (temporary file, then rename); throws Error naming the path.
  static void write_file(const std::string& path, const std::string& text);

 private:
  void key_prefix(const std::string& key);
  std::ostringstream os_;
  std::vector<bool> first_;  // per open container: nothing written yet
};

std::string json_escape(const std::string& s);

// "options": {name: value, ...} from a command's resolved options ("name = value" lines).
void write_options(JsonWriter& j, const std::string& options_ini);

// Why `path` cannot be written as a new or replaced file ("" when it can): an empty name, a
// folder, a parent folder missing or not writable.
std::string unwritable_reason(const std::string& path);

}  // namespace alexnet

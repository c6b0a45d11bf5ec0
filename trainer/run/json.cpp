// JSON writer (see json.h).
#include "run/json.h"

#include <unistd.h>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iomanip>

#include "core/error.h"
#include "core/text.h"

namespace alexnet {

std::string json_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += c;
        }
    }
  }
  return out;
}

void JsonWriter::key_prefix(const std::string& key) {
  if (!first_.empty()) {
    if (!first_.back()) os_ << ",";
    first_.back() = false;
  }
  if (!key.empty()) os_ << "\"" << json_escape(key) << "\":";
}

JsonWriter& JsonWriter::begin_object(const std::string& key) {
  key_prefix(key);
  os_ << "{";
  first_.push_back(true);
  return *this;
}

JsonWriter& JsonWriter::end_object() {
  os_ << "}";
  first_.pop_back();
  return *this;
}

JsonWriter& JsonWriter::begin_array(const std::string& key) {
  key_prefix(key);
  os_ << "[";
  first_.push_back(true);
  return *this;
}

JsonWriter& JsonWriter::end_array() {
  os_ << "]";
  first_.pop_back();
  return *this;
}

JsonWriter& JsonWriter::value(const std::string& key, double v) {
  key_prefix(key);
  if (std::isfinite(v))
    os_ << std::setprecision(10) << v;
  else
    os_ << "null";
  return *this;
}

JsonWriter& JsonWriter::value(const std::string& key, int64_t v) {
  key_prefix(key);
  os_ << v;
  return *this;
}

JsonWriter& JsonWriter::value(const std::string& key, bool v) {
  key_prefix(key);
  os_ << (v ? "true" : "false");
  return *this;
}

JsonWriter& JsonWriter::value(const std::string& key, const std::string& v) {
  key_prefix(key);
  os_ << "\"" << json_escape(v) << "\"";
  return *this;
}

JsonWriter& JsonWriter::array(const std::string& key, const std::vector<double>& v) {
  begin_array(key);
  for (double x : v) value("", x);
  return end_array();
}

std::string JsonWriter::str() const { return os_.str(); }

void JsonWriter::write_file(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::trunc);
    if (!f) throw Error("cannot write " + tmp);
    f << text << "\n";
    f.flush();
    if (!f) throw Error("writing " + tmp + " failed (disk full?)");
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) throw Error("cannot rename " + tmp + " to " + path);
}

void write_options(JsonWriter& j, const std::string& options_ini) {
  j.begin_object("options");
  for (const IniEntry& e : parse_ini(options_ini, "the options")) j.value(e.key, e.value);
  j.end_object();
}

std::string unwritable_reason(const std::string& path) {
  namespace fs = std::filesystem;
  if (path.empty()) return "the file name is empty";
  std::error_code ec;
  if (fs::is_directory(path, ec)) return "is a folder, not a file";
  const fs::path parent = fs::path(path).parent_path().empty() ? fs::path(".") : fs::path(path).parent_path();
  if (!fs::exists(parent, ec)) return "its folder " + parent.string() + " does not exist";
  if (!fs::is_directory(parent, ec)) return parent.string() + " is not a folder";
  if (access(parent.c_str(), W_OK | X_OK) != 0) return "its folder " + parent.string() + " is not writable";
  if (fs::exists(path, ec) && access(path.c_str(), W_OK) != 0) return "the file exists and is not writable";
  return "";
}

}  // namespace alexnet

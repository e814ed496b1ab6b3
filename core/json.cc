#include "json.h"

#include <cmath>
#include <cstdio>

namespace r1lab {

std::string JsonEscape(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

std::string JsonNumber(double v) {
  if (!std::isfinite(v)) return "null";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

void Json::Key(const std::string& key) {
  if (!body_.empty()) body_ += ",";
  body_ += JsonEscape(key) + ":";
}

Json& Json::Add(const std::string& key, double v) { Key(key); body_ += JsonNumber(v); return *this; }
Json& Json::Add(const std::string& key, int64_t v) { Key(key); body_ += std::to_string(v); return *this; }
Json& Json::Add(const std::string& key, uint64_t v) { Key(key); body_ += std::to_string(v); return *this; }
Json& Json::Add(const std::string& key, bool v) { Key(key); body_ += v ? "true" : "false"; return *this; }
Json& Json::Add(const std::string& key, const std::string& v) { Key(key); body_ += JsonEscape(v); return *this; }
Json& Json::Add(const std::string& key, const Json& v) { Key(key); body_ += v.str(); return *this; }
Json& Json::AddRaw(const std::string& key, const std::string& raw) { Key(key); body_ += raw; return *this; }
Json& Json::Add(const std::string& key, const std::vector<double>& v) {
  Key(key);
  body_ += "[";
  for (size_t i = 0; i < v.size(); ++i) body_ += (i ? "," : "") + JsonNumber(v[i]);
  body_ += "]";
  return *this;
}

}  // namespace r1lab

#include "json.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "error.h"

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

namespace r1lab {

class JsonParser {
 public:
  explicit JsonParser(const std::string& t) : t_(t) {}
  JsonValue Document() {
    JsonValue v = Value(0);
    Space();
    if (i_ != t_.size()) Fail("trailing characters");
    return v;
  }

 private:
  [[noreturn]] void Fail(const std::string& what) {
    throw InputError("JSON: " + what + " at offset " + std::to_string(i_));
  }
  void Space() {
    while (i_ < t_.size() && (t_[i_] == ' ' || t_[i_] == '\t' || t_[i_] == '\n' || t_[i_] == '\r')) ++i_;
  }
  bool Eat(const char* word) {
    const size_t n = std::strlen(word);
    if (t_.compare(i_, n, word) != 0) return false;
    i_ += n;
    return true;
  }
  JsonValue Value(int depth) {
    if (depth > 200) Fail("nesting deeper than 200 levels");
    Space();
    if (i_ >= t_.size()) Fail("unexpected end");
    JsonValue v;
    const char c = t_[i_];
    if (c == '{') {
      v.kind_ = JsonValue::kObject;
      ++i_;
      Space();
      if (i_ < t_.size() && t_[i_] == '}') return ++i_, v;
      while (true) {
        Space();
        if (i_ >= t_.size() || t_[i_] != '"') Fail("expected a key string");
        std::string key = String();
        Space();
        if (i_ >= t_.size() || t_[i_] != ':') Fail("expected ':'");
        ++i_;
        v.o_.emplace_back(std::move(key), Value(depth + 1));
        Space();
        if (i_ < t_.size() && t_[i_] == ',') { ++i_; continue; }
        if (i_ < t_.size() && t_[i_] == '}') { ++i_; return v; }
        Fail("expected ',' or '}'");
      }
    }
    if (c == '[') {
      v.kind_ = JsonValue::kArray;
      ++i_;
      Space();
      if (i_ < t_.size() && t_[i_] == ']') return ++i_, v;
      while (true) {
        v.a_.push_back(Value(depth + 1));
        Space();
        if (i_ < t_.size() && t_[i_] == ',') { ++i_; continue; }
        if (i_ < t_.size() && t_[i_] == ']') { ++i_; return v; }
        Fail("expected ',' or ']'");
      }
    }
    if (c == '"') {
      v.kind_ = JsonValue::kString;
      v.s_ = String();
      return v;
    }
    if (Eat("true")) { v.kind_ = JsonValue::kBool; v.b_ = true; return v; }
    if (Eat("false")) { v.kind_ = JsonValue::kBool; return v; }
    if (Eat("null")) return v;
    const char* begin = t_.c_str() + i_;
    char* end = nullptr;
    v.n_ = std::strtod(begin, &end);
    if (end == begin) Fail("unexpected character");
    i_ += static_cast<size_t>(end - begin);
    v.kind_ = JsonValue::kNumber;
    return v;
  }
  std::string String() {
    ++i_;  // opening quote
    std::string out;
    while (true) {
      if (i_ >= t_.size()) Fail("unterminated string");
      const char c = t_[i_++];
      if (c == '"') return out;
      if (c != '\\') { out += c; continue; }
      if (i_ >= t_.size()) Fail("unterminated escape");
      const char e = t_[i_++];
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          if (i_ + 4 > t_.size()) Fail("short \\u escape");
          const unsigned cp = static_cast<unsigned>(std::stoul(t_.substr(i_, 4), nullptr, 16));
          i_ += 4;
          if (cp < 0x80) out += static_cast<char>(cp);
          else if (cp < 0x800) out += static_cast<char>(0xC0 | (cp >> 6)), out += static_cast<char>(0x80 | (cp & 0x3F));
          else out += static_cast<char>(0xE0 | (cp >> 12)), out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F)),
                      out += static_cast<char>(0x80 | (cp & 0x3F));
          break;
        }
        default: Fail("bad escape");
      }
    }
  }
  const std::string& t_;
  size_t i_ = 0;
};

JsonValue JsonValue::Parse(const std::string& text) { return JsonParser(text).Document(); }

double JsonValue::number() const {
  if (kind_ != kNumber) throw InputError("JSON: expected a number");
  return n_;
}
bool JsonValue::boolean() const {
  if (kind_ != kBool) throw InputError("JSON: expected true or false");
  return b_;
}
const std::string& JsonValue::string() const {
  if (kind_ != kString) throw InputError("JSON: expected a string");
  return s_;
}
const std::vector<JsonValue>& JsonValue::array() const {
  if (kind_ != kArray) throw InputError("JSON: expected an array");
  return a_;
}
const std::vector<std::pair<std::string, JsonValue>>& JsonValue::members() const {
  if (kind_ != kObject) throw InputError("JSON: expected an object");
  return o_;
}
const JsonValue* JsonValue::find(const std::string& key) const {
  if (kind_ != kObject) return nullptr;
  for (const auto& [k, v] : o_)
    if (k == key) return &v;
  return nullptr;
}
const JsonValue& JsonValue::at(const std::string& key) const {
  const JsonValue* v = find(key);
  if (!v) throw InputError("JSON: missing field '" + key + "'");
  return *v;
}

}  // namespace r1lab

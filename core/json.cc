#include "json.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "error.h"
#include "text.h"

namespace r1lab {

std::string JsonEscape(const std::string& s) {
  std::string out = "\"";
  for (size_t i = 0; i < s.size();) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    const size_t n = Utf8SequenceLength(s, i);
    if (n == 0) {  // not UTF-8: written as U+FFFD, so every line we write is valid UTF-8
      out += "\\ufffd";
      ++i;
      continue;
    }
    if (n > 1) {
      out.append(s, i, n);
      i += n;
      continue;
    }
    ++i;
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

std::string JsonNumber(double v) { return std::isfinite(v) ? PrintedNumber(v) : "null"; }

std::string PrintedNumber(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

std::string RoundJsonNumbers(const std::string& text, int digits, bool (*coarse)(const std::string& key),
                             int coarse_digits) {
  auto in_number = [](char ch) {
    return (ch >= '0' && ch <= '9') || ch == '.' || ch == 'e' || ch == 'E' || ch == '+' || ch == '-';
  };
  std::string out;
  out.reserve(text.size());
  bool in_string = false;
  size_t string_start = 0;  // in `out`, after the opening quote
  std::string last_string, key;  // the last string closed; the key whose value comes next
  for (size_t i = 0; i < text.size();) {
    const char c = text[i];
    if (in_string) {
      out += c;
      ++i;
      if (c == '\\' && i < text.size()) {
        out += text[i++];
      } else if (c == '"') {
        in_string = false;
        last_string = out.substr(string_start, out.size() - 1 - string_start);
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
      string_start = out.size() + 1;
    } else if (c == ':') {
      key = last_string;
    } else if (c == ',' || c == '{' || c == '[' || c == '}' || c == ']') {
      key.clear();  // an array's elements are no member's value
    }
    if (c != '-' && (c < '0' || c > '9')) {
      out += c;
      ++i;
      continue;
    }
    size_t j = i + 1;
    while (j < text.size() && in_number(text[j])) ++j;
    const std::string token = text.substr(i, j - i);
    i = j;
    const double v = std::strtod(token.c_str(), nullptr);
    char buf[40];
    std::snprintf(buf, sizeof buf, "%.*g", coarse != nullptr && !key.empty() && coarse(key) ? coarse_digits : digits, v);
    const bool plain_integer = token.find_first_of(".eE") == std::string::npos;
    out += plain_integer || !std::isfinite(v) || std::strtod(buf, nullptr) == v ? token : std::string(buf);
  }
  return out;
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
        const size_t key_at = i_;
        std::string key = String();
        for (const auto& member : v.o_)
          if (member.first == key) i_ = key_at, Fail("duplicate key '" + ValidUtf8(key) + "'");
        Space();
        if (i_ >= t_.size() || t_[i_] != ':') Fail("expected ':'");
        ++i_;
        v.o_.emplace_back(key, Value(depth + 1));
        v.o_.back().second.name_ = std::move(key);
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
    return Number();
  }
  // JSON's number grammar exactly: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
  // (no NaN, Infinity, hex, leading '+' or leading zeros).
  JsonValue Number() {
    const size_t begin = i_;
    const auto digits = [&] {
      const size_t from = i_;
      while (i_ < t_.size() && t_[i_] >= '0' && t_[i_] <= '9') ++i_;
      return i_ - from;
    };
    if (i_ < t_.size() && t_[i_] == '-') ++i_;
    if (i_ >= t_.size() || t_[i_] < '0' || t_[i_] > '9') i_ = begin, Fail("unexpected character");
    if (t_[i_] == '0') {
      ++i_;
      if (i_ < t_.size() && t_[i_] >= '0' && t_[i_] <= '9') i_ = begin, Fail("number with a leading zero");
    } else {
      digits();
    }
    if (i_ < t_.size() && t_[i_] == '.') {
      ++i_;
      if (digits() == 0) Fail("expected a digit after '.'");
    }
    if (i_ < t_.size() && (t_[i_] == 'e' || t_[i_] == 'E')) {
      ++i_;
      if (i_ < t_.size() && (t_[i_] == '+' || t_[i_] == '-')) ++i_;
      if (digits() == 0) Fail("expected a digit in the exponent");
    }
    JsonValue v;
    v.kind_ = JsonValue::kNumber;
    v.n_ = std::strtod(t_.substr(begin, i_ - begin).c_str(), nullptr);
    if (!std::isfinite(v.n_)) i_ = begin, Fail("number out of range");
    return v;
  }
  unsigned Hex4() {
    if (i_ + 4 > t_.size()) Fail("short \\u escape");
    unsigned cp = 0;
    for (int k = 0; k < 4; ++k) {
      const char h = t_[i_ + k];
      const int d = h >= '0' && h <= '9' ? h - '0' : h >= 'a' && h <= 'f' ? h - 'a' + 10 : h >= 'A' && h <= 'F' ? h - 'A' + 10 : -1;
      if (d < 0) Fail("\\u escape needs four hex digits");
      cp = cp * 16 + static_cast<unsigned>(d);
    }
    i_ += 4;
    return cp;
  }
  std::string String() {
    ++i_;  // opening quote
    std::string out;
    while (true) {
      if (i_ >= t_.size()) Fail("unterminated string");
      const char c = t_[i_++];
      if (c == '"') return out;
      if (static_cast<unsigned char>(c) < 0x20) --i_, Fail("control character in a string (write it as an escape)");
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
          unsigned cp = Hex4();
          if (cp >= 0xDC00 && cp <= 0xDFFF) Fail("\\u escape is a lone low surrogate");
          if (cp >= 0xD800 && cp <= 0xDBFF) {  // a high surrogate must be followed by a low one
            if (!Eat("\\u")) Fail("\\u escape is a lone high surrogate");
            const unsigned low = Hex4();
            if (low < 0xDC00 || low > 0xDFFF) Fail("\\u escape is a lone high surrogate");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
          }
          AppendUtf8(cp, &out);
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

const char* JsonValue::KindName(Kind k) {
  switch (k) {
    case kNull: return "null";
    case kBool: return "a boolean";
    case kNumber: return "a number";
    case kString: return "a string";
    case kArray: return "an array";
    case kObject: return "an object";
  }
  return "?";
}
void JsonValue::Expect(Kind k) const {
  if (kind_ == k) return;
  const std::string where = name_.empty() ? "JSON: " : "JSON field '" + ValidUtf8(name_) + "': ";
  throw InputError(where + "expected " + KindName(k) + ", got " + KindName(kind_));
}
double JsonValue::number() const {
  Expect(kNumber);
  return n_;
}
bool JsonValue::boolean() const {
  Expect(kBool);
  return b_;
}
const std::string& JsonValue::string() const {
  Expect(kString);
  return s_;
}
const std::vector<JsonValue>& JsonValue::array() const {
  Expect(kArray);
  return a_;
}
const std::vector<std::pair<std::string, JsonValue>>& JsonValue::members() const {
  Expect(kObject);
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
  if (!v) throw InputError("JSON: missing field '" + ValidUtf8(key) + "'");
  return *v;
}

}  // namespace r1lab

// A minimal JSON object writer for metrics and results lines.
//   Json().Add("step", 3).Add("loss", 0.5).str()  ->  {"step":3,"loss":0.5}
// Non-finite doubles are written as null (JSON has no NaN).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace r1lab {

std::string JsonEscape(const std::string& s);  // with the quotes

class Json {
 public:
  Json& Add(const std::string& key, double v);
  Json& Add(const std::string& key, int v) { return Add(key, static_cast<int64_t>(v)); }
  Json& Add(const std::string& key, int64_t v);
  Json& Add(const std::string& key, uint64_t v);
  Json& Add(const std::string& key, bool v);
  Json& Add(const std::string& key, const std::string& v);
  Json& Add(const std::string& key, const char* v) { return Add(key, std::string(v)); }
  Json& Add(const std::string& key, const Json& v);
  Json& Add(const std::string& key, const std::vector<double>& v);
  Json& AddRaw(const std::string& key, const std::string& raw_json);
  std::string str() const { return "{" + body_ + "}"; }
  // The members without braces, to splice into another object.
  const std::string& members() const { return body_; }

 private:
  void Key(const std::string& key);
  std::string body_;
};

std::string JsonNumber(double v);
// A number as "%.9g" writes it, NaN and infinities included ("nan", "inf"):
// for messages that name a bad value, which JsonNumber would show as null.
std::string PrintedNumber(double v);

// `text` (JSON or JSON lines) with each number that has a fraction or an
// exponent rounded to `digits` significant digits, as JsonNumber writes
// them; integers, strings and everything else stay byte for byte, and a
// number already that short keeps its spelling (so rounding twice changes
// nothing). At 9 digits every float32 value survives exactly. A number that
// is an object member's value, where `coarse` holds for the member's key
// (as written, without its quotes), gets `coarse_digits` instead.
std::string RoundJsonNumbers(const std::string& text, int digits, bool (*coarse)(const std::string& key) = nullptr,
                             int coarse_digits = 0);

}  // namespace r1lab

namespace r1lab {

// A parsed JSON value (for reading back our own results and JSONL inputs).
// Strict RFC 8259: Parse() throws InputError naming the offset of the first
// problem, including NaN/Infinity, hex, '+7' or '07' numbers, bad or lone
// surrogate \u escapes, raw control characters in strings and duplicate keys;
// nesting deeper than 200 levels is refused rather than recursed into. A
// typed accessor on an object member names the field when the type is wrong.
class JsonValue {
 public:
  enum Kind { kNull, kBool, kNumber, kString, kArray, kObject };
  static JsonValue Parse(const std::string& text);

  Kind kind() const { return kind_; }
  bool is_null() const { return kind_ == kNull; }
  double number() const;
  bool boolean() const;
  const std::string& string() const;
  const std::vector<JsonValue>& array() const;
  // Object members in file order.
  const std::vector<std::pair<std::string, JsonValue>>& members() const;
  // Member by key; nullptr if absent (or not an object).
  const JsonValue* find(const std::string& key) const;
  // Member by key; InputError naming the key if absent.
  const JsonValue& at(const std::string& key) const;
  double num(const std::string& key) const { return at(key).number(); }

 private:
  friend class JsonParser;
  static const char* KindName(Kind k);
  void Expect(Kind k) const;
  Kind kind_ = kNull;
  std::string name_;  // the member's key, for error messages
  bool b_ = false;
  double n_ = 0;
  std::string s_;
  std::vector<JsonValue> a_;
  std::vector<std::pair<std::string, JsonValue>> o_;
};

}  // namespace r1lab

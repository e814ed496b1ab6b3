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

 private:
  void Key(const std::string& key);
  std::string body_;
};

std::string JsonNumber(double v);

}  // namespace r1lab

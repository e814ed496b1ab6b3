#include "answer.h"

#include <cctype>

namespace r1lab {

namespace {

std::string Trim(const std::string& s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return s.substr(b, e - b);
}

size_t Count(const std::string& s, const std::string& sub) {
  size_t n = 0;
  for (size_t p = s.find(sub); p != std::string::npos; p = s.find(sub, p + sub.size())) ++n;
  return n;
}

std::string StripEos(const std::string& s) {
  const std::string eos = "<eos>";
  if (s.size() >= eos.size() && s.compare(s.size() - eos.size(), eos.size(), eos) == 0)
    return s.substr(0, s.size() - eos.size());
  return s;
}

}  // namespace

Extraction ExtractTaggedAnswer(const std::string& completion) {
  Extraction x;
  const size_t open = completion.rfind("<answer>");
  if (open == std::string::npos) {
    x.error = "no answer";
    return x;
  }
  const size_t body = open + 8;
  const size_t close = completion.find("</answer>", body);
  if (close == std::string::npos) {
    x.error = "unclosed <answer>";
    return x;
  }
  x.answer = Trim(completion.substr(body, close - body));
  if (x.answer.empty()) {
    x.error = "empty answer";
    return x;
  }
  x.ok = true;
  return x;
}

bool FormatOk(const std::string& completion_in) {
  const std::string c = StripEos(completion_in);
  for (const char* tag : {"<think>", "</think>", "<answer>", "</answer>"})
    if (Count(c, tag) != 1) return false;
  const size_t a = c.find("<think>"), b = c.find("</think>"), d = c.find("<answer>"), e = c.find("</answer>");
  return a == 0 && a < b && b + 8 == d && d < e && e + 9 == c.size();
}

bool ParseInteger(const std::string& s_in, long long* value) {
  const std::string s = Trim(s_in);
  size_t i = 0;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
  if (i == s.size() || s.size() - i > 18) return false;
  for (size_t j = i; j < s.size(); ++j)
    if (!std::isdigit(static_cast<unsigned char>(s[j]))) return false;
  *value = std::stoll(s);
  return true;
}

Verdict VerifyIntegerAnswer(const std::string& completion, const std::string& gold) {
  Verdict v;
  v.format_ok = FormatOk(completion);
  const Extraction x = ExtractTaggedAnswer(completion);
  if (!x.ok) {
    v.error = x.error;
    return v;
  }
  v.extracted = x.answer;
  long long got = 0, want = 0;
  v.correct = ParseInteger(x.answer, &got) && ParseInteger(gold, &want) && got == want;
  return v;
}

}  // namespace r1lab

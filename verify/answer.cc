#include "answer.h"

#include <cctype>
#include <cerrno>
#include <cstdlib>

#include "math_equiv.h"
#include "text.h"

namespace r1lab {

namespace {

size_t Count(const std::string& s, const std::string& sub) {
  size_t n = 0;
  for (size_t p = s.find(sub); p != std::string::npos; p = s.find(sub, p + sub.size())) ++n;
  return n;
}

}  // namespace

std::string StripEos(const std::string& s) {
  const std::string eos = "<eos>";
  if (s.size() >= eos.size() && s.compare(s.size() - eos.size(), eos.size(), eos) == 0)
    return s.substr(0, s.size() - eos.size());
  return s;
}

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

Extraction ExtractBoxed(const std::string& text) {
  Extraction x;
  size_t at = std::string::npos, len = 0;
  for (const char* cmd : {"\\boxed", "\\fbox"}) {
    const size_t p = text.rfind(cmd);
    if (p != std::string::npos && (at == std::string::npos || p > at)) {
      at = p;
      len = std::char_traits<char>::length(cmd);
    }
  }
  if (at == std::string::npos) {
    x.error = "no answer";
    return x;
  }
  size_t i = at + len;
  if (i < text.size() && text[i] == ' ') {  // "\boxed 5"
    size_t e = ++i;
    while (e < text.size() && !std::isspace(static_cast<unsigned char>(text[e])) && text[e] != '$') ++e;
    x.answer = Trim(text.substr(i, e - i));
  } else if (i < text.size() && text[i] == '{') {
    int depth = 0;
    size_t close = std::string::npos;
    for (size_t k = i; k < text.size(); ++k) {
      if (text[k] == '\\' && k + 1 < text.size()) {
        ++k;  // \{ and \} are characters, not groups
        continue;
      }
      if (text[k] == '{') ++depth;
      else if (text[k] == '}' && --depth == 0) {
        close = k;
        break;
      }
    }
    if (close == std::string::npos) {
      x.error = "unbalanced braces";
      return x;
    }
    x.answer = Trim(text.substr(i + 1, close - i - 1));
  } else {
    x.error = "no answer";
    return x;
  }
  if (x.answer.empty()) {
    x.error = "empty answer";
    return x;
  }
  x.ok = true;
  return x;
}

Extraction ExtractMathAnswer(const std::string& completion, MathExtraction how) {
  Extraction tagged = ExtractTaggedAnswer(completion);
  if (tagged.ok) {
    if (tagged.answer.find("\\boxed") != std::string::npos || tagged.answer.find("\\fbox") != std::string::npos)
      return ExtractBoxed(tagged.answer);
    return tagged;
  }
  if (tagged.error != "no answer") return tagged;
  Extraction boxed = ExtractBoxed(completion);
  if (boxed.ok || boxed.error != "no answer" || how == MathExtraction::kTagged) return boxed;
  return ExtractFreeTextAnswer(completion);
}

namespace {

// The last number in text: an optional sign, digits with thousands commas,
// a decimal part, or a fraction a/b. Empty if there is none.
std::string LastNumber(const std::string& t) {
  std::string last;
  for (size_t i = 0; i < t.size();) {
    if (!std::isdigit(static_cast<unsigned char>(t[i]))) {
      ++i;
      continue;
    }
    size_t b = i;
    if (b > 0 && t[b - 1] == '-') --b;
    size_t e = i;
    const auto digit = [&](size_t k) { return k < t.size() && std::isdigit(static_cast<unsigned char>(t[k])); };
    while (digit(e) || (t[e] == ',' && digit(e + 1) && digit(e + 2) && digit(e + 3) && !digit(e + 4))) e += t[e] == ',' ? 4 : 1;
    if (e + 1 < t.size() && (t[e] == '.' || t[e] == '/') && digit(e + 1)) {
      ++e;
      while (digit(e)) ++e;
    }
    last = t.substr(b, e - b);
    i = e;
  }
  return last;
}

}  // namespace

Extraction ExtractFreeTextAnswer(const std::string& text) {
  Extraction x;
  std::string lower = text;
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  size_t from = std::string::npos, best = 0;
  for (const char* phrase : {"answer is", "answer:", "####"}) {
    const size_t p = lower.rfind(phrase);
    if (p != std::string::npos && (from == std::string::npos || p >= best)) {
      best = p;
      from = p + std::char_traits<char>::length(phrase);
    }
  }
  if (from != std::string::npos) {
    std::string rest = ReplaceAll(Trim(text.substr(from)), "**", "");
    while (!rest.empty() && (rest[0] == ':' || rest[0] == ' ')) rest.erase(0, 1);
    if (!rest.empty() && rest[0] == '$') {  // inline math: up to the closing $
      const size_t open = rest.find_first_not_of('$');
      const size_t close = open == std::string::npos ? open : rest.find('$', open);
      rest = open == std::string::npos ? "" : rest.substr(open, close == std::string::npos ? close : close - open);
    } else {
      rest = rest.substr(0, rest.find('\n'));
      for (const char* end : {". ", ".\t"})
        if (const size_t p = rest.find(end); p != std::string::npos) rest = rest.substr(0, p);
    }
    rest = Trim(rest);
    while (!rest.empty() && (rest.back() == '.' || rest.back() == '$')) rest.pop_back();
    x.answer = Trim(rest);
  }
  if (x.answer.empty()) x.answer = LastNumber(text);
  if (x.answer.empty()) {
    x.error = "no answer";
    return x;
  }
  x.ok = true;
  return x;
}

Extraction ExtractHashAnswer(const std::string& text) {
  Extraction x;
  const size_t p = text.rfind("####");
  if (p == std::string::npos) {
    x.error = "no answer";
    return x;
  }
  std::string a;
  for (char c : Trim(text.substr(p + 4)))
    if (c != ',') a += c;
  while (!a.empty() && a.back() == '.') a.pop_back();
  x.answer = Trim(a);
  if (x.answer.empty()) {
    x.error = "empty answer";
    return x;
  }
  x.ok = true;
  return x;
}

bool FormatOk(const std::string& completion_in, bool allow_whitespace) {
  const std::string c = StripEos(completion_in);
  for (const char* tag : {"<think>", "</think>", "<answer>", "</answer>"})
    if (Count(c, tag) != 1) return false;
  const size_t a = c.find("<think>"), b = c.find("</think>"), d = c.find("<answer>"), e = c.find("</answer>");
  if (!(a < b && b + 8 <= d && d < e)) return false;
  auto blank = [&](size_t from, size_t to) {  // [from, to) empty, or whitespace where allowed
    if (from == to) return true;
    if (!allow_whitespace) return false;
    for (size_t i = from; i < to; ++i)
      if (!std::isspace(static_cast<unsigned char>(c[i]))) return false;
    return true;
  };
  return blank(0, a) && blank(b + 8, d) && blank(e + 9, c.size());
}

bool ParseInteger(const std::string& s_in, long long* value) {
  const std::string s = Trim(s_in);
  size_t i = 0;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
  if (i == s.size()) return false;
  for (size_t j = i; j < s.size(); ++j)
    if (!std::isdigit(static_cast<unsigned char>(s[j]))) return false;
  // Every value of a signed 64-bit integer, exactly: strtoll says when it is beyond.
  errno = 0;
  const long long v = std::strtoll(s.c_str(), nullptr, 10);
  if (errno == ERANGE) return false;
  *value = v;
  return true;
}

Verdict JudgeExtracted(const std::string& completion, const Extraction& x,
                       const std::function<bool(const std::string& answer, std::string* why)>& judge) {
  Verdict v;
  v.format_ok = FormatOk(completion);
  if (!x.ok) {
    v.error = x.error;
    return v;
  }
  v.extracted = x.answer;
  v.correct = judge(x.answer, &v.error);
  return v;
}

Verdict VerifyIntegerAnswer(const std::string& completion, const std::string& gold) {
  return JudgeExtracted(completion, ExtractTaggedAnswer(completion), [&](const std::string& a, std::string*) {
    long long got = 0, want = 0;
    return ParseInteger(a, &got) && ParseInteger(gold, &want) && got == want;
  });
}

Verdict VerifyMathAnswer(const std::string& completion, const std::string& gold, double rel_tol, MathExtraction how) {
  return JudgeExtracted(completion, ExtractMathAnswer(completion, how), [&](const std::string& a, std::string* why) {
    MathOptions opt;
    opt.rel_tol = rel_tol;
    const MathJudgement j = CompareMath(gold, a, opt);
    if (j.result == MathResult::kUnverifiable) *why = "unverifiable: " + j.reason;
    return j.result == MathResult::kEqual;
  });
}

}  // namespace r1lab

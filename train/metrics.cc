#include "metrics.h"

#include <cctype>
#include <algorithm>
#include <map>

#include "error.h"
#include "steps.h"

namespace r1lab {

double PassAtK(int n, int c, int k) {
  R1_CHECK(k >= 1 && k <= n && c >= 0 && c <= n, "PassAtK: need 1 <= k <= n and 0 <= c <= n");
  if (n - c < k) return 1.0;
  // C(n-c, k) / C(n, k) = prod_{i=n-c+1}^{n} (1 - k / i)
  double miss = 1.0;
  for (int i = n - c + 1; i <= n; ++i) miss *= 1.0 - static_cast<double>(k) / i;
  return 1.0 - miss;
}

std::string MajorityAnswer(const std::vector<std::string>& answers) {
  std::map<std::string, int> count;
  int best_n = 0;
  for (const auto& a : answers)
    if (!a.empty()) best_n = std::max(best_n, ++count[a]);
  for (const auto& a : answers)
    if (!a.empty() && count[a] == best_n) return a;  // first seen among the tied
  return "";
}

const std::vector<std::string>& ReflectiveWords() {
  static const std::vector<std::string> w = {"wait", "mistake", "however", "but", "retry",
                                             "error", "verify", "evaluate", "check"};
  return w;
}

int CountWord(const std::string& text, const std::string& word) {
  int n = 0;
  const size_t L = word.size();
  for (size_t i = 0; i + L <= text.size(); ++i) {
    bool match = true;
    for (size_t j = 0; j < L && match; ++j)
      match = std::tolower(static_cast<unsigned char>(text[i + j])) == word[j];
    if (!match) continue;
    const bool left = i == 0 || !std::isalpha(static_cast<unsigned char>(text[i - 1]));
    const bool right = i + L == text.size() || !std::isalpha(static_cast<unsigned char>(text[i + L]));
    if (left && right) ++n;
  }
  return n;
}

int CountReflectiveWords(const std::string& text) {
  int n = 0;
  for (const auto& w : ReflectiveWords()) n += CountWord(text, w);
  return n;
}

size_t FirstCheckLine(const std::string& completion) {
  const size_t open = completion.find("<think>");
  if (open == std::string::npos) return std::string::npos;
  const size_t body = open + std::string("<think>").size();
  const size_t close = std::min(completion.find("</think>"), completion.find("<answer>"));
  for (const Segment& line : SegmentSteps(completion, {Segmenter::kLine})) {
    const size_t b = std::max(line.begin, body), e = std::min(line.end, close);
    if (b < e && CountReflectiveWords(completion.substr(b, e - b)) > 0) return b;
  }
  return std::string::npos;
}

bool HasRevision(const std::string& completion) {
  if (completion.find("<think>") == std::string::npos) return false;
  const size_t close = std::min(completion.find("</think>"), completion.find("<answer>"));
  const std::vector<Segment> lines = SegmentSteps(completion, {Segmenter::kLine});
  // Lines of the chain of thought after its first (the last segment may be the answer part).
  for (size_t i = 1; i < lines.size() && lines[i].begin < close; ++i) {
    const size_t b = completion.find_first_not_of(" \t\n", lines[i].begin);
    const std::string first = completion.substr(b, completion.find_first_of(" \t\n", b) - b);
    if (CountWord(first, "wait") == 1 || CountWord(first, "espera") == 1) return true;
  }
  return false;
}

}  // namespace r1lab

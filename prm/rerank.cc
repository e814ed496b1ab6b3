#include "rerank.h"

#include <map>

#include "error.h"

namespace r1lab {

const char* SelectionName(Selection s) {
  switch (s) {
    case Selection::kScore: return "score";
    case Selection::kMajority: return "majority";
    case Selection::kWeightedMajority: return "weighted majority";
  }
  return "?";
}

int Select(const std::vector<Candidate>& c, int n, Selection how) {
  if (n < 1 || n > static_cast<int>(c.size()))
    throw InputError("best-of-n: n=" + std::to_string(n) + " but " + std::to_string(c.size()) + " candidates");
  if (how == Selection::kScore) {
    int best = 0;
    for (int i = 1; i < n; ++i)
      if (c[i].score > c[best].score) best = i;
    return best;
  }
  // Votes (or score-weighted votes) per answer, remembering where each answer first appears.
  std::map<std::string, std::pair<double, int>> tally;  // answer -> (weight, first index)
  for (int i = 0; i < n; ++i) {
    if (c[i].answer.empty()) continue;
    auto [it, fresh] = tally.try_emplace(c[i].answer, 0.0, i);
    it->second.first += how == Selection::kMajority ? 1.0 : c[i].score;
  }
  int best = -1;
  double best_w = 0;
  for (const auto& [answer, wf] : tally)
    if (best < 0 || wf.first > best_w || (wf.first == best_w && wf.second < best)) {
      best = wf.second;
      best_w = wf.first;
    }
  return best < 0 ? 0 : best;
}

double SelectionAccuracy(const std::vector<std::vector<Candidate>>& problems, int n, Selection how) {
  if (problems.empty()) return 0;
  int right = 0;
  for (const auto& c : problems) right += c[Select(c, n, how)].correct;
  return static_cast<double>(right) / static_cast<double>(problems.size());
}

}  // namespace r1lab

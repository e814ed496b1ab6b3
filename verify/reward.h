// The rule reward: a weighted chain of verifier terms built from
// RewardConfig. Score() is pure and thread-safe; ScoreBatch() scores in
// parallel with oneTBB. Terms with weight 0 are still computed and reported
// (so a metric never silently disappears), but add nothing to the total.
#pragma once

#include <string>
#include <vector>

#include "answer.h"
#include "r1lab.pb.h"

namespace r1lab {

struct RewardBreakdown {
  double total = 0;
  std::vector<double> terms;  // aligned with RewardChain::term_names()
  Verdict verdict;
};

struct Scored {
  std::string completion;  // decoded text, specials by name
  int length = 0;          // tokens, stop token included
  bool truncated = false;
};

class RewardChain {
 public:
  // max_new_tokens: the length the overlong term measures against.
  RewardChain(const RewardConfig& cfg, int max_new_tokens);
  const std::vector<std::string>& term_names() const { return names_; }
  RewardBreakdown Score(const Scored& sample, const std::string& gold) const;
  std::vector<RewardBreakdown> ScoreBatch(const std::vector<Scored>& samples,
                                          const std::vector<const std::string*>& golds) const;

 private:
  RewardConfig cfg_;
  int max_new_tokens_;
  std::vector<std::string> names_;
  std::vector<double> weights_;
};

// DAPO's soft overlong punishment in [-1, 0].
double OverlongPenalty(int length, int max_length, int buffer);

}  // namespace r1lab

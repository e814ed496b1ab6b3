// The rule reward: a weighted chain of terms built from RewardConfig, over a
// completion and the task verifier's verdict on it:
//   accuracy  1 if the verdict is correct
//   format    1 if the format is right
//   language  share of chain-of-thought words in the prompt's language
//             (only when language_weight > 0)
//   overlong  DAPO's soft penalty in [-1, 0] (only when overlong_buffer > 0)
// Score() is pure and thread-safe (batches are scored in parallel with
// oneTBB by the caller, see ScoreRollouts). accuracy and format are computed
// and reported even at weight 0, so a metric never silently disappears.
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
  std::string language = "en";  // the prompt's language
};

class RewardChain {
 public:
  // max_new_tokens: the length the overlong term measures against.
  RewardChain(const RewardConfig& cfg, int max_new_tokens);
  const std::vector<std::string>& term_names() const { return names_; }
  RewardBreakdown Score(const Scored& sample, const Verdict& verdict) const;

 private:
  RewardConfig cfg_;
  int max_new_tokens_;
  std::vector<std::string> names_;
  std::vector<double> weights_;
};

// DAPO's soft overlong punishment in [-1, 0].
double OverlongPenalty(int length, int max_length, int buffer);

}  // namespace r1lab

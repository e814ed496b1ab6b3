// The rule reward: a weighted chain of terms built from RewardConfig, over a
// completion and the task verifier's verdict on it:
//   accuracy  1 if the verdict is correct
//   format    1 if the format is right
//   language  share of chain-of-thought words in the prompt's language
//             (only when language_weight > 0)
//   form      share of chain-of-thought lines in the teacher's form (only
//             when form_weight > 0; the task's LineInForm judges a line)
//   overlong  DAPO's soft penalty in [-1, 0] (only when overlong_buffer > 0)
// Score() is pure and thread-safe (batches are scored in parallel with
// oneTBB by the caller, see ScoreRollouts). accuracy and format are computed
// and reported even at weight 0, so a metric never silently disappears.
#pragma once

#include <functional>
#include <optional>
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

// Judges one chain-of-thought line's form (tasks/task.h LineInForm);
// nullopt: the task has no grammar for its lines.
using LineFormJudge = std::function<std::optional<bool>(const std::string&)>;

// The share of the chain of thought's lines (ThinkLines) in form; 0 when
// it has none.
double FormShare(const std::string& completion, const LineFormJudge& line_form);

class RewardChain {
 public:
  // max_new_tokens: the length the overlong term measures against.
  // line_form: the task's judge, needed when form_weight > 0 (ConfigError
  // when missing or when the task has no grammar).
  RewardChain(const RewardConfig& cfg, int max_new_tokens, LineFormJudge line_form = {});
  const std::vector<std::string>& term_names() const { return names_; }
  RewardBreakdown Score(const Scored& sample, const Verdict& verdict) const;

 private:
  RewardConfig cfg_;
  int max_new_tokens_;
  LineFormJudge line_form_;
  std::vector<std::string> names_;
  std::vector<double> weights_;
};

// DAPO's soft overlong punishment in [-1, 0].
double OverlongPenalty(int length, int max_length, int buffer);

}  // namespace r1lab

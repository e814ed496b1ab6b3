// Countdown (the TinyZero task): given numbers and a target, write an
// arithmetic expression that uses each number at most once (with
// use_all_numbers, TinyZero's rule: exactly once) and equals the target
// exactly. Many answers are valid; the verifier checks any of them.
//
// Prompt: "3 7 25 50 to 72". Key: the sorted numbers and the target. Every
// problem is solvable: the target is built from a random subset of the
// numbers (all of them with use_all_numbers) with + - * / and integer
// intermediate results. Level: how many numbers.
//
// Teacher: one line per combination, "25-3=22", then the expression, with
// TeacherConfig's noise: a line with a wrong result (step_error_rate),
// fixed by a "wait" line (reflection_rate) or else carried into the answer,
// which then uses a wrong operator.
#pragma once

#include <string>
#include <vector>

#include "task.h"

namespace r1lab {

struct CountdownCheck {
  bool correct = false;
  std::string why;  // empty when correct
};

// Judges an expression against the numbers and target: only digits,
// + - * / ( ) and spaces; each literal one of the numbers, used at most as
// often as given; exact rational value equal to the target (big rationals:
// intermediates of any size, no overflow). "expr = target" is accepted too.
// The numbers and target are 64-bit, so a literal beyond that is refused.
// use_all: every number must also be used ("3 is not used").
CountdownCheck CheckCountdown(const std::string& expression, const std::vector<long long>& numbers,
                              long long target, bool use_all = false);

// A completion's tagged answer judged by CheckCountdown.
Verdict VerifyCountdown(const std::string& completion, const std::vector<long long>& numbers, long long target,
                        bool use_all = false);

class CountdownTask : public DrawnTask {
 public:
  explicit CountdownTask(const TaskConfig& cfg);
  std::string name() const override { return "countdown"; }
  Trace Teach(const Problem& p, const TeacherConfig& teacher, Rng& rng) const override;
  Verdict Verify(const std::string& completion, const Problem& p) const override;
  // "a op b=r", "wait a op b=r" or "wait x is not t".
  std::optional<bool> LineInTeacherForm(const std::string& line) const override;

  // Numbers and target from a key such as "3,7,25,50=72".
  static void ParseKey(const std::string& key, std::vector<long long>* numbers, long long* target);

 protected:
  Problem Draw(Rng& rng) const override;

 private:
  CountdownConfig cfg_;
};

}  // namespace r1lab

// Multi-step integer arithmetic, evaluated left to right ("3+5-2" = 6).
//
// Difficulty: the number of operations (min_ops..max_ops, the problem's
// level), the operand range and whether '*' appears. The teacher writes one
// line per operation, "8-2=6", and with TeacherConfig's noise:
//  - a wrong result (off by 1..3) with probability step_error_rate, carried
//    forward unless caught;
//  - a "wait a+b=c" line that rewrites a wrong step correctly, with
//    probability reflection_rate;
//  - a "check" line after a step with probability verification_rate, which
//    inverts the step ("check 6+2=8"); a check of a wrong step exposes it and
//    is always followed by a "wait" fix;
//  - each CoT word ("wait"/"check", Spanish "espera"/"comprueba") in the other
//    language with probability language_mix_rate.
// Prompts in Spanish carry an "es:" tag. With `worded`, prompts and steps are
// written in words instead ("3 plus 4 minus 2", "3 plus 4 is 7"; Spanish
// "3 mas 4 menos 2", "3 mas 4 es 7"), every word subject to language mixing.
#pragma once

#include <optional>
#include <unordered_set>

#include "task.h"

namespace r1lab {

class ArithTask : public Task {
 public:
  explicit ArithTask(const TaskConfig& cfg);
  std::string name() const override { return "arith"; }
  const std::vector<Problem>& TestSet() const override { return test_; }
  const std::vector<Problem>& ValidationSet() const override { return validation_; }
  Problem SampleTrain(Rng& rng) const override;
  Trace Teach(const Problem& p, const TeacherConfig& teacher, Rng& rng) const override;
  Verdict Verify(const std::string& completion, const Problem& p) const override {
    return VerifyIntegerAnswer(completion, p.gold);
  }
  std::optional<bool> LineWrong(const std::string& line) const override;
  // A step "a op b=r" (worded: "a plus b is r"), or a check or correction
  // of one ("check ...", "wait ..."), every word in English or every word
  // in Spanish ("espera 7 menos 4 es 3").
  std::optional<bool> LineInTeacherForm(const std::string& line) const override;

  // Number of distinct expressions the config can produce.
  double SpaceSize() const;

 private:
  Problem Draw(Rng& rng) const;
  ArithConfig cfg_;
  std::vector<Problem> test_, validation_;
  std::unordered_set<std::string> held_out_keys_;  // test and validation
};

// Ground truth for one chain-of-thought line: true when it states a wrong
// computation ("3+4=8", "wait 3 plus 4 is 8", "comprueba 7 menos 4 es 3"),
// false when the computation is right, nullopt when the line is not a
// computation.
std::optional<bool> ArithLineWrong(const std::string& line);

// Left-to-right value of an expression such as "3+5-2*4"; InputError if a
// value is beyond 64 bits.
long long EvalLeftToRight(const std::string& expr);

}  // namespace r1lab

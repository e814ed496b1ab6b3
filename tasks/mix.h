// A mix of tasks (R1's stages 3 and 4: reasoning prompts beside
// non-reasoning ones): each part is a whole task with its own splits and
// teacher; a problem is tagged with its part, so teaching, verifying and
// grading go to the part that made it.
//
// Splits: each part's test and validation problems, interleaved by weight
// (so the first N held-out problems are a weighted sample of every part).
// Training problems: a part drawn by weight, then one of its problems. Keys
// are prefixed with the part's index ("1|es ana cats nice short"), so parts
// never share a key. Level: the part (1 = the first), so the eval's table
// by level is the table by task. Per-step truth: none (a line alone does
// not say which part it came from).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "task.h"

namespace r1lab {

class MixTask : public Task {
 public:
  // ConfigError naming task.mix for no parts, a nested mix, or zero weights
  // (a part's own teacher is refused by config validation).
  explicit MixTask(const TaskConfig& cfg);
  std::string name() const override;
  const std::vector<Problem>& TestSet() const override { return test_; }
  const std::vector<Problem>& ValidationSet() const override { return validation_; }
  Problem SampleTrain(Rng& rng) const override;
  Trace Teach(const Problem& p, const TeacherConfig& teacher, Rng& rng) const override;
  Verdict Verify(const std::string& completion, const Problem& p) const override;
  double Quality(const std::string& completion, const Problem& p) const override;
  bool Verifiable(const Problem& p) const override;
  // The part that made p: its lines are judged by that part's grammar.
  const Task& PartFor(const Problem& p) const override;

 private:
  // The part that made p, and p with the key that part wrote (InputError
  // for a key of no part).
  const Task& PartOf(const Problem& p, Problem* inner) const;
  Problem Tagged(Problem p, size_t part) const;

  std::vector<std::unique_ptr<Task>> parts_;
  std::vector<double> weights_;
  std::vector<Problem> test_, validation_;
};

}  // namespace r1lab

// A JSONL dataset of math problems (GSM8K, MATH or a user's own), judged by
// the math verifier (verify/math_equiv.h).
//
// Each line is a JSON object; the question and answer fields are
// configurable, and the gold answer is the field itself (PLAIN), what follows
// "####" (HASH, GSM8K) or the last \boxed{} (BOXED, MATH). A line that is not
// valid JSON, lacks a field or has no extractable answer is an InputError
// naming the file and line. Questions are deduplicated; the test split is
// num_test questions chosen by the split seed, the next num_validation are
// validation, the rest are training.
// Difficulty: a level field and a [min_level, max_level] filter.
//
// GSM8K's calculator annotations "<<48/2=24>>" are dropped. Unless
// verbatim (a model with its own tokenizer), text outside the character
// vocabulary is rewritten too: '<' and '>' become \lt and \gt, and other
// non-ASCII characters are dropped.
//
// Teacher: the worked solution's lines as steps, then the gold answer. A
// step gets a wrong digit with step_error_rate; a "wait" line restores it
// with reflection_rate; an unfixed error makes the final answer wrong
// (numeric golds + 1, others marked wrong by appending " + 1").
#pragma once

#include <string>
#include <unordered_map>
#include <vector>

#include "task.h"

namespace r1lab {

// The character vocabulary's form of dataset text (see above).
std::string SanitizeText(const std::string& text);
// The text without GSM8K's calculator annotations, otherwise as written.
std::string DropAnnotations(const std::string& text);

class DatasetTask : public Task {
 public:
  explicit DatasetTask(const TaskConfig& cfg);
  std::string name() const override { return "dataset"; }
  const std::vector<Problem>& TestSet() const override { return test_; }
  const std::vector<Problem>& ValidationSet() const override { return validation_; }
  Problem SampleTrain(Rng& rng) const override;
  Trace Teach(const Problem& p, const TeacherConfig& teacher, Rng& rng) const override;
  Verdict Verify(const std::string& completion, const Problem& p) const override;

  size_t num_train() const { return train_.size(); }

 private:
  DatasetConfig cfg_;
  std::vector<Problem> test_, validation_, train_;
  std::unordered_map<std::string, std::string> solutions_;  // by problem key
};

}  // namespace r1lab

// Tasks: problems with gold answers, seeded disjoint train/test splits, and a
// teacher that writes chain-of-thought traces with configurable noise and a
// ground-truth label on every step.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

#include "answer.h"
#include "r1lab.pb.h"
#include "rng.h"

namespace r1lab {

struct Problem {
  std::string key;       // canonical form; train and test never share a key
  std::string prompt;    // the text the model sees after <bos>
  std::string gold;      // gold answer text
  int level = 0;         // difficulty (arith: number of operations)
  std::string language = "en";  // "en" or "es" (see verify/language.h)
};

// One chain-of-thought line and whether its own computation is right.
struct Step {
  std::string text;
  bool correct = true;
};

struct Trace {
  std::string completion;  // "<think>...</think><answer>...</answer>" (no <eos>)
  std::vector<Step> steps;
  bool answer_correct = false;
};

// "<think>" + one line per step + "</think><answer>" + answer + "</answer>":
// how every teacher writes its trace.
std::string TraceCompletion(const std::vector<Step>& steps, const std::string& answer);

// The character at byte i of s, for quoting in a message: never half of a
// UTF-8 character (U+FFFD where the bytes there are not UTF-8).
std::string CharAt(const std::string& s, size_t i);

// The held-out splits: test (what summaries report) and validation (what
// tuning and model selection read).
enum class EvalSplit { kTest, kValidation };
const char* EvalSplitName(EvalSplit s);

// Thread-safe after construction (all methods const).
class Task {
 public:
  virtual ~Task() = default;
  virtual std::string name() const = 0;
  // Held-out problems, fixed by the split seed: test first, then
  // validation; the two never share a key.
  virtual const std::vector<Problem>& TestSet() const = 0;
  virtual const std::vector<Problem>& ValidationSet() const = 0;
  const std::vector<Problem>& Split(EvalSplit s) const {
    return s == EvalSplit::kValidation ? ValidationSet() : TestSet();
  }
  // A training problem; never one of the test or validation keys.
  virtual Problem SampleTrain(Rng& rng) const = 0;
  virtual Trace Teach(const Problem& p, const TeacherConfig& teacher, Rng& rng) const = 0;
  // The rule verdict on a completion for problem p. Pure and thread-safe.
  virtual Verdict Verify(const std::string& completion, const Problem& p) const = 0;
  // How good a completion is, in [0, 1], by what the task knows: a
  // preference label's source (reward_model.kind PREFERENCE). Default: 1 if
  // Verify judges it correct, else 0; a task without a checkable answer
  // (note) grades partial credit by its hidden rubric.
  virtual double Quality(const std::string& completion, const Problem& p) const {
    return Verify(completion, p).correct ? 1.0 : 0.0;
  }
  // Whether a rule may check p's answer (false: R1's non-verifiable
  // prompts, rewarded only through a learned preference model).
  virtual bool Verifiable(const Problem& p) const { return true; }
  // Ground truth for one chain-of-thought line, where the task can judge a
  // line on its own: true = a wrong computation; nullopt = cannot tell.
  virtual std::optional<bool> LineWrong(const std::string& line) const { return std::nullopt; }
  // Whether one chain-of-thought line has a form the task's teacher writes:
  // its grammar, every word in one language. A reward on answers alone
  // leaves this free to drift (R1-Zero's poor readability). nullopt for
  // every line when the task has no such grammar.
  virtual std::optional<bool> LineInTeacherForm(const std::string& line) const { return std::nullopt; }
  // The task that made p and writes its kind of lines: this one, or the
  // part of a mix that made p.
  virtual const Task& PartFor(const Problem& p) const { return *this; }
};

// LineInTeacherForm, with the summary line that closes R1's readable format
// ("so the answer is ...", verify/language.h) in form for every task that
// has a grammar.
std::optional<bool> LineInForm(const Task& task, const std::string& line);
// The same for a line of a response to p: by the part of a mix that made p.
std::optional<bool> LineInForm(const Task& task, const std::string& line, const Problem& p);
// LineInForm(task, line) as a judge of lines (RewardChain's form term).
std::function<std::optional<bool>(const std::string&)> LineFormJudgeOf(const Task& task);

// The task's teacher trace, in R1's readable format when teacher.summary: a
// summary line in the prompt's language (verify/language.h) closes the chain
// of thought, as one more step, right iff the answer is.
Trace TeachTrace(const Task& task, const Problem& p, const TeacherConfig& teacher, Rng& rng);

// A task whose problems come from a seeded Draw(): the test split is the
// first num_test distinct keys drawn with the split seed, validation the
// next num_validation; training problems are drawn until their key is
// neither.
class DrawnTask : public Task {
 public:
  const std::vector<Problem>& TestSet() const override { return test_; }
  const std::vector<Problem>& ValidationSet() const override { return validation_; }
  Problem SampleTrain(Rng& rng) const override;

 protected:
  virtual Problem Draw(Rng& rng) const = 0;
  // Call from the derived constructor. ConfigError when the config cannot
  // produce enough distinct problems for the test split and training.
  void BuildSplit(const TaskConfig& cfg);

 private:
  std::vector<Problem> test_, validation_;
  std::unordered_set<std::string> held_out_keys_;
};

// `task` whose training problems are only those it can verify (verifiable:
// Arm.train_prompts VERIFIABLE_PROMPTS) or only those it cannot (the
// preference model's labels under prm_rl.route_by_prompt); everything else
// is the task's. SampleTrain: InputError naming `field` when 10000 draws
// give no such problem.
class TrainPromptsWhere : public Task {
 public:
  TrainPromptsWhere(const Task& task, bool verifiable, std::string field)
      : task_(task), verifiable_(verifiable), field_(std::move(field)) {}
  std::string name() const override { return task_.name(); }
  const std::vector<Problem>& TestSet() const override { return task_.TestSet(); }
  const std::vector<Problem>& ValidationSet() const override { return task_.ValidationSet(); }
  Problem SampleTrain(Rng& rng) const override;
  Trace Teach(const Problem& p, const TeacherConfig& t, Rng& rng) const override { return task_.Teach(p, t, rng); }
  Verdict Verify(const std::string& c, const Problem& p) const override { return task_.Verify(c, p); }
  double Quality(const std::string& c, const Problem& p) const override { return task_.Quality(c, p); }
  bool Verifiable(const Problem& p) const override { return task_.Verifiable(p); }
  std::optional<bool> LineWrong(const std::string& line) const override { return task_.LineWrong(line); }
  std::optional<bool> LineInTeacherForm(const std::string& l) const override { return task_.LineInTeacherForm(l); }
  const Task& PartFor(const Problem& p) const override { return task_.PartFor(p); }

 private:
  const Task& task_;
  const bool verifiable_;
  const std::string field_;
};

// Builds the task selected by the config's oneof. ConfigError if the split
// cannot be made (e.g. fewer distinct problems than the test set needs plus
// at least as many for training).
std::unique_ptr<Task> MakeTask(const TaskConfig& cfg);

}  // namespace r1lab

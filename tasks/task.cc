#include "task.h"

#include "arith.h"
#include "code.h"
#include "countdown.h"
#include "dataset.h"
#include "graph.h"
#include "mix.h"
#include "note.h"
#include "error.h"
#include "language.h"
#include "text.h"

namespace r1lab {

namespace {

// TaskConfig.format_allows_whitespace: the task, with the format check that
// allows whitespace around the tags; everything else is the task's.
class WhitespaceFormat : public Task {
 public:
  explicit WhitespaceFormat(std::unique_ptr<Task> task) : task_(std::move(task)) {}
  std::string name() const override { return task_->name(); }
  const std::vector<Problem>& TestSet() const override { return task_->TestSet(); }
  const std::vector<Problem>& ValidationSet() const override { return task_->ValidationSet(); }
  Problem SampleTrain(Rng& rng) const override { return task_->SampleTrain(rng); }
  Trace Teach(const Problem& p, const TeacherConfig& t, Rng& rng) const override { return task_->Teach(p, t, rng); }
  Verdict Verify(const std::string& c, const Problem& p) const override {
    Verdict v = task_->Verify(c, p);
    v.format_ok = FormatOk(c, /*allow_whitespace=*/true);
    return v;
  }
  double Quality(const std::string& c, const Problem& p) const override { return task_->Quality(c, p); }
  bool Verifiable(const Problem& p) const override { return task_->Verifiable(p); }
  std::optional<bool> LineWrong(const std::string& line) const override { return task_->LineWrong(line); }
  std::optional<bool> LineInTeacherForm(const std::string& l) const override { return task_->LineInTeacherForm(l); }
  const Task& PartFor(const Problem& p) const override { return task_->PartFor(p); }

 private:
  std::unique_ptr<Task> task_;
};

std::unique_ptr<Task> MakeTaskOf(const TaskConfig& cfg) {
  switch (cfg.task_case()) {
    case TaskConfig::kArith: return std::make_unique<ArithTask>(cfg);
    case TaskConfig::kCountdown: return std::make_unique<CountdownTask>(cfg);
    case TaskConfig::kGraph: return std::make_unique<GraphTask>(cfg);
    case TaskConfig::kCode: return std::make_unique<CodeTask>(cfg);
    case TaskConfig::kDataset: return std::make_unique<DatasetTask>(cfg);
    case TaskConfig::kNote: return std::make_unique<NoteTask>(cfg);
    case TaskConfig::kMix: return std::make_unique<MixTask>(cfg);
    case TaskConfig::TASK_NOT_SET: break;
  }
  throw ConfigError("task: no task set; expected one of: arith, countdown, graph, code, dataset, note, mix");
}

}  // namespace

std::unique_ptr<Task> MakeTask(const TaskConfig& cfg) {
  std::unique_ptr<Task> task = MakeTaskOf(cfg);
  if (cfg.format_allows_whitespace()) return std::make_unique<WhitespaceFormat>(std::move(task));
  return task;
}

Problem TrainPromptsWhere::SampleTrain(Rng& rng) const {
  for (int tries = 0; tries < 10000; ++tries) {
    Problem p = task_.SampleTrain(rng);
    if (task_.Verifiable(p) == verifiable_) return p;
  }
  throw InputError(field_ + ": task '" + task_.name() + "' drew no " + (verifiable_ ? "" : "non-") +
                   "verifiable training prompt in 10000 tries");
}

std::string TraceCompletion(const std::vector<Step>& steps, const std::string& answer) {
  std::string think;
  for (const Step& s : steps) think += s.text + "\n";
  return "<think>" + think + "</think><answer>" + answer + "</answer>";
}

Trace TeachTrace(const Task& task, const Problem& p, const TeacherConfig& teacher, Rng& rng) {
  Trace tr = task.Teach(p, teacher, rng);
  if (!teacher.summary()) return tr;
  const size_t end = tr.completion.rfind("</think><answer>"), close = tr.completion.rfind("</answer>");
  R1_CHECK(end != std::string::npos && close != std::string::npos, "a teacher trace without </think><answer>");
  const std::string answer = tr.completion.substr(end + 16, close - end - 16);
  const std::string line = SummaryLine(answer, p.language);
  tr.steps.push_back({line, tr.answer_correct});
  tr.completion.insert(end, line + "\n");
  return tr;
}

std::optional<bool> LineInForm(const Task& task, const std::string& line) {
  const std::optional<bool> form = task.LineInTeacherForm(line);
  if (!form || *form) return form;
  for (const char* language : {"en", "es"}) {
    const std::string head = SummaryLine("", language);
    if (line.size() > head.size() && line.compare(0, head.size(), head) == 0) return true;
  }
  return false;
}

std::optional<bool> LineInForm(const Task& task, const std::string& line, const Problem& p) {
  return LineInForm(task.PartFor(p), line);
}

std::function<std::optional<bool>(const std::string&)> LineFormJudgeOf(const Task& task) {
  return [&task](const std::string& line) { return LineInForm(task, line); };
}

std::string CharAt(const std::string& s, size_t i) {
  const size_t n = i < s.size() ? Utf8SequenceLength(s, i) : 0;
  return n ? s.substr(i, n) : "\xEF\xBF\xBD";
}

const char* EvalSplitName(EvalSplit s) { return s == EvalSplit::kValidation ? "validation" : "test"; }

void DrawnTask::BuildSplit(const TaskConfig& cfg) {
  Rng rng(cfg.split_seed());
  // The split must leave at least num_test distinct problems for training:
  // if 2 * num_test + num_validation distinct keys cannot be found in 50x as
  // many draws, the config's problem space is too small.
  const size_t need = 2 * static_cast<size_t>(cfg.num_test()) + static_cast<size_t>(cfg.num_validation());
  std::unordered_set<std::string> seen;
  const long long budget = 50LL * static_cast<long long>(need) + 1000;
  auto held_out_missing = [&]() {
    return static_cast<int>(test_.size()) < cfg.num_test() || static_cast<int>(validation_.size()) < cfg.num_validation();
  };
  for (long long k = 0; k < budget && held_out_missing(); ++k) {
    Problem p = Draw(rng);
    seen.insert(p.key);
    if (!held_out_keys_.insert(p.key).second) continue;
    (static_cast<int>(test_.size()) < cfg.num_test() ? test_ : validation_).push_back(std::move(p));
  }
  Rng probe(cfg.split_seed() ^ 0x5eedULL);
  for (long long k = 0; k < budget && seen.size() < need; ++k) seen.insert(Draw(probe).key);
  if (held_out_missing() || seen.size() < need)
    throw ConfigError("task.num_test: " + std::to_string(cfg.num_test()) + " test and " +
                      std::to_string(cfg.num_validation()) + " validation problems need at least " +
                      std::to_string(need) + " distinct problems, but only " + std::to_string(seen.size()) +
                      " were found for this " + name() + " config; the training split would be (nearly) empty");
}

Problem DrawnTask::SampleTrain(Rng& rng) const {
  for (int attempt = 0; attempt < 100000; ++attempt) {
    Problem p = Draw(rng);
    if (!held_out_keys_.count(p.key)) return p;
  }
  throw InputError(name() + ": could not draw a training problem outside the test and validation splits in 100000 "
                   "tries");
}

}  // namespace r1lab

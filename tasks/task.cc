#include "task.h"

#include "arith.h"
#include "code.h"
#include "countdown.h"
#include "dataset.h"
#include "graph.h"
#include "error.h"
#include "text.h"

namespace r1lab {

std::unique_ptr<Task> MakeTask(const TaskConfig& cfg) {
  switch (cfg.task_case()) {
    case TaskConfig::kArith: return std::make_unique<ArithTask>(cfg);
    case TaskConfig::kCountdown: return std::make_unique<CountdownTask>(cfg);
    case TaskConfig::kGraph: return std::make_unique<GraphTask>(cfg);
    case TaskConfig::kCode: return std::make_unique<CodeTask>(cfg);
    case TaskConfig::kDataset: return std::make_unique<DatasetTask>(cfg);
    case TaskConfig::TASK_NOT_SET: break;
  }
  throw ConfigError("task: no task set; expected one of: arith, countdown, graph, code, dataset");
}

std::string TraceCompletion(const std::vector<Step>& steps, const std::string& answer) {
  std::string think;
  for (const Step& s : steps) think += s.text + "\n";
  return "<think>" + think + "</think><answer>" + answer + "</answer>";
}

std::string CharAt(const std::string& s, size_t i) {
  const size_t n = i < s.size() ? Utf8SequenceLength(s, i) : 0;
  return n ? s.substr(i, n) : "\xEF\xBF\xBD";
}

void DrawnTask::BuildSplit(const TaskConfig& cfg) {
  Rng rng(cfg.split_seed());
  // The split must leave at least as many distinct problems for training: if
  // 2 * num_test distinct keys cannot be found in 50x as many draws, the
  // config's problem space is too small.
  std::unordered_set<std::string> seen;
  const long long budget = 50LL * 2 * cfg.num_test() + 1000;
  for (long long k = 0; k < budget && static_cast<int>(test_.size()) < cfg.num_test(); ++k) {
    Problem p = Draw(rng);
    seen.insert(p.key);
    if (test_keys_.insert(p.key).second) test_.push_back(std::move(p));
  }
  Rng probe(cfg.split_seed() ^ 0x5eedULL);
  for (long long k = 0; k < budget && seen.size() < 2 * static_cast<size_t>(cfg.num_test()); ++k)
    seen.insert(Draw(probe).key);
  if (static_cast<int>(test_.size()) < cfg.num_test() || seen.size() < 2 * static_cast<size_t>(cfg.num_test()))
    throw ConfigError("task.num_test: " + std::to_string(cfg.num_test()) + " test problems need at least " +
                      std::to_string(2 * cfg.num_test()) + " distinct problems, but only " +
                      std::to_string(seen.size()) + " were found for this " + name() +
                      " config; the training split would be (nearly) empty");
}

Problem DrawnTask::SampleTrain(Rng& rng) const {
  for (int attempt = 0; attempt < 100000; ++attempt) {
    Problem p = Draw(rng);
    if (!test_keys_.count(p.key)) return p;
  }
  throw InputError(name() + ": could not draw a training problem outside the test split in 100000 tries");
}

}  // namespace r1lab

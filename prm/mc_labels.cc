#include "mc_labels.h"

#include "error.h"

namespace r1lab {

std::vector<std::vector<StepLabel>> MonteCarloLabels(const Task& task, const std::vector<LabelJob>& jobs,
                                                     const Completer& completer, int n) {
  if (n < 1) throw ConfigError("Monte Carlo labels: completions per step must be at least 1");
  std::vector<const Problem*> problems;
  std::vector<std::string> prefixes;
  std::vector<std::vector<StepLabel>> labels(jobs.size());
  for (size_t j = 0; j < jobs.size(); ++j) {
    const LabelJob& job = jobs[j];
    labels[j].resize(job.steps.size());
    for (size_t k = 0; k + 1 < job.steps.size(); ++k) {  // the answer step is judged directly
      problems.push_back(job.problem);
      prefixes.push_back(job.completion.substr(0, job.steps[k].end));
    }
  }
  const auto completions = prefixes.empty() ? std::vector<std::vector<std::string>>{}
                                            : completer(problems, prefixes, n);
  R1_CHECK(completions.size() == prefixes.size(), "completer returned the wrong number of prefixes");
  size_t row = 0;
  for (size_t j = 0; j < jobs.size(); ++j) {
    const LabelJob& job = jobs[j];
    for (size_t k = 0; k + 1 < job.steps.size(); ++k, ++row) {
      R1_CHECK(static_cast<int>(completions[row].size()) == n, "completer returned the wrong number of completions");
      int right = 0;
      for (const std::string& c : completions[row]) right += task.Verify(prefixes[row] + c, *job.problem).correct;
      labels[j][k] = {static_cast<double>(right) / n, right > 0};
    }
    if (!job.steps.empty()) {
      const bool ok = task.Verify(job.completion, *job.problem).correct;
      labels[j].back() = {ok ? 1.0 : 0.0, ok};
    }
  }
  return labels;
}

}  // namespace r1lab

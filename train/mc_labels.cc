#include "mc_labels.h"

#include "error.h"

namespace r1lab {

McOutcomes MonteCarloOutcomes(const Task& task, const std::vector<LabelJob>& jobs, const Completer& completer,
                              int n) {
  if (n < 1) throw ConfigError("Monte Carlo labels: completions per step must be at least 1");
  std::vector<const Problem*> problems;
  std::vector<std::string> prefixes;
  McOutcomes out(jobs.size());
  for (size_t j = 0; j < jobs.size(); ++j) {
    const LabelJob& job = jobs[j];
    out[j].resize(job.steps.size());
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
      for (const std::string& c : completions[row]) out[j][k].push_back(task.Verify(prefixes[row] + c, *job.problem).correct);
    }
    if (!job.steps.empty()) out[j].back().assign(static_cast<size_t>(n), task.Verify(job.completion, *job.problem).correct);
  }
  return out;
}

std::vector<std::vector<StepLabel>> LabelsFromOutcomes(const McOutcomes& outcomes, int n) {
  std::vector<std::vector<StepLabel>> labels(outcomes.size());
  for (size_t j = 0; j < outcomes.size(); ++j)
    for (const std::vector<bool>& step : outcomes[j]) {
      if (n < 1 || n > static_cast<int>(step.size()))
        throw InputError("Monte Carlo labels: n=" + std::to_string(n) + " but " + std::to_string(step.size()) +
                         " completions were drawn");
      int right = 0;
      for (int i = 0; i < n; ++i) right += step[static_cast<size_t>(i)];
      labels[j].push_back({static_cast<double>(right) / n, right > 0});
    }
  return labels;
}

std::vector<std::vector<StepLabel>> MonteCarloLabels(const Task& task, const std::vector<LabelJob>& jobs,
                                                     const Completer& completer, int n) {
  return LabelsFromOutcomes(MonteCarloOutcomes(task, jobs, completer, n), n);
}

}  // namespace r1lab

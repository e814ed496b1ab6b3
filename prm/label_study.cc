#include "label_study.h"

#include <cstdio>

#include "error.h"
#include "mc_labels.h"
#include "completer.h"
#include "progress.h"

namespace r1lab {

LabelStudy StudyLabels(Transformer& policy, const Task& task, const SamplingConfig& sampling, int traces, int max_n,
                       uint64_t seed) {
  if (traces < 1 || max_n < 1 || (max_n & (max_n - 1)) != 0)
    throw ConfigError("label study: traces >= 1 and max_n a power of two expected");
  if (!task.LineWrong("1+1=2").has_value())
    throw ConfigError("label study: task '" + task.name() + "' has no per-step ground truth (use arith)");
  Rng rng(seed);
  std::vector<Problem> problems;
  for (int i = 0; i < traces; ++i) problems.push_back(task.SampleTrain(rng));
  FlopCounter flops;
  const std::vector<std::string> completions = SampleCompletions(policy, problems, 1, sampling, seed, &flops).completions;
  auto line_wrong = [&task](const std::string& l) { return task.LineWrong(l); };

  LabelStudy study;
  study.traces = traces;
  for (int i = 0; i < traces; ++i)
    study.traces_with_error +=
        FirstTrue(SegmentTruth(completions[i], SegmentSteps(completions[i], {Segmenter::kLine}), line_wrong)) >= 0;
  const std::vector<std::pair<std::string, SegmenterSpec>> segmenters = {
      {"line", {Segmenter::kLine}}, {"punctuation", {Segmenter::kPunctuation}},
      {"8 tokens", {Segmenter::kTokenChunk, "", 8}}};
  const Completer completer = ModelCompleter(policy, sampling, seed + 1, &flops);
  const auto t0 = Clock::now();
  for (const auto& [name, spec] : segmenters) {
    std::vector<LabelJob> jobs;
    std::vector<std::vector<bool>> truth;
    double steps = 0;
    for (int i = 0; i < traces; ++i) {
      jobs.push_back({&problems[i], completions[i], SegmentSteps(completions[i], spec)});
      truth.push_back(SegmentTruth(completions[i], jobs.back().steps, line_wrong));
      steps += static_cast<double>(jobs.back().steps.size());
    }
    const McOutcomes outcomes = MonteCarloOutcomes(task, jobs, completer, max_n);
    study.steps_labelled += steps;
    for (int n = 1; n <= max_n; n *= 2) {
      LabelStudyRow row;
      row.segmenter = name;
      row.n = n;
      row.steps_per_trace = steps / traces;
      const auto labels = LabelsFromOutcomes(outcomes, n);
      for (size_t j = 0; j < jobs.size(); ++j) {
        std::vector<bool> predicted;
        for (const StepLabel& l : labels[j]) predicted.push_back(!l.hard);
        row.quality.Add(predicted, truth[j]);
      }
      study.rows.push_back(row);
    }
  }
  study.label_seconds = SecondsSince(t0);
  study.flops = flops.Total();
  return study;
}

std::string LabelStudyTable(const LabelStudy& s) {
  std::string out;
  char buf[256];
  std::snprintf(buf, sizeof buf,
                "%d policy samples, %d with a wrong step; %.0f steps labelled in %.1f s (%.0f steps/s), %.3g FLOPs\n\n",
                s.traces, s.traces_with_error, s.steps_labelled, s.label_seconds,
                s.steps_labelled / std::max(1e-9, s.label_seconds), s.flops);
  out += buf;
  out += "| segmenter | N | steps/trace | wrong-step precision | recall | F1 | first-error accuracy |\n"
         "|---|---|---|---|---|---|---|\n";
  for (const LabelStudyRow& r : s.rows) {
    std::snprintf(buf, sizeof buf, "| %s | %d | %.1f | %.3f | %.3f | %.3f | %.3f |\n", r.segmenter.c_str(), r.n,
                  r.steps_per_trace, r.quality.precision(), r.quality.recall(), r.quality.f1(),
                  r.quality.first_error_accuracy());
    out += buf;
  }
  out += "\nA step is predicted wrong when none of its N completions reaches the gold answer (the hard label);\n"
         "the truth is the step's own computation (a segment is wrong if any line it overlaps is).\n";
  return out;
}

}  // namespace r1lab

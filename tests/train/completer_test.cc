// Monte Carlo labels with the tiny base as completer (train/completer.h, train/mc_labels.h).
#include <gtest/gtest.h>

#include "arith.h"
#include "completer.h"
#include "mc_labels.h"
#include "steps.h"
#include "tiny_base.h"

namespace r1lab {
namespace {

using testing::ParseResolved;

// Monte Carlo labels from the tiny base as completer: after an unfixed wrong
// step the share of completions that reach the gold drops, and the FLOPs of
// labelling are counted.
TEST(McLabels, PolicyCompleterSeesWrongSteps) {
  ArithTask task(testing::TinyBaseTask());
  TeacherConfig noisy;
  noisy.set_step_error_rate(0.4);
  noisy.set_reflection_rate(0);
  Rng rng(21);
  std::vector<Problem> problems;
  std::vector<LabelJob> jobs;
  for (int i = 0; i < 80; ++i) problems.push_back(task.SampleTrain(rng));
  for (const Problem& p : problems) {
    const std::string c = task.Teach(p, noisy, rng).completion;
    jobs.push_back({&p, c, SegmentSteps(c, {Segmenter::kLine})});
  }
  SamplingConfig s = ParseResolved<SamplingConfig>("temperature: 1 max_new_tokens: 40");
  FlopCounter flops;
  const auto labels = MonteCarloLabels(task, jobs, ModelCompleter(testing::CopyOfTinyBase(), s, 5, &flops), 8);
  double clean_sum = 0, after_error_sum = 0;
  int clean = 0, after_error = 0;
  LabelQuality q;
  for (size_t j = 0; j < jobs.size(); ++j) {
    const auto truth = SegmentTruth(jobs[j].completion, jobs[j].steps, ArithLineWrong);
    const int first = FirstTrue(truth);
    std::vector<bool> predicted;
    for (size_t k = 0; k + 1 < jobs[j].steps.size(); ++k) {
      if (first < 0 || static_cast<int>(k) < first) clean_sum += labels[j][k].soft, ++clean;
      if (static_cast<int>(k) == first) after_error_sum += labels[j][k].soft, ++after_error;
    }
    for (const StepLabel& l : labels[j]) predicted.push_back(!l.hard);
    q.Add(predicted, truth);
  }
  ASSERT_GT(clean, 20);
  ASSERT_GT(after_error, 10);
  EXPECT_GT(clean_sum / clean, after_error_sum / after_error + 0.2)
      << "clean " << clean_sum / clean << " after an error " << after_error_sum / after_error;
  EXPECT_GT(flops.Get(FlopPhase::kGenerate), 0);
  // MC labels catch most wrong steps. Their precision is low by design of the
  // label, not by accident: every locally right step after an unfixed error
  // is "hopeless" to Monte Carlo (measured 0.37 here), one of the report's
  // reasons step labels are unreliable.
  EXPECT_GT(q.recall(), 0.5) << "wrong-step precision " << q.precision() << " recall " << q.recall();
}
}  // namespace
}  // namespace r1lab

// PRM/ORM training and scoring on a tiny labelled set.
#include <gtest/gtest.h>

#include "arith.h"
#include "scorer.h"
#include "steps.h"
#include "test_util.h"
#include "tokenizer.h"

namespace r1lab {
namespace {

TEST(PrmTrain, StepEndPositionsPointAtTheLastTokenOfEachStep) {
  const std::string c = "<think>3+4=8\nwait 3+4=7\n</think><answer>7</answer>";
  const auto steps = SegmentSteps(c, {Segmenter::kLine});
  const auto pos = StepEndPositions(Tokenizer::Get(), "3+4", c, steps);
  ASSERT_EQ(pos.size(), 3u);
  // <bos> 3 + 4 | <think> 3 + 4 = 8 \n: indices 0..3, then 4..10; the '\n' is index 10
  EXPECT_EQ(pos[0], 10);
  const auto ids = Tokenizer::Get().Encode("3+4" + c);
  EXPECT_EQ(pos.back(), static_cast<int64_t>(ids.size()));  // </answer>: the row's last token (after <bos>)
  // Special tokens inside the chain of thought (a hacked policy writes them)
  // count as one token each. Row: <bos> | <think> a b <think> | c </answer> d | </think> <answer> 1 </answer>
  const std::string odd = "<think>ab<think>c</answer>d</think><answer>1</answer>";
  const auto odd_pos = StepEndPositions(Tokenizer::Get(), "", odd, SegmentSteps(odd, {Segmenter::kTokenChunk, "", 3}));
  EXPECT_EQ(odd_pos, (std::vector<int64_t>{4, 7, 11}));
}

// A tiny PRM overfits 8 labelled traces: loss near 0, every step ranked right.
TEST(PrmTrain, OverfitsATinyLabelledSet) {
  ArithTask task(testing::ParseResolved<TaskConfig>("arith {} num_test: 10"));
  TeacherConfig noisy;
  noisy.set_step_error_rate(0.5);
  noisy.set_reflection_rate(0.5);
  Rng rng(3);
  std::vector<PrmExample> set;
  std::vector<bool> good_all;
  while (set.size() < 8) {
    const Problem p = task.SampleTrain(rng);
    const std::string c = task.Teach(p, noisy, rng).completion;
    PrmExample e{p.prompt, c, SegmentSteps(c, {Segmenter::kLine}), {}};
    for (bool wrong : SegmentTruth(c, e.steps, ArithLineWrong)) {
      e.targets.push_back(wrong ? 0.0 : 1.0);
      good_all.push_back(!wrong);
    }
    set.push_back(e);
  }
  ModelConfig mc = testing::TinyModel();
  mc.set_prm_head(true);
  Transformer prm = MakeModel(mc, Tokenizer::Get().vocab_size());
  const OptimConfig oc = testing::ParseResolved<OptimConfig>("lr: 0.003 weight_decay: 0 warmup_steps: 0 min_lr_ratio: 1");
  PrmTrainer trainer(prm, oc, 300);
  FlopCounter flops;
  double first = 0, last = 0;
  for (int i = 0; i < 300; ++i) (i == 0 ? first : last) = trainer.Step(set, &flops);
  EXPECT_GT(first, 0.5);
  EXPECT_LT(last, 0.05);
  EXPECT_GT(flops.Get(FlopPhase::kTrain), 0);
  std::vector<double> scores;
  for (const auto& s : ScoreSteps(prm, set, &flops))
    for (double x : s) scores.push_back(x);
  EXPECT_DOUBLE_EQ(StepAuc(scores, good_all), 1.0);
  EXPECT_GT(flops.Get(FlopPhase::kScore), 0);
  // An ORM is the same class with one step.
  const PrmExample o = OutcomeExample("3+4", "<think>x</think><answer>7</answer>", true);
  EXPECT_EQ(o.steps.size(), 1u);
  EXPECT_EQ(o.targets[0], 1.0);
  // Without the PRM head it refuses.
  EXPECT_THROW(PrmTrainer(MakeModel(testing::TinyModel(), Tokenizer::Get().vocab_size()), oc, 1), ConfigError);
}

}  // namespace
}  // namespace r1lab

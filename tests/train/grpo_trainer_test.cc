// The GRPO step (train/grpo_trainer.h): on-policy ratio, reference refresh,
// gradient direction, dynamic sampling, on the shared tiny base.
#include <gtest/gtest.h>

#include "arith.h"
#include "grpo_trainer.h"
#include "records.h"
#include "policy_loss.h"
#include "tiny_base.h"
#include "token_batch.h"
#include "tokenizer.h"

namespace r1lab {
namespace {

using testing::ParseResolved;

TEST(Grpo, FirstPassRatioIsExactlyOne) {
  ArithTask task(testing::TinyBaseTask());
  for (const char* knobs : {"epochs: 1 minibatches: 1", "epochs: 2 minibatches: 4"}) {
    Transformer m = testing::CopyOfTinyBase();
    GrpoConfig cfg = ParseResolved<GrpoConfig>(std::string("prompts_per_step: 4 group_size: 4 optim { lr: 1e-3 } ") +
                                               knobs + " sampling { max_new_tokens: 40 }");
    FlopCounter flops;
    GrpoTrainer t(m, task, cfg, 3, &flops);
    std::string note;
    for (int step = 0; step < 3; ++step) {
      const MetricsLine line = t.Step(step, &note);
      EXPECT_EQ(t.last_first_ratio_dev(), 0.0) << knobs << " step " << step;
      EXPECT_TRUE(line.has_frac_reward_zero_std());
      EXPECT_TRUE(line.has_clip_region_frac());
    }
    EXPECT_GT(flops.Get(FlopPhase::kGenerate), 0);
    EXPECT_GT(flops.Get(FlopPhase::kTrain), 0);
    EXPECT_GT(flops.Get(FlopPhase::kScore), 0);  // the reference model's forward passes
  }
}

bool SameWeights(Transformer& a, Transformer& b) {
  auto pa = a->named_parameters(), pb = b->named_parameters();
  for (const auto& item : pa)
    if (!torch::equal(item.value(), pb[item.key()])) return false;
  return true;
}

TEST(Grpo, ReferenceIsRefreshedAtStepNAndNotBefore) {
  ArithTask task(testing::TinyBaseTask());
  Transformer m = testing::CopyOfTinyBase();
  Transformer base = testing::CopyOfTinyBase();
  GrpoConfig cfg = ParseResolved<GrpoConfig>(
      "prompts_per_step: 4 group_size: 4 ref_update_every: 2 optim { lr: 1e-3 warmup_steps: 0 }");
  FlopCounter flops;
  GrpoTrainer t(m, task, cfg, 4, &flops);
  std::string note;
  t.Step(0, &note);
  t.Step(1, &note);
  EXPECT_TRUE(SameWeights(*t.reference(), base));  // still the base after two updates
  EXPECT_FALSE(SameWeights(m, base));
  Transformer after_step1 = MakeModel(m->config(), m->vocab_size());
  CopyWeights(m, after_step1);
  t.Step(2, &note);
  EXPECT_TRUE(SameWeights(*t.reference(), after_step1));  // replaced by the policy as step 2 began
}

// One update on a group where only one sample is rewarded widens the
// rewarded sample's log-probability lead over the other. (With advantages +a
// and -a the step moves along g_good - g_bad, so to first order the margin
// grows by lr a |g_good - g_bad|^2; each log-probability alone may move either
// way, since the two responses share most of their tokens.)
TEST(Grpo, RewardedSampleGainsProbability) {
  Transformer m = testing::CopyOfTinyBase();
  const auto& tok = Tokenizer::Get();
  std::vector<int> prompt = {Tokenizer::kBos};
  for (int id : tok.Encode("3+4")) prompt.push_back(id);
  std::vector<int> good = tok.Encode("<think>3+4=7\n</think><answer>7</answer><eos>");
  std::vector<int> bad = tok.Encode("<think>3+4=8\n</think><answer>8</answer><eos>");
  const TokenBatch b = BatchFromIds({prompt, prompt}, {good, bad});
  const std::vector<double> adv = GroupAdvantages({1.0, 0.0}, 2, GROUP_ZSCORE, 1e-4);
  auto seq_logprob = [&]() {
    torch::NoGradGuard ng;
    const torch::Tensor lp = NextTokenStats(m->forward(b.tokens).logits, b.tokens).logprobs;
    return ((lp * b.loss_mask).sum(1)).to(torch::kDouble);
  };
  const torch::Tensor before = seq_logprob();
  // A small plain-SGD step along the gradient (Adam's first step moves every
  // weight by ~lr whatever its gradient, so it is no test of direction).
  torch::optim::SGD opt(m->parameters(), torch::optim::SGDOptions(1e-3));
  const TokenStats ts = NextTokenStats(m->forward(b.tokens).logits, b.tokens);
  PolicyLossInputs in;
  in.logprobs = ts.logprobs;
  in.old_logprobs = ts.logprobs.detach();
  in.advantages = torch::tensor(adv, torch::kFloat).view({2, 1}) * b.loss_mask;
  in.mask = b.loss_mask;
  PolicyLoss(in, PolicyLossOptions(), nullptr).backward();
  opt.step();
  const torch::Tensor after = seq_logprob();
  const double margin_before = before[0].item<double>() - before[1].item<double>();
  const double margin_after = after[0].item<double>() - after[1].item<double>();
  EXPECT_GT(margin_after, margin_before + 1e-3);
}

TEST(Grpo, NoReferenceModelWhenBetaIsZero) {
  ArithTask task(testing::TinyBaseTask());
  Transformer m = testing::CopyOfTinyBase();
  GrpoConfig cfg = ParseResolved<GrpoConfig>("prompts_per_step: 2 group_size: 2 kl_coef: 0");
  FlopCounter flops;
  GrpoTrainer t(m, task, cfg, 3, &flops);
  EXPECT_EQ(t.reference(), nullptr);
  std::string note;
  t.Step(0, &note);
  EXPECT_EQ(flops.Get(FlopPhase::kScore), 0);
}

TEST(Grpo, DynamicSamplingDropsZeroVarianceGroups) {
  ArithTask task(testing::TinyBaseTask());
  Transformer m = testing::CopyOfTinyBase();
  GrpoConfig cfg = ParseResolved<GrpoConfig>(
      "prompts_per_step: 8 group_size: 2 drop_zero_variance_groups: true max_resample_rounds: 5 "
      "reward { format_weight: 0 }");
  FlopCounter flops;
  GrpoTrainer t(m, task, cfg, 5, &flops);
  std::string note;
  const MetricsLine line = t.Step(0, &note);
  // With groups of 2 and a ~50% base, about half the groups agree and are re-drawn.
  EXPECT_GT(line.groups_dropped(), 0) << RecordToJson(line);
  EXPECT_GT(line.sampling_rounds(), 1) << RecordToJson(line);
}

// reward.form_weight reaches the rollouts: the form term is the task's
// judgement of the samples' lines (the tiny base writes its teacher's lines),
// reported as reward_form and weighted into the reward.
TEST(Grpo, TheFormTermIsScoredAndWeightedIntoTheReward) {
  ArithTask task(testing::TinyBaseTask());
  Transformer m = testing::CopyOfTinyBase();
  GrpoConfig cfg = ParseResolved<GrpoConfig>(
      "prompts_per_step: 4 group_size: 4 sampling { max_new_tokens: 40 } reward { form_weight: 0.5 }");
  FlopCounter flops;
  GrpoTrainer t(m, task, cfg, 3, &flops);
  std::string note;
  const MetricsLine line = t.Step(0, &note);
  ASSERT_TRUE(line.has_reward_form()) << RecordToJson(line);
  EXPECT_GT(line.reward_form(), 0.5) << RecordToJson(line);
  EXPECT_LE(line.reward_form(), 1.0);
  EXPECT_NEAR(line.reward_mean(), line.reward_accuracy() + 0.1 * line.reward_format() + 0.5 * line.reward_form(), 1e-9)
      << RecordToJson(line);
}

}  // namespace
}  // namespace r1lab

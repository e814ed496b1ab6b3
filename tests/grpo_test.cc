// GRPO: on-policy ratio, metrics, resumable arm, and a learning test.
#include <gtest/gtest.h>

#include "arith.h"
#include "evaluator.h"
#include "grpo_trainer.h"
#include "policy_loss.h"
#include "prm_beam.h"
#include "prm_rl.h"
#include "reward_data.h"
#include "scorer.h"
#include "process_advantage.h"
#include "rollout.h"
#include "io.h"
#include "json.h"
#include "sft.h"
#include "strategy.h"
#include "test_util.h"
#include "tokenizer.h"

namespace r1lab {
namespace {

using testing::ParseResolved;

const TaskConfig& SmallTask() {
  static const TaskConfig tc = ParseResolved<TaskConfig>(
      "arith { min_ops: 1 max_ops: 2 max_operand: 5 } teacher { step_error_rate: 0.3 reflection_rate: 0.3 } "
      "num_test: 60");
  return tc;
}

// A tiny imperfect base, trained once for the whole suite.
Transformer& Base() {
  static Transformer base = [] {
    ArithTask task(SmallTask());
    Transformer m = MakeModel(testing::TinyModel(64, 2, 4), Tokenizer::Get().vocab_size());
    SftConfig sc = ParseResolved<SftConfig>("steps: 800 batch_size: 32 optim { lr: 0.003 warmup_steps: 20 }");
    SftTrainer trainer(m, task, sc, SmallTask().teacher(), 11, nullptr);
    for (int i = 0; i < sc.steps(); ++i) trainer.Step();
    return m;
  }();
  return base;
}

Transformer CopyOfBase() {
  Transformer m = MakeModel(Base()->config(), Base()->vocab_size());
  CopyWeights(Base(), m);
  return m;
}

TEST(Grpo, FirstPassRatioIsExactlyOne) {
  ArithTask task(SmallTask());
  for (const char* knobs : {"epochs: 1 minibatches: 1", "epochs: 2 minibatches: 4"}) {
    Transformer m = CopyOfBase();
    GrpoConfig cfg = ParseResolved<GrpoConfig>(std::string("prompts_per_step: 4 group_size: 4 optim { lr: 1e-3 } ") +
                                               knobs + " sampling { max_new_tokens: 40 }");
    FlopCounter flops;
    GrpoTrainer t(m, task, cfg, 3, &flops);
    std::string note;
    for (int step = 0; step < 3; ++step) {
      const std::string metrics = t.Step(step, &note);
      EXPECT_EQ(t.last_first_ratio_dev(), 0.0) << knobs << " step " << step;
      EXPECT_NE(metrics.find("\"frac_reward_zero_std\""), std::string::npos);
      EXPECT_NE(metrics.find("\"clip_region_frac\""), std::string::npos);
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
  ArithTask task(SmallTask());
  Transformer m = CopyOfBase();
  Transformer base = CopyOfBase();
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

// One update on a group where only one sample is rewarded raises that
// sample's log-probability and lowers the other's.
TEST(Grpo, RewardedSampleGainsProbability) {
  Transformer m = CopyOfBase();
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
  EXPECT_GT(after[0].item<double>(), before[0].item<double>());
  EXPECT_LT(after[1].item<double>(), before[1].item<double>());
}

TEST(Grpo, NoReferenceModelWhenBetaIsZero) {
  ArithTask task(SmallTask());
  Transformer m = CopyOfBase();
  GrpoConfig cfg = ParseResolved<GrpoConfig>("prompts_per_step: 2 group_size: 2 kl_coef: 0");
  FlopCounter flops;
  GrpoTrainer t(m, task, cfg, 3, &flops);
  EXPECT_EQ(t.reference(), nullptr);
  std::string note;
  t.Step(0, &note);
  EXPECT_EQ(flops.Get(FlopPhase::kScore), 0);
}

TEST(Grpo, DynamicSamplingDropsZeroVarianceGroups) {
  ArithTask task(SmallTask());
  Transformer m = CopyOfBase();
  GrpoConfig cfg = ParseResolved<GrpoConfig>(
      "prompts_per_step: 8 group_size: 2 drop_zero_variance_groups: true max_resample_rounds: 5 "
      "reward { format_weight: 0 }");
  FlopCounter flops;
  GrpoTrainer t(m, task, cfg, 5, &flops);
  std::string note;
  const std::string metrics = t.Step(0, &note);
  // With groups of 2 and a ~50% base, about half the groups agree and are re-drawn.
  EXPECT_EQ(metrics.find("\"groups_dropped\":0,"), std::string::npos) << metrics;
  EXPECT_EQ(metrics.find("\"sampling_rounds\":1,"), std::string::npos) << metrics;
}

// Interrupt after 3 steps, resume to 6: the same weights as 6 steps in one go
// (policy, optimizer, reference, RNG and counters all come back).
TEST(Grpo, ResumedRunMatchesAnUninterruptedOne) {
  ArithTask task(SmallTask());
  const ExperimentConfig exp = ParseResolved<ExperimentConfig>("name: \"x\" seeds: 1 task { arith {} }");
  auto run = [&](int steps, const std::string& ckpt, Transformer& m, FlopCounter& flops) {
    Arm arm;
    arm.set_name("g");
    *arm.mutable_grpo() = ParseResolved<GrpoConfig>(
        "prompts_per_step: 4 group_size: 4 optim { lr: 1e-3 warmup_steps: 2 min_lr_ratio: 1 } "
        "sampling { max_new_tokens: 40 }");
    arm.mutable_grpo()->set_steps(steps);
    StrategyContext ctx;
    ctx.experiment = &exp;
    ctx.arm = &arm;
    ctx.seed = 9;
    ctx.task = &task;
    ctx.policy = &m;
    ctx.flops = &flops;
    ctx.checkpoint_path = ckpt;
    ctx.label = "grpo test";
    MakeStrategy(arm)->Train(ctx);
  };
  const std::string dir = testing::TempDir("grpo_resume");
  Transformer straight = CopyOfBase(), resumed = CopyOfBase();
  FlopCounter f1, f2;
  run(6, dir + "/a.pt", straight, f1);
  {
    Transformer first = CopyOfBase();
    FlopCounter f;
    run(3, dir + "/b.pt", first, f);
  }
  run(6, dir + "/b.pt", resumed, f2);
  auto a = straight->named_parameters(), b = resumed->named_parameters();
  for (const auto& item : a) EXPECT_TRUE(torch::equal(item.value(), b[item.key()])) << item.key();
  EXPECT_DOUBLE_EQ(f1.Total(), f2.Total());
}

TEST(Learning, GrpoRaisesHeldOutPassAt1) {
  ArithTask task(SmallTask());
  Transformer m = CopyOfBase();
  const EvalConfig ec = ParseResolved<EvalConfig>("num_problems: 60 samples_per_problem: 8 sampling { max_new_tokens: 40 }");
  const EvalResult before = Evaluate(m, task, ec);
  GrpoConfig cfg = ParseResolved<GrpoConfig>(
      "prompts_per_step: 16 group_size: 8 optim { lr: 3e-4 warmup_steps: 2 min_lr_ratio: 1 } "
      "sampling { max_new_tokens: 40 }");
  FlopCounter flops;
  GrpoTrainer t(m, task, cfg, 1, &flops);
  std::string note;
  for (int step = 0; step < 40; ++step) t.Step(step, &note);
  const EvalResult after = Evaluate(m, task, ec);
  EXPECT_GT(before.pass1, 0.15) << EvalTable(before);
  EXPECT_LT(before.pass1, 0.75) << EvalTable(before);
  std::printf("GRPO learning test: pass@1 %.3f -> %.3f\n", before.pass1, after.pass1);
  EXPECT_GT(after.pass1, before.pass1 + 0.10) << "before\n" << EvalTable(before) << "after\n" << EvalTable(after);
}

}  // namespace
}  // namespace r1lab

#include "completer.h"
#include "steps.h"

namespace r1lab {
namespace {

// Monte Carlo labels from the tiny base as completer: after an unfixed wrong
// step the share of completions that reach the gold drops, and the FLOPs of
// labelling are counted.
TEST(McLabels, PolicyCompleterSeesWrongSteps) {
  ArithTask task(SmallTask());
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
  const auto labels = MonteCarloLabels(task, jobs, ModelCompleter(CopyOfBase(), s, 5, &flops), 8);
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

#include "prm_study.h"

namespace r1lab {
namespace {

// The PRM pipeline end to end on the tiny base: invariants a user relies on.
TEST(PrmStudy, EndToEndInvariants) {
  ArithTask task(SmallTask());
  Transformer base = CopyOfBase();
  PrmStudySpec spec;
  spec.label_traces = 40;
  spec.label_n = 4;
  spec.train_steps = 40;
  spec.batch_size = 16;
  spec.optim = ParseResolved<OptimConfig>("lr: 0.003 warmup_steps: 0");
  spec.test_problems = 20;
  spec.candidates = 4;
  spec.sampling = ParseResolved<SamplingConfig>("temperature: 1 max_new_tokens: 40");
  const PrmStudy s = RunPrmStudy(base, task, spec);
  ASSERT_EQ(s.ns, (std::vector<int>{1, 2, 4}));
  const double at1 = s.bon.at("oracle (pass@N)")[0];
  for (const auto& [name, acc] : s.bon) {
    EXPECT_DOUBLE_EQ(acc[0], at1) << name << ": with one candidate every method picks it";
    for (size_t i = 0; i < acc.size(); ++i) EXPECT_LE(acc[i], s.bon.at("oracle (pass@N)")[i] + 1e-12) << name;
  }
  EXPECT_EQ(s.labels.traces, 40);
  EXPECT_GT(s.flops_label, 0);
  EXPECT_GT(s.flops_train, 0);
  EXPECT_GT(s.flops_score, 0);
  EXPECT_GE(s.step_auc, 0);
  EXPECT_LE(s.step_auc, 1);
  EXPECT_NE(PrmStudyTable(s).find("| PRM min |"), std::string::npos);
  EXPECT_GE(s.beam_accuracy, 0);
  EXPECT_LE(s.beam_accuracy, 1);
  EXPECT_GT(s.beam_tokens, 0);
  EXPECT_GT(s.bon_tokens, 0);
  // The base is untouched.
  auto a = base->named_parameters(), b = Base()->named_parameters();
  for (auto& item : a) EXPECT_TRUE(torch::equal(item.value(), *b.find(item.key()))) << item.key();
}

// PRM-guided beam search finishes every problem with one of its beams: a
// completion that ends in <eos> (or fills the token limit), of at most
// max_new_tokens tokens, judged by the verifier.
TEST(PrmBeam, EveryProblemGetsAFinishedCompletion) {
  ArithTask task(SmallTask());
  Transformer policy = CopyOfBase();
  Transformer prm = RewardModelFrom(policy, true);
  const std::vector<Problem> problems(task.TestSet().begin(), task.TestSet().begin() + 6);
  BeamSpec spec;
  spec.beam_width = 2;
  spec.expansions = 3;
  spec.sampling = ParseResolved<SamplingConfig>("temperature: 1 max_new_tokens: 40");
  FlopCounter flops;
  const BeamResult r = PrmBeamSearch(policy, prm, task, problems, spec, &flops);
  ASSERT_EQ(r.answers.size(), problems.size());
  const Tokenizer& tok = Tokenizer::Get();
  int right = 0;
  for (size_t p = 0; p < problems.size(); ++p) {
    const std::vector<int> ids = tok.Encode(r.answers[p]);
    EXPECT_LE(ids.size(), 40u);
    EXPECT_TRUE(ids.back() == Tokenizer::kEos || ids.size() == 40u) << r.answers[p];
    EXPECT_EQ(r.correct[p], task.Verify(r.answers[p], problems[p]).correct);
    right += r.correct[p];
  }
  EXPECT_DOUBLE_EQ(r.accuracy, right / 6.0);
  EXPECT_GT(flops.Get(FlopPhase::kGenerate), 0);
  EXPECT_GT(flops.Get(FlopPhase::kScore), 0);
}

// ---- PRM-RL

const ExperimentConfig& PrmRlExperiment() {
  static const ExperimentConfig exp = ParseResolved<ExperimentConfig>(
      "name: \"x\" seeds: 1 task { arith {} } eval { sampling { max_new_tokens: 40 } }");
  return exp;
}

PrmRlConfig SmallPrmRl(const std::string& extra) {
  return ParseResolved<PrmRlConfig>(
      "grpo { prompts_per_step: 4 group_size: 4 optim { lr: 1e-3 warmup_steps: 2 min_lr_ratio: 1 } "
      "sampling { max_new_tokens: 40 } } "
      "reward_model { label_traces: 24 label_n: 2 train_steps: 6 batch_size: 8 } shift_problems: 4 " + extra);
}

// Runs an arm (GRPO or PRM-RL) for `steps` from `m`, checkpointing to `ckpt`.
void RunArm(const Arm& arm_in, int steps, const std::string& ckpt, Transformer& m, FlopCounter& flops,
            const std::string& metrics_path) {
  ArithTask task(SmallTask());
  Arm arm = arm_in;
  if (arm.has_grpo()) arm.mutable_grpo()->set_steps(steps);
  else if (arm.has_mcts()) arm.mutable_mcts()->set_steps(steps);
  else arm.mutable_prm_rl()->mutable_grpo()->set_steps(steps);
  JsonlWriter metrics(metrics_path);
  StrategyContext ctx;
  ctx.experiment = &PrmRlExperiment();
  ctx.arm = &arm;
  ctx.seed = 9;
  ctx.task = &task;
  ctx.policy = &m;
  ctx.flops = &flops;
  ctx.metrics = &metrics;
  ctx.checkpoint_path = ckpt;
  ctx.label = arm.name();
  MakeStrategy(arm)->Train(ctx);
}

// With the learned reward weighted 0 and the rule reward 1, PRM-RL is GRPO:
// the same weights step for step; the reward model's costs are charged on
// top, and its metrics and the shift measurement are logged.
TEST(PrmRl, RuleOnlyMixIsExactlyGrpo) {
  const std::string dir = testing::TempDir("prm_rl_rule");
  Arm grpo, prm;
  grpo.set_name("grpo");
  *grpo.mutable_grpo() = SmallPrmRl("").grpo();
  prm.set_name("prm_rl");
  *prm.mutable_prm_rl() = SmallPrmRl("learned_weight: 0 rule_weight: 1");
  Transformer a = CopyOfBase(), b = CopyOfBase();
  FlopCounter fa, fb;
  RunArm(grpo, 3, dir + "/a.pt", a, fa, dir + "/a.jsonl");
  RunArm(prm, 3, dir + "/b.pt", b, fb, dir + "/b.jsonl");
  auto pa = a->named_parameters(), pb = b->named_parameters();
  for (const auto& item : pa) EXPECT_TRUE(torch::equal(item.value(), pb[item.key()])) << item.key();
  EXPECT_GT(fb.Get(FlopPhase::kLabel), 0);
  EXPECT_GT(fb.Get(FlopPhase::kRewardTrain), 0);
  EXPECT_GT(fb.Get(FlopPhase::kRewardScore), 0) << "scoring rollouts with the reward model";
  EXPECT_DOUBLE_EQ(fb.Get(FlopPhase::kScore), fa.Get(FlopPhase::kScore));
  EXPECT_DOUBLE_EQ(fb.Get(FlopPhase::kGenerate), fa.Get(FlopPhase::kGenerate));
  const auto lines = ReadLines(dir + "/b.jsonl");
  ASSERT_EQ(lines.size(), 5u);  // reward model, 3 steps, shift
  EXPECT_NE(lines[0].find("\"reward_model\""), std::string::npos);
  const JsonValue step = JsonValue::Parse(lines[1]);
  for (const char* key : {"proxy_reward", "true_accuracy", "hacking_gap", "proxy_auc", "steps_mean",
                          "repeated_step_rate", "no_answer_rate"})
    EXPECT_NE(step.find(key), nullptr) << key;
  EXPECT_NEAR(step.num("hacking_gap"), step.num("proxy_reward") - step.num("true_accuracy"), 1e-12);
  const JsonValue shift = JsonValue::Parse(lines[4]).at("shift");
  EXPECT_EQ(shift.at("base").num("samples"), 16);
  EXPECT_EQ(shift.at("policy").num("samples"), 16);
}

// Runs `arm` straight for 4 steps (to dir/a.pt, a.jsonl), and for 2 then
// resumed to 4 (b.pt, b.jsonl): the weights and every FLOP phase must match,
// so the resumed run repaid no labelling or pretraining. The straight run's
// FLOPs go to `f1`.
void ExpectResumeMatchesStraightRun(const Arm& arm, const std::string& dir, FlopCounter& f1) {
  Transformer straight = CopyOfBase(), resumed = CopyOfBase();
  FlopCounter f2;
  RunArm(arm, 4, dir + "/a.pt", straight, f1, dir + "/a.jsonl");
  {
    Transformer first = CopyOfBase();
    FlopCounter f;
    RunArm(arm, 2, dir + "/b.pt", first, f, dir + "/b.jsonl");
  }
  RunArm(arm, 4, dir + "/b.pt", resumed, f2, dir + "/b.jsonl");
  auto a = straight->named_parameters(), b = resumed->named_parameters();
  for (const auto& item : a) EXPECT_TRUE(torch::equal(item.value(), b[item.key()])) << item.key();
  for (int p = 0; p < static_cast<int>(FlopPhase::kCount); ++p)
    EXPECT_DOUBLE_EQ(f1.Get(static_cast<FlopPhase>(p)), f2.Get(static_cast<FlopPhase>(p)))
        << FlopPhaseName(static_cast<FlopPhase>(p));
}

// Killed after 2 steps, resumed to 4: the reward model comes back from its
// checkpoint (no second labelling bill) and the weights match a straight run.
TEST(PrmRl, ResumeKeepsTheRewardModelAndMatchesAStraightRun) {
  const std::string dir = testing::TempDir("prm_rl_resume");
  Arm arm;
  arm.set_name("prm_rl");
  *arm.mutable_prm_rl() = SmallPrmRl("");
  FlopCounter f1;
  ExpectResumeMatchesStraightRun(arm, dir, f1);
}

// Dense process rewards: each token's advantage is the suffix sum of the
// group-normalised step scores (reference: ProcessAdvantages on step ends
// found by re-encoding each step's prefix), and rule_weight adds the rule
// reward's group advantage to every token.
TEST(PrmRl, DenseAdvantagesFollowTheStepEnds) {
  ArithTask task(SmallTask());
  PrmRlConfig cfg = SmallPrmRl("dense: true rule_weight: 0.5 learned_weight: 2");
  cfg.mutable_grpo()->set_std_epsilon(0.05);  // the arm's epsilon, not the default, normalises
  Transformer policy = CopyOfBase();
  Transformer rm = MakeModel([] { ModelConfig c = Base()->config(); c.set_prm_head(true); return c; }(),
                             Base()->vocab_size());
  FlopCounter flops;
  Rng rng(3);
  RewardChain chain(cfg.grpo().reward(), 40);
  Rollouts ro = SampleRollouts(policy, task, rng, 3, 4, cfg.grpo().sampling(), 5, chain, &flops);
  const std::vector<double> rule = ro.totals();
  LearnedReward reward(cfg, rm, &flops);
  reward.Score(ro);
  const Tokenizer& tok = Tokenizer::Get();
  std::vector<StepRewards> steps;
  for (int k = 0; k < ro.size(); ++k) {
    const std::string c = tok.Decode(ro.gens[k].tokens);
    const std::string prompt = ro.problems[k / 4].prompt;
    PrmExample e{prompt, c, SegmentSteps(c, {Segmenter::kLine}), {}};
    StepRewards s;
    s.length = static_cast<int>(ro.gens[k].tokens.size());
    s.rewards = ScoreSteps(rm, {e})[0];
    const int64_t P = 1 + static_cast<int64_t>(tok.Encode(prompt).size());
    for (int64_t pos : StepEndPositions(prompt, c, e.steps)) s.end_tokens.push_back(static_cast<int>(pos - P));
    steps.push_back(s);
  }
  const auto process = ProcessAdvantages(steps, 4, cfg.grpo().std_epsilon());
  const auto outcome = GroupAdvantages(rule, 4, GROUP_ZSCORE, cfg.grpo().std_epsilon());
  ASSERT_EQ(ro.token_advantages.size(), 12u);
  for (int k = 0; k < 12; ++k) {
    ASSERT_EQ(ro.token_advantages[k].size(), process[k].size());
    for (size_t j = 0; j < process[k].size(); ++j)
      EXPECT_NEAR(ro.token_advantages[k][j], 2 * process[k][j] + 0.5 * outcome[k], 1e-4) << k << " " << j;
  }
  EXPECT_THROW(LearnedReward(SmallPrmRl("dense: true reward_model { kind: ORM }"), rm, &flops), ConfigError);
}

}  // namespace
}  // namespace r1lab

#include "search_env.h"
#include "self_search.h"

namespace r1lab {
namespace {

// The policy environments' settings for the tiny base: 40-token lines,
// rollouts at temperature 1, 4 children (or samples) per leaf.
PolicyEnvSpec TinySearchSpec() {
  PolicyEnvSpec spec;
  spec.max_new_tokens = 40;
  spec.sampling = ParseResolved<SamplingConfig>("temperature: 1 max_new_tokens: 40");
  spec.seed = 3;
  spec.width = 4;
  return spec;
}

SearchParams TinySearchParams() {
  SearchParams p;
  p.max_children = 4;
  p.first_play = 0.5;
  return p;
}

// Token-level MCTS with the tiny base as prior and rollout policy, six
// problems searched at once: each round's leaves from all trees go to the
// environment in one call, every tree commits a finished line, and on
// problems the base solves often, search finds a correct line.
TEST(Mcts, PolicyTokenSearchOnTheTinyBase) {
  ArithTask task(SmallTask());
  const PolicyEnvSpec spec = TinySearchSpec();
  const SearchParams p = TinySearchParams();
  FlopCounter flops;
  const std::vector<Problem> probs(task.TestSet().begin(), task.TestSet().begin() + 6);
  PolicyTokenEnv env(CopyOfBase(), task, probs, spec, &flops);
  std::vector<Node> roots(probs.size());
  const ForestStats fs = SearchForest(env, roots, {32, 8, 40}, p);
  EXPECT_GT(fs.mean_leaf_batch, 4) << "leaves of several trees share a call (one tree alone averages about 2)";
  int solved = 0;
  for (size_t i = 0; i < probs.size(); ++i) {
    EXPECT_GE(fs.trees[i].nodes, 15);
    EXPECT_NE(fs.trees[i].best.find("<eos>"), std::string::npos) << "the committed line is finished: " << fs.trees[i].best;
    solved += task.Verify(fs.trees[i].best, probs[i]).correct;
  }
  EXPECT_GT(flops.Total(), 0);
  EXPECT_GE(solved, 3) << solved << " of 6";
}

// Step-level search: children are sampled next lines (each ends with a line
// break, or finishes the completion), priors from their probabilities; the
// value is the share of verified continuations; search as play commits a
// finished line and solves problems the base often solves.
TEST(Mcts, StepLevelSearchOnTheTinyBase) {
  ArithTask task(SmallTask());
  const PolicyEnvSpec spec = TinySearchSpec();
  const SearchParams p = TinySearchParams();
  FlopCounter flops;
  const std::vector<Problem> probs(task.TestSet().begin(), task.TestSet().begin() + 6);
  PolicyStepEnv env(CopyOfBase(), task, probs, spec, &flops);
  const std::vector<LeafEval> ev = env.Evaluate({{0, ""}, {1, ""}});
  for (const LeafEval& e : ev) {
    ASSERT_FALSE(e.children.empty());
    for (const auto& [text, prior] : e.children) {
      EXPECT_TRUE(text.back() == '\n' || text.find("<eos>") != std::string::npos) << text;
      EXPECT_GT(prior, 0);
      EXPECT_LE(prior, 1);
    }
    EXPECT_GE(e.value, 0);
    EXPECT_LE(e.value, 1);
  }
  // Another end of step: "=" (every arith line has one).
  PolicyEnvSpec eq = spec;
  eq.step_end = "=";
  PolicyStepEnv eq_env(CopyOfBase(), task, probs, eq, nullptr);
  const std::vector<LeafEval> eq_eval = eq_env.Evaluate({{0, "<think>"}});
  ASSERT_FALSE(eq_eval[0].children.empty());
  for (const auto& [text, prior] : eq_eval[0].children)
    EXPECT_TRUE(text.back() == '=' || text.find("<eos>") != std::string::npos) << text;
  std::vector<Node> roots(probs.size());
  const ForestStats fs = SearchForest(env, roots, {8, 4, 40}, p);
  int solved = 0;
  for (size_t i = 0; i < probs.size(); ++i) {
    EXPECT_NE(fs.trees[i].best.find("<eos>"), std::string::npos) << "the committed line is finished: " << fs.trees[i].best;
    solved += task.Verify(fs.trees[i].best, probs[i]).correct;
  }
  EXPECT_GT(flops.Get(FlopPhase::kGenerate), 0);
  EXPECT_GE(solved, 3) << solved << " of 6";
}

// Leaf values per config. With the value network and verify_terminals
// false every leaf, finished or not, is valued by the network at its last
// token (never by the verifier); with verify_terminals a finished wrong line
// is worth 0; MIX blends the network with the rollout verdict.
TEST(Mcts, LeafValuesFollowTheConfig) {
  ArithTask task(SmallTask());
  Transformer policy = CopyOfBase();
  Transformer value = RewardModelFrom(policy, true);
  const Problem& prob = task.TestSet()[0];
  PolicyEnvSpec spec = TinySearchSpec();
  spec.leaf_value = LeafValue::kValueNetwork;
  spec.verify_terminals = false;
  spec.value = value;
  const std::string wrong = "<think>1+1=3\n</think><answer>" + std::to_string(std::stoi(prob.gold) + 1) + "</answer><eos>";
  const std::vector<LeafQuery> leaves = {{0, wrong}, {0, "<think>"}};
  std::vector<double> net;
  for (const LeafQuery& q : leaves) {
    PrmExample e{prob.prompt, q.text, {{0, q.text.size()}}, {}};
    net.push_back(ScoreSteps(value, {e})[0][0]);
  }
  PolicyTokenEnv gold_free(policy, task, {prob}, spec, nullptr);
  const std::vector<LeafEval> ev = gold_free.Evaluate(leaves);
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_TRUE(ev[0].children.empty()) << "a finished line is terminal";
  EXPECT_FALSE(ev[1].children.empty());
  for (size_t i = 0; i < leaves.size(); ++i) EXPECT_NEAR(ev[i].value, net[i], 1e-5) << leaves[i].text;
  SearchParams p;
  p.max_children = 4;
  Node root;
  const SearchStats s = SearchMoves(gold_free, root, 16, 8, 40, p);
  EXPECT_NE(s.best.find("<eos>"), std::string::npos) << s.best;

  spec.verify_terminals = true;
  spec.leaf_value = LeafValue::kMix;
  spec.mix = 0.25;
  PolicyTokenEnv mixed(policy, task, {prob}, spec, nullptr);
  const std::vector<LeafEval> m = mixed.Evaluate(leaves);
  EXPECT_EQ(m[0].value, 0.0) << "the verifier scores the finished wrong line";
  const double z = (m[1].value - 0.75 * net[1]) / 0.25;  // the rollout's verdict: 0 or 1
  EXPECT_TRUE(std::abs(z) < 1e-4 || std::abs(z - 1) < 1e-4) << m[1].value;

  spec.value = CopyOfBase();
  EXPECT_THROW(PolicyTokenEnv(policy, task, {prob}, spec, nullptr), ConfigError) << "a value network needs the PRM head";
  spec.value = Transformer(nullptr);
  EXPECT_THROW(PolicyTokenEnv(policy, task, {prob}, spec, nullptr), ConfigError) << "MIX needs a value network";
}

}  // namespace
}  // namespace r1lab

namespace r1lab {
namespace {

MctsConfig SmallMcts(const std::string& extra) {
  return ParseResolved<MctsConfig>(
      "problems_per_step: 4 sft_steps: 2 batch_size: 8 optim { lr: 1e-3 warmup_steps: 0 min_lr_ratio: 1 } "
      "search { simulations: 4 max_children: 3 leaf_batch: 2 sampling { max_new_tokens: 40 } } "
      "value { pretrain_traces: 12 label_n: 2 pretrain_steps: 4 steps_per_iteration: 2 batch_size: 8 "
      "heldout_problems: 4 optim { warmup_steps: 0 } } " + extra);
}

// Self-search: killed after 2 iterations and resumed to 4, it matches a
// straight run (the value network comes back from its checkpoint, with no
// second pretraining bill); every cost is charged to its phase, and the
// metrics carry the search, the value network's error and its held-out
// measurement at the start and the end.
TEST(SelfSearch, ResumeKeepsTheValueNetworkAndMatchesAStraightRun) {
  const std::string dir = testing::TempDir("self_search_resume");
  Arm arm;
  arm.set_name("mcts");
  *arm.mutable_mcts() = SmallMcts("");
  FlopCounter f1;
  ExpectResumeMatchesStraightRun(arm, dir, f1);
  for (FlopPhase p : {FlopPhase::kLabel, FlopPhase::kRewardTrain, FlopPhase::kScore, FlopPhase::kTrain})
    EXPECT_GT(f1.Get(p), 0) << FlopPhaseName(p);
  const auto lines = ReadLines(dir + "/a.jsonl");
  ASSERT_EQ(lines.size(), 7u);  // value network, held-out start, 4 iterations, held-out end
  EXPECT_NE(lines[0].find("\"value_network\""), std::string::npos);
  EXPECT_EQ(JsonValue::Parse(lines[1]).at("value_heldout").at("when").string(), "start");
  EXPECT_EQ(JsonValue::Parse(lines[6]).at("value_heldout").at("when").string(), "end");
  const JsonValue it = JsonValue::Parse(lines[2]);
  for (const char* key : {"search_solved", "search_found", "traces", "nodes_visited", "branching", "mean_leaf_batch"})
    EXPECT_NE(it.find(key), nullptr) << key;
  EXPECT_LE(it.num("search_solved"), it.num("search_found")) << "a solved problem has a right line in its tree";
  EXPECT_EQ(it.num("traces"), it.num("search_found") * 4);
  EXPECT_NE(it.at("value").find("mae_constant"), nullptr);
}

// With rollout leaves there is no value network: nothing is labelled or
// checkpointed beside the policy.
TEST(SelfSearch, RolloutLeavesNeedNoValueNetwork) {
  const std::string dir = testing::TempDir("self_search_rollout");
  Arm arm;
  arm.set_name("mcts");
  *arm.mutable_mcts() = SmallMcts("");
  arm.mutable_mcts()->mutable_search()->set_leaf_value(ROLLOUT);
  Transformer m = CopyOfBase();
  FlopCounter f;
  RunArm(arm, 2, dir + "/a.pt", m, f, dir + "/a.jsonl");
  EXPECT_EQ(f.Get(FlopPhase::kLabel), 0);
  EXPECT_EQ(f.Get(FlopPhase::kRewardTrain), 0);
  EXPECT_GT(f.Get(FlopPhase::kGenerate), 0) << "rollouts";
  EXPECT_FALSE(FileExists(dir + "/a.value.pt"));
  EXPECT_EQ(ReadLines(dir + "/a.jsonl").size(), 2u);
}

// Sound traces: every reasoning line right, in a well-formed think block.
TEST(SelfSearch, SoundChainJudgesEveryReasoningLine) {
  ArithTask task(SmallTask());
  EXPECT_EQ(SoundChain(task, "<think>4+5=9\n9+4=13\n</think><answer>13</answer>"), true);
  EXPECT_EQ(SoundChain(task, "<think>5+2=</think><answer>4</answer>"), false) << "a malformed line";
  EXPECT_EQ(SoundChain(task, "<think>2-2=2\n2+5=5\n</think><answer>5</answer>"), false) << "a wrong line";
  EXPECT_EQ(SoundChain(task, "<think>5-1=4\n4<answer>6</answer>"), false) << "no closing tag";
  EXPECT_EQ(SoundChain(task, "<think></think><answer>6</answer>"), false) << "no reasoning at all";
  TaskConfig cd;
  cd.mutable_countdown();
  EXPECT_FALSE(SoundChain(*MakeTask(cd), "<think>x</think>").has_value()) << "countdown cannot judge lines";
}

// The report's loop, iterated on the tiny base: search training problems,
// fine-tune on the right lines found. Held-out pass@1 (plain sampling, no
// search) must rise (it did by 14 points when written; at lr 1e-3 the policy
// instead learns the search's lucky guesses and falls).
TEST(Learning, SelfSearchRaisesHeldOutPassAt1) {
  ArithTask task(SmallTask());
  Transformer m = CopyOfBase();
  const EvalConfig ec = ParseResolved<EvalConfig>("num_problems: 60 samples_per_problem: 8 sampling { max_new_tokens: 40 }");
  const EvalResult before = Evaluate(m, task, ec);
  Arm arm;
  arm.set_name("mcts");
  *arm.mutable_mcts() = SmallMcts("");
  MctsConfig& c = *arm.mutable_mcts();
  c.set_problems_per_step(16);
  c.set_sft_steps(2);
  c.set_batch_size(16);
  c.mutable_optim()->set_lr(3e-4);
  c.mutable_search()->set_leaf_value(ROLLOUT);
  c.mutable_search()->set_simulations(8);
  c.mutable_search()->set_max_children(4);
  c.mutable_search()->set_leaf_batch(4);
  FlopCounter f;
  const std::string dir = testing::TempDir("self_search_learning");
  RunArm(arm, 12, dir + "/a.pt", m, f, dir + "/a.jsonl");
  const EvalResult after = Evaluate(m, task, ec);
  std::printf("self-search learning test: pass@1 %.3f -> %.3f\n", before.pass1, after.pass1);
  EXPECT_GT(after.pass1, before.pass1 + 0.08) << "before\n" << EvalTable(before) << "after\n" << EvalTable(after);
}

}  // namespace
}  // namespace r1lab

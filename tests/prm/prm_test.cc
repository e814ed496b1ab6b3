// PRM study, PRM-guided beam search and the PRM-RL arm on the tiny base.
#include <gtest/gtest.h>

#include "arith.h"
#include "arm_runner.h"
#include "grpo_trainer.h"
#include "io.h"
#include "json.h"
#include "loopback.h"
#include "mix.h"
#include "note.h"
#include "prm_beam.h"
#include "prm_rl.h"
#include "prm_study.h"
#include "process_advantage.h"
#include "report_section.h"
#include "reward_data.h"
#include "rollout.h"
#include "scorer.h"
#include "steps.h"
#include "tiny_base.h"
#include "tokenizer.h"

namespace r1lab {
namespace {

using testing::ParseResolved;

using testing::ExpectResumeMatchesStraightRun;
using testing::RunArm;

// The PRM pipeline end to end on the tiny base: invariants a user relies on.
TEST(PrmStudy, EndToEndInvariants) {
  ArithTask task(testing::TinyBaseTask());
  Transformer base = testing::CopyOfTinyBase();
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
  auto a = base->named_parameters(), b = testing::TinyBase()->named_parameters();
  for (auto& item : a) EXPECT_TRUE(torch::equal(item.value(), *b.find(item.key()))) << item.key();
}

// PRM-guided beam search finishes every problem with one of its beams: a
// completion that ends in <eos> (or fills the token limit), of at most
// max_new_tokens tokens, judged by the verifier.
TEST(PrmBeam, EveryProblemGetsAFinishedCompletion) {
  ArithTask task(testing::TinyBaseTask());
  Transformer policy = testing::CopyOfTinyBase();
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

PrmRlConfig SmallPrmRl(const std::string& extra) {
  return ParseResolved<PrmRlConfig>(
      "grpo { prompts_per_step: 4 group_size: 4 optim { lr: 1e-3 warmup_steps: 2 min_lr_ratio: 1 } "
      "sampling { max_new_tokens: 40 } } "
      "reward_model { label_traces: 24 label_n: 2 train_steps: 6 batch_size: 8 } shift_problems: 4 " + extra);
}

// Labelling asks the verifier once per sampled completion (its outcome) and,
// for Monte Carlo labels, n times per step before the answer; truth labels
// judge each of those steps once.
TEST(RewardData, CountsItsOracleCalls) {
  ArithTask task(testing::TinyBaseTask());
  Transformer m = testing::CopyOfTinyBase();
  std::vector<Problem> problems;
  Rng rng(3);
  for (int i = 0; i < 6; ++i) problems.push_back(task.SampleTrain(rng));
  for (bool truth : {false, true}) {
    RewardDataSpec spec;
    spec.label_n = 3;
    spec.truth_labels = truth;
    spec.sampling.set_max_new_tokens(40);
    FlopCounter flops;
    const RewardData data = BuildRewardData(m, task, problems, spec, &flops);
    int64_t expected = static_cast<int64_t>(data.orm.size());
    for (const PrmExample& e : data.prm) expected += static_cast<int64_t>(e.steps.size() - 1) * (truth ? 1 : 3);
    EXPECT_EQ(flops.OracleCalls(), expected) << (truth ? "truth" : "Monte Carlo");
    EXPECT_GT(flops.OracleCalls(), static_cast<int64_t>(data.orm.size()));
  }
}

// With the learned reward weighted 0 and the rule reward 1, PRM-RL is GRPO:
// the same weights step for step; the reward model's costs are charged on
// top, and its metrics and the shift measurement are logged.
TEST(PrmRl, RuleOnlyMixIsExactlyGrpo) {
  const std::string dir = testing::TempDir("prm_rl_rule");
  Arm prm;
  prm.set_name("prm_rl");
  *prm.mutable_prm_rl() = SmallPrmRl("learned_weight: 0 rule_weight: 1");
  Transformer a = testing::CopyOfTinyBase(), b = testing::CopyOfTinyBase();
  FlopCounter fa, fb;
  {  // GRPO alone: the shared step for 3 steps, as the GRPO arm runs it (seed 9)
    ArithTask task(testing::TinyBaseTask());
    GrpoConfig cfg = SmallPrmRl("").grpo();
    cfg.set_steps(3);
    GrpoTrainer t(a, task, cfg, 9, &fa);
    std::string note;
    for (int step = 0; step < 3; ++step) t.Step(step, &note);
  }
  RunArm(prm, 3, dir + "/b.pt", b, fb, dir + "/b.jsonl");
  auto pa = a->named_parameters(), pb = b->named_parameters();
  for (const auto& item : pa) EXPECT_TRUE(torch::equal(item.value(), pb[item.key()])) << item.key();
  EXPECT_GT(fb.Get(FlopPhase::kLabel), 0);
  EXPECT_GT(fb.Get(FlopPhase::kRewardTrain), 0);
  EXPECT_GT(fb.Get(FlopPhase::kRewardScore), 0) << "scoring rollouts with the reward model";
  EXPECT_DOUBLE_EQ(fb.Get(FlopPhase::kScore), fa.Get(FlopPhase::kScore));
  EXPECT_DOUBLE_EQ(fb.Get(FlopPhase::kGenerate), fa.Get(FlopPhase::kGenerate));
  // Oracle calls: GRPO's one rule verdict per sample, and on top the reward
  // model's labels. With the learned reward alone the rollouts' verdicts only
  // feed metrics: the labels are all the run asked for.
  EXPECT_EQ(fa.OracleCalls(), 3 * 4 * 4);
  const int64_t labels = fb.OracleCalls() - fa.OracleCalls();
  EXPECT_GT(labels, 0);
  {
    Arm learned = prm;
    *learned.mutable_prm_rl() = SmallPrmRl("learned_weight: 1 rule_weight: 0");
    Transformer c = testing::CopyOfTinyBase();
    FlopCounter fc;
    RunArm(learned, 3, dir + "/c.pt", c, fc, dir + "/c.jsonl");
    EXPECT_EQ(fc.OracleCalls(), labels);
  }
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
  for (const char* who : {"base", "policy"}) {
    EXPECT_NE(shift.at(who).find("step_auc"), nullptr) << who;
    const double f1 = shift.at(who).num("first_error_f1");
    EXPECT_GE(f1, 0) << who;
    EXPECT_LE(f1, 1) << who;
  }
}

// Bradley-Terry against a double-precision computation from the same
// model's scores: mean log(1 + exp(logit(rejected) - logit(chosen))).
TEST(PreferenceModel, LossIsBradleyTerryOnTheOutcomeLogits) {
  ModelConfig mc = testing::TinyModel();
  mc.set_prm_head(true);
  Transformer rm = MakeModel(mc, Tokenizer::Get().vocab_size());
  const std::vector<PreferencePair> pairs = {
      {OutcomeExample("1+2", "<think>1+2=3\n</think><answer>3</answer>", true),
       OutcomeExample("1+2", "<think>1+2=4\n</think><answer>4</answer>", false)},
      {OutcomeExample("5-1", "<think>5-1=4\n</think><answer>4</answer>", true),
       OutcomeExample("5-1", "<think>\n</think><answer>x</answer>", false)}};
  std::vector<PrmExample> items;
  for (const auto& p : pairs) items.push_back(p.chosen);
  for (const auto& p : pairs) items.push_back(p.rejected);
  const auto probs = ScoreSteps(rm, items);
  auto logit = [](double p) { return std::log(p / (1 - p)); };
  double want = 0;
  for (size_t i = 0; i < pairs.size(); ++i)
    want += std::log1p(std::exp(logit(probs[i + 2][0]) - logit(probs[i][0]))) / 2;
  double fwd = 0;
  torch::NoGradGuard no_grad;
  rm->eval();
  EXPECT_NEAR(PreferenceLoss(rm, pairs, &fwd).item<double>(), want, 1e-5);
  EXPECT_GT(fwd, 0);
  EXPECT_THROW(PreferenceLoss(rm, {}, nullptr), InputError);
}

// The planted case: pairs of a note that meets the hidden rubric and
// one that breaks some of it, for the same prompt. A small reward model
// trained on such pairs from fresh weights ranks the better note higher on
// held-out prompts it never saw.
TEST(PreferenceModel, RanksAPlantedBetterResponseHigher) {
  const NoteTask task(testing::ParseResolved<TaskConfig>("note {} num_test: 300 num_validation: 0"));
  TeacherConfig clean, noisy;
  clean.set_step_error_rate(0);
  noisy.set_step_error_rate(0.5);
  Rng rng(4);
  auto pair_for = [&](const Problem& p) {
    Trace bad = task.Teach(p, noisy, rng);
    while (task.Quality(bad.completion, p) == 1) bad = task.Teach(p, noisy, rng);
    return PreferencePair{OutcomeExample(p.prompt, task.Teach(p, clean, rng).completion, true),
                          OutcomeExample(p.prompt, bad.completion, false)};
  };
  std::vector<PreferencePair> train, held_out;
  for (int i = 0; i < 400; ++i) train.push_back(pair_for(task.SampleTrain(rng)));
  for (int i = 0; i < 200; ++i) held_out.push_back(pair_for(task.TestSet()[static_cast<size_t>(i)]));
  ModelConfig mc = testing::TinyModel();
  mc.set_max_seq_len(160);
  mc.set_prm_head(true);
  Transformer rm = MakeModel(mc, Tokenizer::Get().vocab_size());
  auto accuracy = [&]() {
    std::vector<PrmExample> items;
    for (const auto& p : held_out) items.push_back(p.chosen);
    for (const auto& p : held_out) items.push_back(p.rejected);
    const auto s = ScoreSteps(rm, items);
    double right = 0;
    for (size_t i = 0; i < held_out.size(); ++i) right += s[i][0] > s[i + held_out.size()][0];
    return right / static_cast<double>(held_out.size());
  };
  const double before = accuracy();
  FlopCounter flops;
  const double loss = TrainPreferenceModel(rm, train, 150, 32, testing::ParseResolved<OptimConfig>("lr: 0.003 warmup_steps: 10"),
                                           rng, &flops);
  const double after = accuracy();
  EXPECT_GT(after, 0.9) << "before training " << before << ", last loss " << loss;
  EXPECT_LT(loss, std::log(2.0)) << "below chance's Bradley-Terry loss";
  EXPECT_GT(flops.Get(FlopPhase::kTrain), 0);
}

// reward_model.kind PREFERENCE on the PRM-RL arm: pairs of base samples
// labelled by Task::Quality (arith: the verdict), one oracle call per judged
// sample, the pair count in the fit line, pair accuracy in the shift
// measurement; resume matches a straight run; dense rewards are refused.
TEST(PrmRl, PreferenceRewardModelTrainsOnLabelledPairs) {
  const std::string dir = testing::TempDir("prm_rl_preference");
  Arm arm;
  arm.set_name("prm_rl");
  *arm.mutable_prm_rl() = SmallPrmRl("");
  arm.mutable_prm_rl()->mutable_reward_model()->set_kind(PREFERENCE);
  arm.mutable_prm_rl()->mutable_reward_model()->set_label_traces(40);
  FlopCounter f1;
  ExpectResumeMatchesStraightRun(arm, dir, f1);
  const auto lines = ReadLines(dir + "/a.jsonl");
  ASSERT_GE(lines.size(), 2u);
  const JsonValue fit = JsonValue::Parse(lines[0]).at("reward_model");
  EXPECT_GT(fit.num("examples"), 0);
  EXPECT_LE(fit.num("examples"), 40) << "at most one pair per problem";
  const JsonValue shift = JsonValue::Parse(lines.back()).at("shift");
  for (const char* who : {"base", "policy"}) {
    EXPECT_GE(shift.at(who).num("pair_accuracy"), 0) << who;
    EXPECT_LE(shift.at(who).num("pair_accuracy"), 1) << who;
    EXPECT_EQ(shift.at(who).find("step_auc"), nullptr) << who << ": one score per response";
  }
  ArithTask task(testing::TinyBaseTask());
  PrmRlConfig dense = arm.prm_rl();
  dense.set_dense(true);
  EXPECT_THROW(LearnedReward(dense, Transformer(nullptr), task, nullptr), ConfigError);
  std::vector<Problem> problems;
  Rng rng(3);
  for (int i = 0; i < 12; ++i) problems.push_back(task.SampleTrain(rng));
  RewardDataSpec spec;
  spec.pairs = true;
  spec.sampling.set_max_new_tokens(40);
  FlopCounter flops;
  Transformer base = testing::CopyOfTinyBase();
  const RewardData data = BuildRewardData(base, task, problems, spec, &flops);
  EXPECT_EQ(flops.OracleCalls(), 24);
  EXPECT_TRUE(data.orm.empty());
  for (const PreferencePair& p : data.pairs) {
    EXPECT_EQ(p.chosen.prompt, p.rejected.prompt);
    const Problem* prob = nullptr;
    for (const Problem& q : problems)
      if (q.prompt == p.chosen.prompt) prob = &q;
    ASSERT_NE(prob, nullptr);
    EXPECT_GT(task.Quality(p.chosen.completion, *prob), task.Quality(p.rejected.completion, *prob));
  }
}

// route_by_prompt (R1's stage 4): on a mix of arith and notes, an arith
// sample's reward is its rule reward and a note's is the reward model's
// score; the weighted-sum knobs are refused beside it.
TEST(PrmRl, RouteByPromptRewardsNotesByTheModelAndSumsByTheRule) {
  const MixTask task(testing::ParseResolved<TaskConfig>(
      "mix { parts { task { arith {} num_test: 10 num_validation: 0 } } "
      "parts { task { note {} num_test: 10 num_validation: 0 } } }"));
  PrmRlConfig cfg = SmallPrmRl("route_by_prompt: true");
  cfg.mutable_reward_model()->set_kind(PREFERENCE);
  ModelConfig mc = testing::TinyModel();
  mc.set_max_seq_len(160);
  mc.set_prm_head(true);
  Transformer rm = MakeModel(mc, Tokenizer::Get().vocab_size());
  TeacherConfig clean;
  clean.set_step_error_rate(0);
  Rng rng(2);
  RewardChain chain(cfg.grpo().reward(), 64);
  Rollouts ro;
  ro.group_size = 2;
  const Tokenizer& tok = Tokenizer::Get();
  ro.tokenizer = &tok;
  for (const Problem* p : {&task.TestSet()[0], &task.TestSet()[1]}) {  // arith, then a note
    ro.problems.push_back(*p);
    for (const std::string& c : {task.Teach(*p, clean, rng).completion, std::string("<think>\n</think><answer>0</answer>")}) {
      ro.gens.push_back({});
      ro.gens.back().tokens = tok.Encode(c);
      ro.rewards.push_back(chain.Score({c, static_cast<int>(ro.gens.back().tokens.size()), false, p->language},
                                       task.Verify(c, *p)));
    }
  }
  ASSERT_TRUE(task.Verifiable(ro.problems[0]));
  ASSERT_FALSE(task.Verifiable(ro.problems[1]));
  const std::vector<double> rule = ro.totals();
  LearnedReward reward(cfg, rm, task, nullptr);
  EXPECT_TRUE(reward.UsesRuleReward());
  reward.Score(ro);
  EXPECT_EQ(ro.rewards[0].total, rule[0]);
  EXPECT_EQ(ro.rewards[1].total, rule[1]);
  EXPECT_GT(rule[0], rule[1]) << "the right sum earns more than the wrong one";
  for (int k : {2, 3}) {
    EXPECT_EQ(ro.rewards[static_cast<size_t>(k)].total, ro.proxy[static_cast<size_t>(k)]) << k;
    EXPECT_GT(ro.proxy[static_cast<size_t>(k)], 0) << k;
    EXPECT_LT(ro.proxy[static_cast<size_t>(k)], 1) << k;
  }
  for (const char* bad : {"rule_weight: 1", "learned_weight: 0.5", "dense: true"}) {
    EXPECT_THROW(testing::ParseResolved<ExperimentConfig>(
                     std::string("name: \"x\" task { note {} } arms { name: \"a\" prm_rl { route_by_prompt: true ") +
                     bad + " reward_model { kind: PREFERENCE } } }"),
                 ConfigError)
        << bad;
  }
}

// reward_model_outside_budget: the reward model's labelling and training do
// not count against flop_budget. With the budget set to exactly what they
// cost, a charged arm stops before its first RL step, and the exempt arm
// spends the whole budget on RL.
TEST(PrmRl, RewardModelOutsideTheBudgetLeavesTheRlComputeWhole) {
  const std::string dir = testing::TempDir("prm_rl_outside_budget");
  Arm arm;
  arm.set_name("prm_rl");
  *arm.mutable_prm_rl() = SmallPrmRl("");
  arm.set_flop_budget(1);
  Transformer a = testing::CopyOfTinyBase();
  FlopCounter fa;
  RunArm(arm, 100, dir + "/a.pt", a, fa, dir + "/a.jsonl");
  const double rm = fa.Get(FlopPhase::kLabel) + fa.Get(FlopPhase::kRewardTrain);
  ASSERT_GT(rm, 0);
  EXPECT_EQ(fa.Get(FlopPhase::kGenerate), 0) << "the reward model alone spent the budget";

  arm.set_flop_budget(rm);
  Transformer b = testing::CopyOfTinyBase();
  FlopCounter fb;
  RunArm(arm, 100, dir + "/b.pt", b, fb, dir + "/b.jsonl");
  EXPECT_EQ(fb.Get(FlopPhase::kGenerate), 0);

  arm.mutable_prm_rl()->set_reward_model_outside_budget(true);
  Transformer c = testing::CopyOfTinyBase();
  FlopCounter fc;
  RunArm(arm, 100, dir + "/c.pt", c, fc, dir + "/c.jsonl");
  EXPECT_DOUBLE_EQ(fc.Get(FlopPhase::kLabel) + fc.Get(FlopPhase::kRewardTrain), rm) << "the same reward model";
  const double rl = fc.Total() - rm;
  EXPECT_GE(rl, rm) << "RL ran until it had spent the budget by itself";
  std::vector<double> step_flops;  // the run's total after each RL step
  for (const std::string& l : ReadLines(dir + "/c.jsonl")) {
    const JsonValue v = JsonValue::Parse(l);
    if (v.find("proxy_reward")) step_flops.push_back(v.num("flops"));
  }
  ASSERT_GE(step_flops.size(), 1u);
  if (step_flops.size() >= 2) {
    EXPECT_LT(step_flops[step_flops.size() - 2] - rm, rm) << "it stopped at the budget";
  }
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

// Data-parallel ranks share a reward model's labelling (the traces' and the
// Monte Carlo rollouts' sampling, row by row) and each gets one process's
// data and counts: Monte Carlo step labels, truth labels and preference
// pairs, on 2 and 3 ranks.
TEST(RewardData, RanksShareTheLabellingAndEachGetsOneProcesssData) {
  ArithTask task(testing::TinyBaseTask());
  // 6 to 11 operations: prompts and Monte Carlo prefixes of many lengths,
  // whose longest in a chunk leaves its rows less room than max_new_tokens.
  ArithTask long_prompts(ParseResolved<TaskConfig>("arith { min_ops: 6 max_ops: 11 max_operand: 999 } num_test: 10"));
  auto text = [](const RewardData& d) {
    std::string out;
    for (const auto* set : {&d.prm, &d.orm})
      for (const PrmExample& e : *set) {
        out += e.prompt + "|" + e.completion + "|";
        for (const Segment& g : e.steps) out += std::to_string(g.begin) + "-" + std::to_string(g.end) + " ";
        for (double t : e.targets) out += std::to_string(t) + " ";
        out += "\n";
      }
    for (const PreferencePair& p : d.pairs) out += p.chosen.completion + " > " + p.rejected.completion + "\n";
    out += std::to_string(d.quality.precision()) + " " + std::to_string(d.quality.recall());
    return out;
  };
  for (const char* mode : {"monte carlo", "truth", "pairs", "monte carlo, long prompts"}) {
    const Task& on = std::string(mode).find("long") != std::string::npos ? static_cast<const Task&>(long_prompts) : task;
    std::vector<Problem> problems;
    Rng rng(3);
    for (int i = 0; i < 10; ++i) problems.push_back(on.SampleTrain(rng));
    RewardDataSpec spec;
    spec.label_n = 3;
    spec.truth_labels = std::string(mode) == "truth";
    spec.pairs = std::string(mode) == "pairs";
    // Chunks of 7 rows, whose longest prompt (and Monte Carlo prefix) leaves
    // less room than max_new_tokens: a row's limit is its chunk's.
    spec.sampling.set_max_new_tokens(60);
    spec.sampling.set_batch_size(7);
    if (&on == &long_prompts) spec.sampling.set_temperature(2);  // rows that run into the limit
    Transformer one_model = testing::CopyOfTinyBase();
    FlopCounter one_flops;
    const RewardData one = BuildRewardData(one_model, on, problems, spec, &one_flops);
    ASSERT_FALSE(text(one).empty());
    if (&on == &long_prompts) {  // some Monte Carlo rollouts were cut at their chunk's limit
      FlopCounter unlimited;
      RewardDataSpec wide = spec;
      wide.sampling.set_batch_size(1);  // each row its own room
      Transformer m = testing::CopyOfTinyBase();
      EXPECT_NE(text(BuildRewardData(m, on, problems, wide, &unlimited)), text(one));
    }
    for (int world : {2, 3}) {
      SCOPED_TRACE(std::string(mode) + ", " + std::to_string(world) + " ranks");
      std::vector<Transformer> models;
      for (int r = 0; r < world; ++r) models.push_back(testing::CopyOfTinyBase());
      std::vector<RewardData> got(static_cast<size_t>(world));
      std::vector<FlopCounter> flops(static_cast<size_t>(world));
      const auto errors = testing::OnRanks(world, [&](Dist& d) {
        const size_t r = static_cast<size_t>(d.rank());
        got[r] = BuildRewardData(models[r], on, problems, spec, &flops[r], &d);
      });
      for (size_t r = 0; r < static_cast<size_t>(world); ++r) {
        ASSERT_EQ(errors[r], "") << r;
        EXPECT_EQ(text(got[r]), text(one)) << r;
        EXPECT_EQ(flops[r].OracleCalls(), one_flops.OracleCalls()) << r;
        EXPECT_NEAR(flops[r].Get(FlopPhase::kGenerate), one_flops.Get(FlopPhase::kGenerate),
                    1e-9 * one_flops.Get(FlopPhase::kGenerate)) << r;
      }
    }
  }
}

// A PRM-RL run shared by two ranks: the reward model is one process's fit
// (the same labels and training as a one-process run of the same seed),
// the ranks' policies stay the same, every rank counts the same FLOPs, and
// rank 0 records the fit, the steps and the shift measurement.
TEST(PrmRl, TwoRanksShareARunAndFitOneProcesssRewardModel) {
  const std::string dir = testing::TempDir("prm_rl_dp");
  Arm arm;
  arm.set_name("prm_rl");
  *arm.mutable_prm_rl() = SmallPrmRl("");
  Transformer one = testing::CopyOfTinyBase();
  FlopCounter one_flops;
  RunArm(arm, 2, dir + "/one.pt", one, one_flops, dir + "/one.jsonl");

  ArithTask task(testing::TinyBaseTask());
  Arm shared = arm;
  shared.mutable_prm_rl()->mutable_grpo()->set_steps(2);
  Transformer policies[2] = {testing::CopyOfTinyBase(), testing::CopyOfTinyBase()};
  FlopCounter flops[2];
  ASSERT_NO_FATAL_FAILURE(testing::RunTwoSharedRanks(shared, dir, task, policies, flops));
  const auto one_lines = ReadLines(dir + "/one.jsonl"), dp_lines = ReadLines(dir + "/metrics.jsonl");
  ASSERT_EQ(dp_lines.size(), one_lines.size());
  // The fit: one process's labels, and its training steps split by rows:
  // the same but for float sums (the gradients' and the FLOPs', over ranks).
  JsonValue fit_one = JsonValue::Parse(one_lines[0]).at("reward_model"), fit_dp = JsonValue::Parse(dp_lines[0]).at("reward_model");
  EXPECT_GT(fit_one.num("examples"), 0);
  for (const char* k : {"examples", "label_precision", "label_recall"}) EXPECT_EQ(fit_dp.num(k), fit_one.num(k)) << k;
  EXPECT_NEAR(fit_dp.num("final_bce"), fit_one.num("final_bce"), 1e-4);
  for (const char* k : {"flops_label", "flops_train"})
    EXPECT_NEAR(fit_dp.num(k), fit_one.num(k), 1e-9 * fit_one.num(k)) << k;
  EXPECT_NE(JsonValue::Parse(dp_lines.back()).find("shift"), nullptr) << dp_lines.back();
  // The steps' samples are each rank's own (as a data-parallel GRPO run's), so
  // the policy is not one process's.
  EXPECT_GT(testing::DpMaxDiff(policies[0], one), 0);
}

// A reward model of the tiny base's shape with fresh weights (its scores are
// arbitrary but fixed: the tests below check how they are used).
Transformer UntrainedRewardModel() {
  ModelConfig c = testing::TinyBase()->config();
  c.set_prm_head(true);
  return MakeModel(c, testing::TinyBase()->vocab_size());
}

// Dense process rewards: each token's advantage is the suffix sum of the
// group-normalised step scores (reference: ProcessAdvantages on step ends
// found by re-encoding each step's prefix), and rule_weight adds the rule
// reward's group advantage to every token.
TEST(PrmRl, DenseAdvantagesFollowTheStepEnds) {
  ArithTask task(testing::TinyBaseTask());
  PrmRlConfig cfg = SmallPrmRl("dense: true rule_weight: 0.5 learned_weight: 2");
  cfg.mutable_grpo()->set_std_epsilon(0.05);  // the arm's epsilon, not the default, normalises
  Transformer policy = testing::CopyOfTinyBase();
  Transformer rm = UntrainedRewardModel();
  FlopCounter flops;
  Rng rng(3);
  RewardChain chain(cfg.grpo().reward(), 40);
  Rollouts ro = SampleRollouts(policy, task, rng, 3, 4, cfg.grpo().sampling(), 5, chain, &flops);
  const std::vector<double> rule = ro.totals();
  LearnedReward reward(cfg, rm, task, &flops);
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
    if (!ro.rewards[k].verdict.error.empty()) s.rewards.assign(s.rewards.size(), 0.0);  // answer_required
    const int64_t P = 1 + static_cast<int64_t>(tok.Encode(prompt).size());
    for (int64_t pos : StepEndPositions(Tokenizer::Get(), prompt, c, e.steps)) s.end_tokens.push_back(static_cast<int>(pos - P));
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
  EXPECT_THROW(LearnedReward(SmallPrmRl("dense: true reward_model { kind: ORM }"), rm, task, &flops), ConfigError);
}

// A response that never answers scores 0 however its steps are judged (the
// default), and so does one with no step at all (by hand: a decoded
// completion always holds its stop token, so it has a step); with
// answer_required off its steps aggregate like any other response's.
TEST(PrmRl, AResponseWithoutAnAnswerScoresZero) {
  ArithTask task(testing::TinyBaseTask());
  PrmRlConfig cfg = SmallPrmRl("");
  Transformer policy = testing::CopyOfTinyBase();
  Transformer rm = UntrainedRewardModel();
  FlopCounter flops;
  Rng rng(3);
  RewardChain chain(cfg.grpo().reward(), 40);
  Rollouts ro = SampleRollouts(policy, task, rng, 2, 2, cfg.grpo().sampling(), 5, chain, &flops);
  const Tokenizer& tok = Tokenizer::Get();
  const std::vector<std::string> texts = {"<think>1+1=2\n2+3=5\n</think><eos>", "<eos>",
                                          "<think>1+1=2\n</think><answer>2</answer><eos>"};
  for (size_t k = 0; k < texts.size(); ++k) {
    ro.gens[k].tokens = tok.Encode(texts[k]);
    const std::string c = tok.Decode(ro.gens[k].tokens);
    ro.rewards[k] = chain.Score({c, static_cast<int>(ro.gens[k].tokens.size()), false, "en"},
                                task.Verify(c, ro.problems[k / 2]));
  }
  ASSERT_FALSE(ro.rewards[0].verdict.error.empty());
  ASSERT_TRUE(ro.rewards[2].verdict.error.empty());
  Rollouts lax_ro = ro;
  LearnedReward(cfg, rm, task, &flops).Score(ro);
  PrmRlConfig lax_cfg = cfg;
  lax_cfg.set_answer_required(false);
  LearnedReward(lax_cfg, rm, task, &flops).Score(lax_ro);
  EXPECT_EQ(ro.proxy[0], 0.0);
  EXPECT_GT(lax_ro.proxy[0], 0.0);  // the min of two sigmoids
  // `<eos>` alone is one step to the segmenter (any non-empty text is): it
  // escapes with its step's score unless an answer is required.
  EXPECT_EQ(ro.proxy[1], 0.0);
  EXPECT_GT(lax_ro.proxy[1], 0.0);
  EXPECT_GT(ro.proxy[2], 0.0);
  EXPECT_EQ(ro.proxy[2], lax_ro.proxy[2]);
  // The documented aggregate, by hand.
  EXPECT_EQ(ProxyOf({0.9, 0.4}, false, cfg, Aggregation::kMin), 0.0);
  EXPECT_EQ(ProxyOf({0.9, 0.4}, true, cfg, Aggregation::kMin), 0.4);
  EXPECT_EQ(ProxyOf({0.9, 0.4}, false, lax_cfg, Aggregation::kMin), 0.4);
  EXPECT_EQ(ProxyOf({}, true, lax_cfg, Aggregation::kMin), 0.0);

  // A wrong answer is still an answer: countdown's verdict says why it is
  // wrong, and the learned reward must not see that (it once zeroed such
  // responses, handing the proxy the verifier's judgement).
  TaskConfig cd;
  cd.mutable_countdown();
  const auto countdown = MakeTask(cd);
  Rollouts cro = ro;
  cro.problems = {countdown->TestSet()[0], countdown->TestSet()[0]};
  const std::string wrong = "<think>1+1=2\n</think><answer>1+1</answer><eos>";
  cro.gens[2].tokens = tok.Encode(wrong);
  cro.rewards[2] = chain.Score({wrong, static_cast<int>(cro.gens[2].tokens.size()), false, "en"},
                               countdown->Verify(wrong, cro.problems[1]));
  ASSERT_FALSE(cro.rewards[2].verdict.correct);
  ASSERT_FALSE(cro.rewards[2].verdict.error.empty()) << "countdown explains a wrong answer";
  LearnedReward(cfg, rm, *countdown, &flops).Score(cro);
  EXPECT_GT(cro.proxy[2], 0.0);
}

// The positive control: reward_model.kind STEP_TRUTH scores each step by the
// task's exact per-step truth (1 right, 0 wrong; no model, nothing labelled
// or trained), one oracle call per scored response; the MIN aggregate is 1
// only for a response whose every step is right (a wrong final answer after
// right steps included: it judges the process, not the outcome). The arm
// runs and resumes with no reward model in its checkpoint; a task without
// step truth is refused.
TEST(PrmRl, StepTruthScoresEachStepExactly) {
  ArithTask task(testing::TinyBaseTask());
  PrmRlConfig cfg = SmallPrmRl("");
  cfg.mutable_reward_model()->set_kind(STEP_TRUTH);
  Transformer policy = testing::CopyOfTinyBase();
  FlopCounter flops;
  Rng rng(3);
  RewardChain chain(cfg.grpo().reward(), 40);
  Rollouts ro = SampleRollouts(policy, task, rng, 2, 2, cfg.grpo().sampling(), 5, chain, &flops);
  const Tokenizer& tok = Tokenizer::Get();
  const std::vector<std::string> texts = {"<think>1+1=2\n2+3=5\n</think><answer>5</answer><eos>",
                                          "<think>1+1=2\n2+3=6\n</think><answer>6</answer><eos>",
                                          "<think>1+1=2\n2+3=5\n</think><answer>7</answer><eos>",
                                          "<think>1+1=3\n</think><eos>"};
  for (size_t k = 0; k < texts.size(); ++k) {
    ro.gens[k].tokens = tok.Encode(texts[k]);
    const std::string c = tok.Decode(ro.gens[k].tokens);
    ro.rewards[k] = chain.Score({c, static_cast<int>(ro.gens[k].tokens.size()), false, "en"},
                                task.Verify(c, ro.problems[k / 2]));
  }
  const int64_t before = flops.OracleCalls();
  LearnedReward(cfg, Transformer(nullptr), task, &flops).Score(ro);
  EXPECT_EQ(flops.OracleCalls() - before, 4);
  EXPECT_EQ(ro.proxy[0], 1.0) << "every step right";
  EXPECT_EQ(ro.proxy[1], 0.0) << "2+3=6 is wrong";
  EXPECT_EQ(ro.proxy[2], 1.0) << "right steps, an answer that does not follow: the process is judged";
  EXPECT_EQ(ro.proxy[3], 0.0) << "no answer";

  const std::string dir = testing::TempDir("prm_rl_step_truth");
  Arm arm;
  arm.set_name("prm_rl");
  *arm.mutable_prm_rl() = cfg;
  FlopCounter f1;
  ExpectResumeMatchesStraightRun(arm, dir, f1);
  EXPECT_EQ(f1.Get(FlopPhase::kLabel), 0);
  EXPECT_EQ(f1.Get(FlopPhase::kRewardTrain), 0);
  EXPECT_EQ(f1.Get(FlopPhase::kRewardScore), 0);
  TaskConfig cd;
  cd.mutable_countdown();
  EXPECT_THROW(LearnedReward(cfg, Transformer(nullptr), *MakeTask(cd), nullptr), ConfigError);
}

// The label-budget table: one row per PRM arm, cheapest reward model
// first, with its held-out step AUC and first-error F1 from the shift
// measurement, whether its cost was charged, and its final pass@1. It
// appears only when PRM arms differ in their labels (a sweep).
TEST(PrmReport, LabelBudgetTableOrdersArmsByWhatTheirRewardModelCost) {
  const ExperimentConfig cfg = ParseResolved<ExperimentConfig>(
      "name: \"x\" seeds: 1 task { arith {} } "
      "arms { name: \"truth_big\" prm_rl { reward_model { step_labels: TRUTH label_traces: 800 train_steps: 90 } "
      "reward_model_outside_budget: true } } "
      "arms { name: \"mc_small\" prm_rl { reward_model { label_traces: 100 label_n: 4 train_steps: 30 } } } "
      "arms { name: \"orm\" prm_rl { reward_model { kind: ORM } } }");
  auto run = [](double label, double train, double auc, double f1, double pass1) {
    RunRecords r;
    r.done.mutable_flops_by_phase()->set_label(label);
    r.done.mutable_flops_by_phase()->set_reward_train(train);
    MetricsLine shift;
    shift.mutable_shift()->mutable_base()->set_step_auc(auc);
    shift.mutable_shift()->mutable_base()->set_first_error_f1(f1);
    r.lines.push_back(shift);
    r.final.set_pass1(pass1);
    return r;
  };
  ReportInput in;
  in.cfg = &cfg;
  in.bases.emplace_back().set_pass1(0.3);
  in.arms.push_back({&cfg.arms(0), {run(4e11, 2e11, 0.86, 0.61, 0.08)}, {}, 0});
  in.arms.push_back({&cfg.arms(1), {run(1e11, 1e10, 0.47, 0.12, 0.05)}, {}, 0});
  in.arms.push_back({&cfg.arms(2), {run(1e11, 1e10, NAN, NAN, 0.20)}, {}, 0});
  const std::string md = ReportSections(in);
  const size_t table = md.find("## PRM label budget");
  ASSERT_NE(table, std::string::npos) << md;
  const std::string rows = md.substr(table);
  const size_t mc = rows.find("| mc_small | Monte Carlo, N = 4 | 100 x 30 | 1.1e+11 | yes | 0.47 | 0.12 | 30.0% → 5.0% |");
  const size_t truth = rows.find("| truth_big | step truth | 800 x 90 | 6e+11 | no | 0.86 | 0.61 | 30.0% → 8.0% |");
  ASSERT_NE(mc, std::string::npos) << rows;
  ASSERT_NE(truth, std::string::npos) << rows;
  EXPECT_LT(mc, truth) << "cheapest first";
  EXPECT_EQ(rows.find("| orm |"), std::string::npos) << "an ORM has no steps to judge";

  in.arms.erase(in.arms.begin());  // one PRM setting left: no sweep, no table
  EXPECT_EQ(ReportSections(in).find("## PRM label budget"), std::string::npos);
}

}  // namespace
}  // namespace r1lab

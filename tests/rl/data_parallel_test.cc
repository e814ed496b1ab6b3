// Data-parallel steps (train/data_parallel.h, issue #20): two ranks, each
// holding half of a step's batch, end with the weights one process reaches
// on the whole batch, for GRPO, PPO and SFT; the gradient the ranks sum is
// the whole batch's; the ranks' metrics are their means.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <optional>
#include <thread>

#include "arith.h"
#include "arm_runner.h"
#include "data_parallel.h"
#include "evaluator.h"
#include "grpo_trainer.h"
#include "io.h"
#include "loop.h"
#include "loopback.h"
#include "policy_update.h"
#include "optim.h"
#include "ppo.h"
#include "reward_data.h"
#include "sft.h"
#include "token_batch.h"
#include "tiny_base.h"
#include "tokenizer.h"

namespace r1lab {
namespace {

using testing::ParseResolved;

// Groups [first, first + n) of `all`.
Rollouts DpShard(Rollouts all, int first, int n) {
  Rollouts s;
  s.group_size = all.group_size;
  for (int g = first; g < first + n; ++g) s.AppendGroup(all, g);
  return s;
}

Rollouts DpBatch(const Task& task, int prompts, int group, const SamplingConfig& sampling, const RewardConfig& rc) {
  Transformer sampler = testing::CopyOfTinyBase();
  Rng rng(5);
  const RewardChain reward(rc, sampling.max_new_tokens());
  return SampleRollouts(sampler, task, rng, prompts, group, sampling, 11, reward, nullptr);
}

TEST(DataParallel, TwoGrpoRanksReachOneProcessWeightsOnTheSameBatch) {
  ArithTask task(testing::TinyBaseTask());
  // Two minibatches, two epochs, a KL term, the token-mean loss and a
  // gradient clip: each rank's share of a minibatch differs in rows and
  // tokens, and the clip needs the summed gradient's norm.
  const GrpoConfig cfg = ParseResolved<GrpoConfig>(
      "prompts_per_step: 4 group_size: 4 minibatches: 2 epochs: 2 kl_coef: 0.01 loss_aggregation: TOKEN_MEAN "
      "advantage: BATCH_STD optim { lr: 1e-3 warmup_steps: 0 grad_clip: 0.5 } sampling { max_new_tokens: 40 }");
  const Rollouts all = DpBatch(task, 4, 4, cfg.sampling(), cfg.reward());
  Transformer one = testing::CopyOfTinyBase();
  FlopCounter f1;
  GrpoTrainer t1(one, task, cfg, 3, &f1);
  for (int step = 0; step < 2; ++step) t1.TrainOn(all, step);

  Transformer ranks[2] = {testing::CopyOfTinyBase(), testing::CopyOfTinyBase()};
  const auto errors = testing::OnRanks(2, [&](Dist& d) {
    FlopCounter f;
    GrpoTrainer t(ranks[d.rank()], task, cfg, 3, &f);
    t.set_data_parallel(&d, "grpo.prompts_per_step");
    const Rollouts mine = DpShard(all, 2 * d.rank(), 2);
    for (int step = 0; step < 2; ++step) t.TrainOn(mine, step);
  });
  ASSERT_EQ(errors[0], "");
  ASSERT_EQ(errors[1], "");
  Transformer base = testing::CopyOfTinyBase();
  EXPECT_GT(testing::DpMaxDiff(one, base), 1e-4);  // the steps moved the weights
  EXPECT_TRUE(testing::DpSameWeights(ranks[0], ranks[1]));
  // Adam turns float-rounding differences in near-zero gradients into
  // full-size steps on a few weights, so the comparison is the distance
  // relative to how far the weights moved. What it must tell apart: the
  // same batch cut into other minibatches (another shuffle seed).
  EXPECT_LT(testing::DpRelativeDiff(ranks[0], one, base), 3e-3);
  Transformer reshuffled = testing::CopyOfTinyBase();
  GrpoTrainer t2(reshuffled, task, cfg, 4, &f1);
  for (int step = 0; step < 2; ++step) t2.TrainOn(all, step);
  EXPECT_GT(testing::DpRelativeDiff(reshuffled, one, base), 0.1);
}

TEST(DataParallel, TwoPpoRanksReachOneProcessWeightsOnTheSameBatch) {
  ArithTask task(testing::TinyBaseTask());
  const PpoConfig cfg = ParseResolved<PpoConfig>(
      "prompts_per_step: 8 minibatches: 2 epochs: 2 kl_coef: 0.01 optim { lr: 1e-3 warmup_steps: 0 grad_clip: 0.5 } "
      "critic_optim { lr: 1e-3 warmup_steps: 0 grad_clip: 1 } sampling { max_new_tokens: 40 }");
  const Rollouts all = DpBatch(task, 8, 1, cfg.sampling(), cfg.reward());
  Transformer one = testing::CopyOfTinyBase();
  FlopCounter f1;
  PpoTrainer t1(one, task, cfg, 3, &f1);
  for (int step = 0; step < 2; ++step) t1.TrainOn(all, step);

  Transformer ranks[2] = {testing::CopyOfTinyBase(), testing::CopyOfTinyBase()};
  std::optional<Transformer> critics[2];
  const auto errors = testing::OnRanks(2, [&](Dist& d) {
    FlopCounter f;
    PpoTrainer t(ranks[d.rank()], task, cfg, 3, &f);
    t.set_data_parallel(&d, "ppo.prompts_per_step");
    const Rollouts mine = DpShard(all, 4 * d.rank(), 4);
    for (int step = 0; step < 2; ++step) t.TrainOn(mine, step);
    critics[d.rank()] = t.critic();
  });
  ASSERT_EQ(errors[0], "");
  ASSERT_EQ(errors[1], "");
  Transformer base = testing::CopyOfTinyBase();
  EXPECT_TRUE(testing::DpSameWeights(ranks[0], ranks[1]));
  EXPECT_LT(testing::DpRelativeDiff(ranks[0], one, base), 3e-3);  // as for GRPO
  EXPECT_TRUE(testing::DpSameWeights(*critics[0], *critics[1]));
  PpoTrainer fresh(base, task, cfg, 3, &f1);  // the critic before any step
  EXPECT_LT(testing::DpRelativeDiff(*critics[0], t1.critic(), fresh.critic()), 3e-3);
}

// Under plain SGD (linear in the gradient, unlike Adam) a wrong share of
// the loss's denominator would show: the summed gradient of two halves
// must be the whole batch's, for each loss aggregation.
TEST(DataParallel, SummedHalvesGiveTheWholeBatchGradient) {
  ArithTask task(testing::TinyBaseTask());
  SamplingConfig sampling = ParseResolved<SamplingConfig>("max_new_tokens: 40");
  const Rollouts all = DpBatch(task, 4, 2, sampling, RewardConfig());
  for (LossAggregation agg : {SEQ_MEAN_TOKEN_MEAN, TOKEN_MEAN, SEQ_MEAN_TOKEN_SUM_NORM}) {
    PolicyLossOptions lo;
    lo.aggregation = agg;
    lo.max_length = 40;
    auto batch_of = [&](const std::vector<int>& rows) {
      PolicyBatch mb;
      mb.batch = RolloutBatch(all, rows, false);
      mb.mask = mb.batch.loss_mask;
      mb.advantages = torch::linspace(-1, 1, static_cast<int64_t>(rows.size())).view({-1, 1}) * mb.mask;
      return mb;
    };
    Transformer one = testing::CopyOfTinyBase();
    torch::optim::SGD sgd1(one->parameters(), torch::optim::SGDOptions(0.5));
    const PolicyBatch whole = batch_of({0, 1, 2, 3, 4, 5, 6, 7});
    const double loss1 = PolicyUpdate(one, sgd1, whole, lo, 1.0, 0, K3).loss;

    Transformer ranks[2] = {testing::CopyOfTinyBase(), testing::CopyOfTinyBase()};
    double losses[2] = {0, 0};
    const auto errors = testing::OnRanks(2, [&](Dist& d) {
      const int r = d.rank();
      PolicyBatch mb = batch_of({0, 1, 2, 3, 4, 5, 6, 7});
      // The same rows and advantages, split: rank 0 rows 0-2, rank 1 rows 3-7.
      const int64_t from = r == 0 ? 0 : 3, n = r == 0 ? 3 : 5;
      mb.batch.tokens = mb.batch.tokens.narrow(0, from, n);
      mb.mask = mb.mask.narrow(0, from, n);
      mb.advantages = mb.advantages.narrow(0, from, n);
      PolicyLossOptions mine = lo;
      mine.denominators = {8, whole.mask.sum().item<double>()};
      torch::optim::SGD sgd(ranks[r]->parameters(), torch::optim::SGDOptions(0.5));
      losses[r] = PolicyUpdate(ranks[r], sgd, mb, mine, 1.0, 0, K3, &d).loss;
    });
    ASSERT_EQ(errors[0], "");
    ASSERT_EQ(errors[1], "");
    EXPECT_NEAR(losses[0], loss1, 1e-6) << LossAggregation_Name(agg);
    EXPECT_EQ(losses[0], losses[1]);
    EXPECT_TRUE(testing::DpSameWeights(ranks[0], ranks[1])) << LossAggregation_Name(agg);
    EXPECT_LT(testing::DpMaxDiff(ranks[0], one), 1e-6) << LossAggregation_Name(agg);
  }
}

// SFT: every rank draws the whole batch, as one process does, and trains
// on its rows; a share of the loss's denominator gone wrong, or a row
// trained twice or not at all, would show in the summed gradient (summed
// as float: to 1e-6 of one process's double) and in the loss.
TEST(DataParallel, SummedRowsGiveTheWholeBatchsCrossEntropyGradient) {
  ModelConfig mc = testing::TinyModel();
  mc.set_dtype(FLOAT64);
  const int V = Tokenizer::Get().vocab_size();
  const TokenBatch whole = MakeTokenBatch(
      {{"2+3", "<think>5</think><answer>5</answer>"}, {"1+1", "<answer>2</answer>"}, {"7-4", "<think>3</think>"}},
      Tokenizer::Get(), 64);
  const double tokens = whole.loss_mask.sum().item<double>();
  const OptimConfig oc = ParseResolved<OptimConfig>("lr: 0.01 weight_decay: 0 grad_clip: 0");
  torch::manual_seed(1);
  Transformer one = MakeModel(mc, V);
  auto opt1 = MakeAdamW(one, oc);
  const double loss1 = CrossEntropyStep(one, opt1, whole, 0, 0, nullptr);  // lr 0: the gradient, no step
  // Rank 0 takes row 0, rank 1 rows 1-2; a third rank with no rows adds nothing.
  for (int world : {2, 3}) {
    std::vector<Transformer> ranks;
    for (int r = 0; r < world; ++r) {
      ranks.push_back(MakeModel(mc, V));
      CopyWeights(one, ranks.back());
    }
    std::vector<double> losses(static_cast<size_t>(world));
    const auto errors = testing::OnRanks(world, [&](Dist& d) {
      const int r = d.rank();
      const int64_t first = r == 0 ? 0 : 1, n = r == 0 ? 1 : r == 1 ? 2 : 0;
      auto opt = MakeAdamW(ranks[static_cast<size_t>(r)], oc);
      losses[static_cast<size_t>(r)] =
          CrossEntropyStep(ranks[static_cast<size_t>(r)], opt, BatchRows(whole, first, n), 0, 0, nullptr, &d, tokens);
    });
    for (const std::string& e : errors) ASSERT_EQ(e, "");
    for (int r = 0; r < world; ++r) {
      EXPECT_NEAR(losses[static_cast<size_t>(r)], loss1, 1e-6) << world;  // summed as float
      auto pr = ranks[static_cast<size_t>(r)]->named_parameters();
      double diff = 0;
      for (const auto& item : one->named_parameters())
        diff = std::max(diff, (pr[item.key()].grad() - item.value().grad()).abs().max().item<double>());
      EXPECT_LT(diff, 1e-6) << "world " << world << " rank " << r;
    }
  }
  // A rank's rows keep their own loss: row 1 alone (shorter than row 0),
  // by its own count, without the padding past its end.
  ASSERT_LT(whole.lengths[1], whole.tokens.size(1));
  const TokenBatch row1 = BatchRows(whole, 1, 1);
  EXPECT_EQ(row1.tokens.size(1), whole.lengths[1]);
  Transformer alone = MakeModel(mc, V);
  CopyWeights(one, alone);
  auto opt0 = MakeAdamW(alone, oc);
  const double row_loss = CrossEntropyStep(alone, opt0, row1, 0, 0, nullptr);
  torch::NoGradGuard ng;
  double expected = 0;
  const torch::Tensor logp = torch::log_softmax(one->forward(whole.tokens).logits, -1);
  for (int64_t t = 0; t + 1 < whole.lengths[1]; ++t)
    if (whole.loss_mask[1][t].item<double>() > 0) expected -= logp[1][t][whole.tokens[1][t + 1].item<int64_t>()].item<double>();
  EXPECT_NEAR(row_loss, expected / whole.loss_mask[1].sum().item<double>(), 1e-12);
}

// Whole SFT steps: two ranks draw one process's batches (the same stream),
// train on half each, and reach its weights, FLOPs and trained tokens.
TEST(DataParallel, TwoSftRanksTakeOneProcesssSteps) {
  ArithTask task(testing::TinyBaseTask());
  const SftConfig cfg =
      ParseResolved<SftConfig>("steps: 4 batch_size: 6 optim { lr: 1e-3 warmup_steps: 0 grad_clip: 0.5 }");
  const TeacherConfig teacher;
  Transformer one = testing::CopyOfTinyBase();
  FlopCounter f1;
  SftTrainer t1(one, task, cfg, teacher, 9, &f1);
  double loss1 = 0;
  for (int step = 0; step < 4; ++step) loss1 = t1.Step();

  Transformer ranks[2] = {testing::CopyOfTinyBase(), testing::CopyOfTinyBase()};
  double flops[2] = {0, 0}, losses[2] = {0, 0};
  int64_t tokens[2] = {0, 0};
  const auto errors = testing::OnRanks(2, [&](Dist& d) {
    FlopCounter f;
    SftTrainer t(ranks[d.rank()], task, cfg, teacher, 9, &f);
    t.set_data_parallel(&d);
    for (int step = 0; step < 4; ++step) losses[d.rank()] = t.Step();
    flops[d.rank()] = f.Total();
    tokens[d.rank()] = t.tokens_trained();
  });
  ASSERT_EQ(errors[0], "");
  ASSERT_EQ(errors[1], "");
  Transformer base = testing::CopyOfTinyBase();
  EXPECT_GT(testing::DpMaxDiff(one, base), 1e-4);
  EXPECT_TRUE(testing::DpSameWeights(ranks[0], ranks[1]));
  EXPECT_LT(testing::DpRelativeDiff(ranks[0], one, base), 3e-3);  // as for GRPO: Adam and float sums
  for (int r = 0; r < 2; ++r) {
    EXPECT_EQ(flops[r], f1.Total()) << r;
    EXPECT_EQ(tokens[r], t1.tokens_trained()) << r;
    EXPECT_NEAR(losses[r], loss1, 1e-5) << r;
  }
  // What the comparison must tell apart: other batches (another seed).
  Transformer other = testing::CopyOfTinyBase();
  SftTrainer t2(other, task, cfg, teacher, 10, &f1);
  for (int step = 0; step < 4; ++step) t2.Step();
  EXPECT_GT(testing::DpRelativeDiff(other, one, base), 0.1);
}

// A shared evaluation (Evaluate with a Dist): each rank samples and judges
// its share of the samples, and every rank ends with one process's result,
// sample for sample: the draws are a function of the row, and each rank
// generates whole chunks of one process's batch. Shares of none to all,
// chunks whose prompts limit their rows' length, and the redraws of
// eval.without_checks.
TEST(DataParallel, RanksShareAnEvaluationAndEachGetsOneProcesssResult) {
  ArithTask task(testing::TinyBaseTask());
  // 6 to 11 operations: prompts of many lengths, whose longest in a chunk
  // leaves its rows less room than max_new_tokens under max_seq_len 64;
  // sampled hot, so that rows run into that limit.
  ArithTask long_prompts(ParseResolved<TaskConfig>("arith { min_ops: 6 max_ops: 11 max_operand: 999 } num_test: 60"));
  struct Case {
    int world;
    const char* eval;
    const Task* on = nullptr;
  };
  for (const Case& c : {Case{2, "num_problems: 7 samples_per_problem: 3 sampling { max_new_tokens: 40 }"},
                        Case{3, "num_problems: 7 samples_per_problem: 3 sampling { max_new_tokens: 40 }"},
                        Case{2, "num_problems: 1 samples_per_problem: 4 sampling { max_new_tokens: 40 }"},
                        // Chunks of 4 rows whose longest prompt leaves less room than
                        // max_new_tokens: a row's limit is its chunk's.
                        Case{2, "num_problems: 13 samples_per_problem: 1 "
                                "sampling { temperature: 2 max_new_tokens: 60 batch_size: 4 }", &long_prompts},
                        Case{3, "num_problems: 13 samples_per_problem: 1 "
                                "sampling { temperature: 2 max_new_tokens: 60 batch_size: 4 }", &long_prompts},
                        Case{2, "num_problems: 12 samples_per_problem: 4 without_checks: true "
                                "sampling { max_new_tokens: 40 batch_size: 5 }"}}) {
    SCOPED_TRACE(std::to_string(c.world) + " ranks, " + c.eval);
    const Task& on = c.on ? *c.on : task;
    const EvalConfig ec = ParseResolved<EvalConfig>(c.eval);
    Transformer one_model = testing::CopyOfTinyBase();
    EvalResult one = Evaluate(one_model, on, ec);
    std::vector<Transformer> models;
    for (int r = 0; r < c.world; ++r) models.push_back(testing::CopyOfTinyBase());
    std::vector<EvalResult> got(static_cast<size_t>(c.world));
    const auto errors = testing::OnRanks(c.world, [&](Dist& d) {
      got[static_cast<size_t>(d.rank())] = Evaluate(models[static_cast<size_t>(d.rank())], on, ec, nullptr, &d);
    });
    one.seconds = 0;
    for (int r = 0; r < c.world; ++r) {
      ASSERT_EQ(errors[static_cast<size_t>(r)], "") << r;
      EvalResult& g = got[static_cast<size_t>(r)];
      ASSERT_EQ(g.samples.size(), one.samples.size()) << r;
      for (size_t k = 0; k < g.samples.size(); ++k) {
        const EvalSample &a = g.samples[k], &b = one.samples[k];
        EXPECT_EQ(a.problem, b.problem) << r << " " << k;
        EXPECT_EQ(a.index, b.index) << r << " " << k;
        EXPECT_EQ(a.completion, b.completion) << r << " " << k;
        EXPECT_EQ(a.tokens, b.tokens) << r << " " << k;
        EXPECT_EQ(a.truncated, b.truncated) << r << " " << k;
        EXPECT_EQ(a.verdict.correct, b.verdict.correct) << r << " " << k;
        EXPECT_EQ(a.verdict.format_ok, b.verdict.format_ok) << r << " " << k;
        EXPECT_EQ(a.verdict.extracted, b.verdict.extracted) << r << " " << k;
        EXPECT_EQ(a.verdict.error, b.verdict.error) << r << " " << k;
        EXPECT_EQ(a.without_checks, b.without_checks) << r << " " << k;
      }
      EXPECT_NEAR(g.flops, one.flops, 1e-9 * one.flops) << r;  // the shares' sum
      g.seconds = 0;
      g.flops = one.flops;
      EXPECT_EQ(EvalToJson(g), EvalToJson(one)) << r;
      EXPECT_EQ(SamplesToJsonl(g, on), SamplesToJsonl(one, on)) << r;
    }
    if (c.on) {  // the chunks' limits cut some rows short
      int truncated = 0;
      for (const EvalSample& x : one.samples) truncated += x.truncated;
      EXPECT_GT(truncated, 0);
    }
    if (ec.without_checks()) {
      EXPECT_GT(one.check_rate, 0);  // the redraws had something to do
    }
  }
  // What the comparison must tell apart: another seed's samples.
  EvalConfig other = ParseResolved<EvalConfig>("num_problems: 7 samples_per_problem: 3 sampling { max_new_tokens: 40 }");
  Transformer m = testing::CopyOfTinyBase();
  const EvalResult a = Evaluate(m, task, other);
  other.set_seed(other.seed() + 1);
  EXPECT_NE(SamplesToJsonl(Evaluate(m, task, other), task), SamplesToJsonl(a, task));
}

// RFT's (and the MCTS arm's) fine-tuning on fixed pairs, split by rows over
// three ranks (one with a single row of a batch of 5): one process's steps
// on the same batches, the same FLOPs and trained tokens on every rank.
TEST(DataParallel, SupervisedStepsOnRanksTakeOneProcesssSteps) {
  ArithTask task(testing::TinyBaseTask());
  std::vector<std::pair<std::string, std::string>> pairs;
  Rng draw(4);
  for (int i = 0; i < 12; ++i) {
    const Problem p = task.SampleTrain(draw);
    pairs.emplace_back(p.prompt, TeachTrace(task, p, TeacherConfig(), draw).completion);
  }
  const OptimConfig optim = ParseResolved<OptimConfig>("lr: 1e-3 warmup_steps: 0 grad_clip: 0.5");
  auto run = [&](Transformer& m, Dist* d, FlopCounter* f, int64_t* tokens) {
    auto opt = MakeAdamW(m, optim);
    Rng rng(7);
    return SupervisedSteps(m, opt, pairs, 4, 5, optim, 0, 4, rng, f, tokens, d);
  };
  Transformer one = testing::CopyOfTinyBase();
  FlopCounter f1;
  int64_t tokens1 = 0;
  const double loss1 = run(one, nullptr, &f1, &tokens1);
  Transformer ranks[3] = {testing::CopyOfTinyBase(), testing::CopyOfTinyBase(), testing::CopyOfTinyBase()};
  FlopCounter flops[3];
  int64_t tokens[3] = {0, 0, 0};
  double losses[3] = {0, 0, 0};
  const auto errors = testing::OnRanks(3, [&](Dist& d) {
    const int r = d.rank();
    losses[r] = run(ranks[r], &d, &flops[r], &tokens[r]);
  });
  Transformer base = testing::CopyOfTinyBase();
  EXPECT_GT(testing::DpMaxDiff(one, base), 1e-4);
  for (int r = 0; r < 3; ++r) {
    ASSERT_EQ(errors[static_cast<size_t>(r)], "") << r;
    EXPECT_TRUE(testing::DpSameWeights(ranks[r], ranks[0])) << r;
    EXPECT_NEAR(flops[r].Total(), f1.Total(), 1e-9 * f1.Total()) << r;
    EXPECT_EQ(tokens[r], tokens1) << r;
    EXPECT_NEAR(losses[r], loss1, 1e-5) << r;
  }
  EXPECT_LT(testing::DpRelativeDiff(ranks[0], one, base), 3e-3);  // as for SFT: Adam and float sums
  // What the comparison must tell apart: other batches (another draw).
  Transformer other = testing::CopyOfTinyBase();
  auto opt = MakeAdamW(other, optim);
  Rng rng(8);
  int64_t unused = 0;
  SupervisedSteps(other, opt, pairs, 4, 5, optim, 0, 4, rng, nullptr, &unused);
  EXPECT_GT(testing::DpRelativeDiff(other, one, base), 0.1);
}

// A reward or value model's training split by rows over three ranks (one
// with a single example of a batch of 5): one process's steps on the same
// batches, for process labels on every line (whose step counts differ, so
// the BCE divides by the whole batch's), the head alone on a frozen trunk,
// and preference pairs; the same FLOPs and loss on every rank.
TEST(DataParallel, RewardModelStepsOnRanksTakeOneProcesssSteps) {
  ArithTask task(testing::TinyBaseTask());
  std::vector<PrmExample> examples;
  std::vector<PreferencePair> pairs;  // the rejected response: the previous problem's
  std::string previous;
  Rng draw(4);
  for (int i = 0; i < 12; ++i) {
    const Problem p = task.SampleTrain(draw);
    const std::string c = TeachTrace(task, p, TeacherConfig(), draw).completion;
    PrmExample e{p.prompt, c, SegmentSteps(c, {Segmenter::kTokenChunk, "", 3 + i % 4}), {}};
    for (size_t k = 0; k < e.steps.size(); ++k) e.targets.push_back((k + static_cast<size_t>(i)) % 3 == 0 ? 0.0 : 1.0);
    examples.push_back(e);
    pairs.push_back({OutcomeExample(p.prompt, c, true), OutcomeExample(p.prompt, previous.empty() ? c : previous, false)});
    previous = c;
  }
  const OptimConfig optim = ParseResolved<OptimConfig>("lr: 1e-3 warmup_steps: 0 grad_clip: 0.5");
  for (const char* kind : {"process", "head only", "preference"}) {
    const std::string k = kind;
    auto run = [&](Transformer& m, Dist* d, FlopCounter* f) {
      Rng rng(7);
      return k == "preference" ? TrainPreferenceModel(m, pairs, 4, 5, optim, rng, f, d)
                               : TrainRewardModel(m, examples, 4, 5, optim, rng, f, k == "head only", d);
    };
    auto fresh = [] {
      Transformer tiny = testing::CopyOfTinyBase();
      return RewardModelFrom(tiny, true);
    };
    Transformer one = fresh();
    FlopCounter f1;
    const double loss1 = run(one, nullptr, &f1);
    Transformer ranks[3] = {fresh(), fresh(), fresh()};
    FlopCounter flops[3];
    double losses[3] = {0, 0, 0};
    const auto errors = testing::OnRanks(3, [&](Dist& d) {
      const int r = d.rank();
      losses[r] = run(ranks[r], &d, &flops[r]);
    });
    Transformer start = fresh();
    EXPECT_GT(testing::DpMaxDiff(one, start), 1e-5) << kind;
    for (int r = 0; r < 3; ++r) {
      ASSERT_EQ(errors[static_cast<size_t>(r)], "") << kind << ", rank " << r;
      EXPECT_TRUE(testing::DpSameWeights(ranks[r], ranks[0])) << kind << ", rank " << r;
      EXPECT_NEAR(flops[r].Total(), f1.Total(), 1e-9 * f1.Total()) << kind << ", rank " << r;
      EXPECT_NEAR(losses[r], loss1, 1e-5) << kind << ", rank " << r;
    }
    EXPECT_LT(testing::DpRelativeDiff(ranks[0], one, start), 3e-3) << kind;
    // What the comparison must tell apart: other batches (another draw).
    Transformer other = fresh();
    Rng rng(8);
    if (k == "preference") TrainPreferenceModel(other, pairs, 4, 5, optim, rng, nullptr);
    else TrainRewardModel(other, examples, 4, 5, optim, rng, nullptr, k == "head only");
    EXPECT_GT(testing::DpRelativeDiff(other, one, start), 0.1) << kind;
  }
}

// An RFT run shared by two ranks: each samples half of a step's problems,
// the kept samples are gathered, and the ranks' policies and FLOP counts
// stay the same; rank 0 writes the metrics.
TEST(DataParallel, TwoRftRanksShareARun) {
  const std::string dir = testing::TempDir("dp_rft");
  ArithTask task(testing::TinyBaseTask());
  const Arm arm = ParseResolved<Arm>(
      "name: \"rft\" rft { steps: 3 problems_per_step: 6 samples_per_problem: 4 sft_steps: 2 batch_size: 6 "
      "sampling { max_new_tokens: 40 } }");
  Transformer policies[2] = {testing::CopyOfTinyBase(), testing::CopyOfTinyBase()};
  FlopCounter flops[2];
  ASSERT_NO_FATAL_FAILURE(testing::RunTwoSharedRanks(arm, dir, task, policies, flops));
  Transformer base = testing::CopyOfTinyBase();
  EXPECT_GT(testing::DpMaxDiff(policies[0], base), 0) << "no sample was kept: nothing was learned";
  EXPECT_EQ(flops[0].OracleCalls(), 3 * 6 * 4);  // every sample of every rank verified once
  EXPECT_EQ(ReadLines(dir + "/metrics.jsonl").size(), 3u);
}

// Rank 0 writes a shared run's checkpoints while the others wait at a long
// barrier: a write slower than the group's timeout (a large model's, to a
// slow disk) must not time out the next step's all-reduce on the others.
TEST(DataParallel, TheOtherRanksWaitOutRankZerosCheckpointWrite) {
  const std::string dir = testing::TempDir("dp_slow_save");
  Transformer models[2] = {testing::CopyOfTinyBase(), testing::CopyOfTinyBase()};
  // The group's timeout is short (1 s), and so is its rendezvous: on a loaded
  // machine (ctest -j2) the ranks may not meet in time, which is set-up, not
  // what this checks, and is tried again.
  std::vector<std::string> errors;
  for (int attempt = 0; attempt < 4; ++attempt) {
    errors = testing::OnRanks(
        2,
        [&](Dist& d) {
          const int r = d.rank();
          auto opt = MakeAdamW(models[r], ParseResolved<OptimConfig>("lr: 0.001"));
          FlopCounter flops;
          Rng rng(1);
          int64_t tokens = 0;
          StrategyLoop loop;
          loop.steps = 2;
          loop.checkpoint_every = 1;
          loop.optimizer = &opt;
          loop.rng = &rng;
          loop.tokens = &tokens;
          loop.step = [&](int64_t, MetricsLine*, std::string*) { SumOverRanks({1.0}, d); };
          loop.save_state = [] {  // rank 0's write, made slow
            std::this_thread::sleep_for(std::chrono::milliseconds(1500));
            return std::string();
          };
          LoopSpec spec;
          spec.label = "shared";
          spec.flops = &flops;
          spec.read_only_checkpoint = r != 0;
          spec.data_parallel = &d;
          RunCheckpointedLoop(spec, models[r], dir + "/checkpoint.pt", loop);
        },
        std::chrono::seconds(1));
    if (errors[0].find("the rendezvous at") == std::string::npos &&
        errors[1].find("the rendezvous at") == std::string::npos)
      break;
  }
  EXPECT_EQ(errors[0], "");
  EXPECT_EQ(errors[1], "");
  EXPECT_TRUE(FileExists(dir + "/checkpoint.pt"));
}

// Ranks on two machines see one shared run folder each through their own
// mount (folder r here for rank r), and rank 1's may still show an older
// checkpoint than the one rank 0 resumes from. Every rank resumes from rank
// 0's, once its view holds those bytes: rank 1 resuming from its older copy
// would step from other weights than rank 0's, silently.
TEST(DataParallel, EveryRankResumesFromRankZerosCheckpointNotAnOlderCopy) {
  const std::string dir = testing::TempDir("dp_resume_view");
  ::setenv("R1LAB_SHARED_FOLDER_WAIT_S", "20", 1);
  auto run = [&](Transformer& model, Dist* d, const std::string& path, int64_t steps, std::vector<int64_t>* ran) {
    auto opt = MakeAdamW(model, ParseResolved<OptimConfig>("lr: 0.001"));
    FlopCounter flops;
    Rng rng(1);
    int64_t tokens = 0;
    StrategyLoop loop;
    loop.steps = steps;
    loop.checkpoint_every = 1;
    loop.optimizer = &opt;
    loop.rng = &rng;
    loop.tokens = &tokens;
    loop.step = [&](int64_t step, MetricsLine*, std::string*) {
      ran->push_back(step);
      if (d) SumOverRanks({1.0}, *d);
    };
    LoopSpec spec;
    spec.label = "shared";
    spec.flops = &flops;
    spec.read_only_checkpoint = d && d->rank() != 0;
    spec.data_parallel = d;
    RunCheckpointedLoop(spec, model, path, loop);
  };
  const std::string view[2] = {dir + "/0/checkpoint.pt", dir + "/1/checkpoint.pt"};
  std::filesystem::create_directories(dir + "/0");
  std::filesystem::create_directories(dir + "/1");
  Transformer one = testing::CopyOfTinyBase();
  std::vector<int64_t> ignored;
  run(one, nullptr, view[1], 1, &ignored);  // rank 1's view: the checkpoint at step 1
  std::filesystem::copy_file(view[1], view[0]);
  run(one, nullptr, view[0], 3, &ignored);  // rank 0's: at step 3
  Transformer models[2] = {testing::CopyOfTinyBase(), testing::CopyOfTinyBase()};
  std::vector<int64_t> ran[2];
  std::thread share;  // the share shows rank 1 rank 0's checkpoint 300 ms after the ranks have met
  const auto errors = testing::OnRanks(
      2,
      [&](Dist& d) {
        if (d.rank() == 1)
          share = std::thread([&] {
            std::this_thread::sleep_for(std::chrono::milliseconds(300));
            WriteFileAtomic(view[1], ReadFile(view[0]));
          });
        run(models[d.rank()], &d, view[d.rank()], 4, &ran[d.rank()]);
      },
      std::chrono::seconds(5));
  share.join();
  ::unsetenv("R1LAB_SHARED_FOLDER_WAIT_S");
  EXPECT_EQ(errors[0], "");
  EXPECT_EQ(errors[1], "");
  for (int r = 0; r < 2; ++r) EXPECT_EQ(ran[r], std::vector<int64_t>{3}) << "rank " << r << " resumed elsewhere";
  EXPECT_TRUE(testing::DpSameWeights(models[0], models[1]));
}

TEST(DataParallel, MetricsAreTheRanksMeansAndFlopsTheirSums) {
  const auto errors = testing::OnRanks(2, [&](Dist& d) {
    const int r = d.rank();
    MetricsLine m;
    m.set_reward_mean(r == 0 ? 0.25 : 0.75);
    m.add_value_error_by_position(r + 1.0);
    if (r == 1) m.set_explained_variance(0.5);  // one rank only: its own value
    AverageOverRanks(&m, d);
    EXPECT_DOUBLE_EQ(m.reward_mean(), 0.5);
    ASSERT_EQ(m.value_error_by_position_size(), 1);
    EXPECT_DOUBLE_EQ(m.value_error_by_position(0), 1.5);
    EXPECT_DOUBLE_EQ(m.explained_variance(), 0.5);

    FlopCounter f;
    f.Add(FlopPhase::kTrain, 100);
    int64_t tokens = 7;
    const FlopMark before = MarkFlops(f, tokens);
    f.Add(FlopPhase::kGenerate, 10.0 * (r + 1));
    f.AddOracleCalls(r + 1);
    tokens += 3;
    SumFlopsSince(before, d, &f, &tokens);
    EXPECT_EQ(f.Get(FlopPhase::kGenerate), 30);
    EXPECT_EQ(f.Get(FlopPhase::kTrain), 100);  // spent before the mark: counted once
    EXPECT_EQ(f.OracleCalls(), 3);
    EXPECT_EQ(tokens, 13);
  });
  EXPECT_EQ(errors[0], "");
  EXPECT_EQ(errors[1], "");
}

TEST(DataParallel, APromptCountThatDoesNotSplitIsAConfigError) {
  ArithTask task(testing::TinyBaseTask());
  const GrpoConfig cfg = ParseResolved<GrpoConfig>("prompts_per_step: 5 group_size: 2");
  const auto errors = testing::OnRanks(2, [&](Dist& d) {
    Transformer m = testing::CopyOfTinyBase();
    FlopCounter f;
    GrpoTrainer t(m, task, cfg, 3, &f);
    t.set_data_parallel(&d, "arms[0].grpo.prompts_per_step");
  });
  for (const std::string& e : errors)
    EXPECT_NE(e.find("arms[0].grpo.prompts_per_step: 5 does not split evenly over 2 data-parallel ranks"),
              std::string::npos) << e;
}

}  // namespace
}  // namespace r1lab

// MCTS self-search shared by data-parallel ranks (issue #20): each rank
// searches its share of an iteration's problems, the harvests are gathered,
// and the policy's updates on them are one process's, split by rows.
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "arith.h"
#include "arm_runner.h"
#include "io.h"
#include "json.h"
#include "loopback.h"
#include "optim.h"
#include "reward_data.h"
#include "self_search.h"
#include "tiny_base.h"
#include "token_batch.h"

namespace r1lab {
namespace {

using testing::ParseResolved;

// AlphaZero's joint update (JointStep) shared by 2 and 3 ranks (3: a rank
// with one row of the 5 lines and one of the 4 outcomes) is one process's:
// the same losses, FLOPs in each phase, and weights within float sums'
// reach of one process's, on the two-headed model.
TEST(MctsDataParallel, JointStepsOnRanksTakeOneProcesssStep) {
  ArithTask task(testing::TinyBaseTask());
  std::vector<std::pair<std::string, std::string>> lines;
  std::vector<std::string> prompts, completions;
  std::vector<bool> right;
  Rng draw(4);
  for (int i = 0; i < 5; ++i) {
    const Problem p = task.SampleTrain(draw);
    const std::string c = TeachTrace(task, p, TeacherConfig(), draw).completion;
    lines.emplace_back(p.prompt, c);
    if (i == 4) break;
    // The outcome lines: one with a longer reasoning block, so their step
    // counts differ: the value loss divides by their whole count.
    std::string o = c;
    if (i == 3) o.insert(o.find("<think>") == std::string::npos ? 0 : o.find("<think>") + 7, "1+1=2\n2+2=4\n3+3=6\n");
    prompts.push_back(p.prompt);
    completions.push_back(o);
    right.push_back(i % 2 == 0);
  }
  const std::vector<PrmExample> outcomes = OutcomePrefixExamples(prompts, completions, right, 4);
  ASSERT_EQ(outcomes.size(), 4u);
  ASSERT_LT(outcomes[0].steps.size(), outcomes[3].steps.size());
  const OptimConfig optim = ParseResolved<OptimConfig>("lr: 1e-3 warmup_steps: 0 grad_clip: 0.5");
  auto two_headed = [] {
    Transformer tiny = testing::CopyOfTinyBase();
    return RewardModelFrom(tiny, true);
  };
  auto run = [&](Transformer& m, Dist* d, FlopCounter* f) {
    auto opt = MakeAdamW(m, optim);
    const TokenBatch batch = MakeTokenBatch(lines, m->tokenizer(), m->config().max_seq_len());
    JointLosses l;
    for (int s = 0; s < 3; ++s) l = JointStep(m, opt, batch, outcomes, 0.5, 1e-3, optim.grad_clip(), f, d);
    return l;
  };
  Transformer one = two_headed();
  FlopCounter f1;
  const JointLosses l1 = run(one, nullptr, &f1);
  Transformer start = two_headed();
  EXPECT_GT(testing::DpMaxDiff(one, start), 1e-4);
  EXPECT_GT(f1.Get(FlopPhase::kTrain), 0);
  EXPECT_GT(f1.Get(FlopPhase::kRewardTrain), 0);
  for (int world : {2, 3}) {
    std::vector<Transformer> ranks;
    for (int r = 0; r < world; ++r) ranks.push_back(two_headed());
    std::vector<FlopCounter> flops(static_cast<size_t>(world));
    std::vector<JointLosses> losses(static_cast<size_t>(world));
    const auto errors = testing::OnRanks(world, [&](Dist& d) {
      const size_t r = static_cast<size_t>(d.rank());
      losses[r] = run(ranks[r], &d, &flops[r]);
    });
    for (int r = 0; r < world; ++r) {
      const size_t k = static_cast<size_t>(r);
      ASSERT_EQ(errors[k], "") << world << " ranks, rank " << r;
      EXPECT_TRUE(testing::DpSameWeights(ranks[k], ranks[0])) << world << " ranks, rank " << r;
      for (FlopPhase p : {FlopPhase::kTrain, FlopPhase::kRewardTrain})
        EXPECT_NEAR(flops[k].Get(p), f1.Get(p), 1e-9 * f1.Get(p)) << world << " ranks, " << FlopPhaseName(p);
      EXPECT_NEAR(losses[k].ce, l1.ce, 1e-5) << world << " ranks";
      EXPECT_NEAR(losses[k].bce, l1.bce, 1e-5) << world << " ranks";
    }
    EXPECT_LT(testing::DpRelativeDiff(ranks[0], one, start), 3e-3) << world << " ranks";
  }
  // What the comparison must tell apart: the value loss weighed otherwise
  // (1 instead of 0.5).
  Transformer other = two_headed();
  auto opt = MakeAdamW(other, optim);
  const TokenBatch batch = MakeTokenBatch(lines, other->tokenizer(), other->config().max_seq_len());
  for (int s = 0; s < 3; ++s) JointStep(other, opt, batch, outcomes, 1.0, 1e-3, optim.grad_clip(), nullptr);
  EXPECT_GT(testing::DpRelativeDiff(other, one, start), 0.01);
}

MctsConfig SharedMcts() {
  return ParseResolved<MctsConfig>(
      "problems_per_step: 4 sft_steps: 2 batch_size: 6 optim { lr: 1e-3 warmup_steps: 0 min_lr_ratio: 1 } "
      "search { simulations: 4 max_children: 3 leaf_batch: 2 sampling { max_new_tokens: 40 } } "
      "value { pretrain_traces: 6 label_n: 2 pretrain_steps: 3 steps_per_iteration: 2 batch_size: 6 "
      "heldout_problems: 4 outcomes: PLAYED_LINES replay_iterations: 1 optim { warmup_steps: 0 } }");
}

struct SharedMctsCase {
  const char* name;
  void (*set)(MctsConfig*);
};

void PrintTo(const SharedMctsCase& c, std::ostream* os) { *os << c.name; }

class MctsDataParallelRun : public ::testing::TestWithParam<SharedMctsCase> {};

// An MCTS run shared by two ranks, for each way the policy learns from the
// search (its best lines, the visit counts, the joint loss with the value
// head on its trunk): each rank searches 2 of the 4 problems an iteration,
// and every rank ends with the same policy and the same FLOPs in every
// phase. Rank 0's metrics hold the whole harvest: 4 played lines for the
// value network each iteration, and the traces of both ranks' problems.
TEST_P(MctsDataParallelRun, TwoRanksShareARun) {
  const std::string dir = testing::TempDir(std::string("dp_mcts_") + GetParam().name);
  ArithTask task(testing::TinyBaseTask());
  Arm arm;
  arm.set_name("mcts");
  *arm.mutable_mcts() = SharedMcts();
  GetParam().set(arm.mutable_mcts());
  arm.mutable_mcts()->set_steps(2);
  Transformer policies[2] = {testing::CopyOfTinyBase(), testing::CopyOfTinyBase()};
  FlopCounter flops[2];
  ASSERT_NO_FATAL_FAILURE(testing::RunTwoSharedRanks(arm, dir, task, policies, flops));
  Transformer base = testing::CopyOfTinyBase();
  if (!policies[0]->config().prm_head()) {
    EXPECT_GT(testing::DpMaxDiff(policies[0], base), 0) << "nothing learned";
  }
  for (FlopPhase p : {FlopPhase::kLabel, FlopPhase::kRewardTrain, FlopPhase::kScore, FlopPhase::kTrain})
    EXPECT_GT(flops[0].Get(p), 0) << FlopPhaseName(p);
  const auto lines = ReadLines(dir + "/metrics.jsonl");
  ASSERT_EQ(lines.size(), 5u);  // value network, held-out start, 2 iterations, held-out end
  for (size_t k : {2u, 3u}) {
    const JsonValue it = JsonValue::Parse(lines[k]);
    EXPECT_EQ(it.at("value").num("lines"), 4) << "every rank's played lines";
    EXPECT_LE(it.num("search_solved"), it.num("search_found"));
    EXPECT_LE(it.num("traces"), 4);
    EXPECT_EQ(it.num("traces"), it.num("search_found") * 4) << "the traces of both ranks' problems";
    EXPECT_GT(it.num("search_flops"), 0);
  }
  EXPECT_EQ(JsonValue::Parse(lines[4]).at("value_heldout").at("when").string(), "end");
}

INSTANTIATE_TEST_SUITE_P(
    Targets, MctsDataParallelRun,
    ::testing::Values(SharedMctsCase{"best_lines", [](MctsConfig*) {}},
                      SharedMctsCase{"visit_counts", [](MctsConfig* c) { c->set_policy_target(VISIT_COUNTS); }},
                      SharedMctsCase{"joint",
                                     [](MctsConfig* c) {
                                       c->mutable_value()->set_policy_trunk(true);
                                       c->mutable_value()->set_joint_weight(1);
                                     }}),
    [](const ::testing::TestParamInfo<SharedMctsCase>& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace r1lab

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>

#include "config.h"
#include "error.h"
#include "io.h"
#include "memory.h"
#include "report.h"
#include "runner.h"
#include "strategy.h"
#include "tune.h"
#include "test_util.h"

namespace r1lab {
namespace {

using testing::ParseResolved;

std::string ErrorOf(const std::string& text) {
  try {
    ParseResolved<ExperimentConfig>(text);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

constexpr const char* kBase = R"(
name: "t"
seeds: [1]
arms { name: "a" sft { steps: 10 } }
)";
const std::string kValid = std::string(kBase) + "task { arith {} }\n";

// A config that cannot fit is refused before anything is allocated, saying
// what to lower; the estimate is a lower bound, so the default fits easily.
TEST(Config, AConfigThatCannotFitInMemoryIsRefusedWithWhatToLower) {
  const ExperimentConfig big = LoadExperimentText(
      "name: \"big\" seeds: 1 task { arith {} } model { d_model: 8192 n_heads: 64 d_ff: 32768 } eval { sampling { batch_size: 65536 } }",
      "big.pbtxt");
  try {
    CheckMemory(big, 64, 24 * 1024, "big.pbtxt");
    FAIL() << "a 2.4e9-parameter model was accepted on 24 GiB";
  } catch (const ConfigError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("big.pbtxt: needs at least"), std::string::npos) << what;
    EXPECT_NE(what.find("Lower model.d_model"), std::string::npos) << what;
    EXPECT_NE(what.find("sampling.batch_size 65536"), std::string::npos) << what;
  }
  EXPECT_NO_THROW(CheckMemory(LoadExperiment(""), 64, 2048, "default")) << "the default experiment fits in 2 GiB";
  // On a GPU: its free memory; a model folder's shape is fixed, so the advice is its length or another folder.
  const ExperimentConfig gpu = LoadExperimentText(
      "name: \"g\" seeds: 1 task { arith {} } model { device: CUDA max_seq_len: 64 hf_folder: \"" +
          std::string(R1LAB_SOURCE_DIR) + "/tests/fixtures/hf/qwen2\" }",
      "g.pbtxt");
  try {
    CheckMemory(gpu, 1200, 1, "g.pbtxt");
    FAIL() << "accepted in 1 MiB";
  } catch (const ConfigError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("0.0 GiB of free GPU memory (nvidia-smi) is available"), std::string::npos) << what;
    EXPECT_NE(what.find("Lower model.max_seq_len (or take a smaller model.hf_folder)"), std::string::npos) << what;
    EXPECT_EQ(what.find("model.d_model"), std::string::npos) << what;
  }
  EXPECT_NO_THROW(CheckMemory(gpu, 1200, 0, "g.pbtxt")) << "unknown memory: no check";
  // Reference check of the parts against a hand count.
  const ExperimentConfig tiny = LoadExperimentText(
      "name: \"t\" seeds: 1 task { arith {} } model { d_model: 32 n_layers: 2 n_heads: 4 d_ff: 128 max_seq_len: 64 }", "t.pbtxt");
  const MemoryEstimate e = EstimateMemory(tiny, 64);
  const double params = 2 * (4 * 32 * 32 + 2 * 32 * 128) + 32 * 64 + 64 * 32;  // layers, tied head, positions
  EXPECT_DOUBLE_EQ(e.params, params);
  const double gib = 1024.0 * 1024 * 1024;
  EXPECT_DOUBLE_EQ(e.train_state_gb, 16 * params / gib);
  EXPECT_GT(e.sample_rows, 0);
  EXPECT_DOUBLE_EQ(e.kv_cache_gb, (2.0 * 2 * e.sample_rows * 64 * 32 + e.sample_rows * 64.0) * 4 / gib);
  EXPECT_DOUBLE_EQ(e.total_gb, e.train_state_gb + std::max(e.activations_gb, e.kv_cache_gb));
  // BF16_MIXED: the cache in 2 bytes, the logits and the training state (master weights) in 4.
  ExperimentConfig mixed = tiny;
  mixed.mutable_model()->set_precision(BF16_MIXED);
  const MemoryEstimate b = EstimateMemory(mixed, 64);
  EXPECT_DOUBLE_EQ(b.train_state_gb, e.train_state_gb);
  EXPECT_DOUBLE_EQ(b.kv_cache_gb, (2.0 * 2 * b.sample_rows * 64 * 32 * 2 + b.sample_rows * 64.0 * 4) / gib);
  EXPECT_LT(b.activations_gb, e.activations_gb);
}

TEST(Config, ValidExperimentResolvesEveryDefault) {
  const ExperimentConfig c = ParseResolved<ExperimentConfig>(kValid);
  EXPECT_EQ(c.model().d_model(), 96);
  EXPECT_TRUE(c.model().has_d_model());  // written explicitly in the resolved config
  EXPECT_EQ(c.arms(0).sft().optim().lr(), 3e-3);
  EXPECT_NE(ConfigToText(c).find("d_model: 96"), std::string::npos);
  // An SFT arm without a teacher keeps using the task's teacher.
  EXPECT_FALSE(c.arms(0).sft().has_teacher());
  EXPECT_EQ(EffectiveTeacher(c.task(), c.arms(0).sft()).step_error_rate(), 0.2);
}

TEST(Config, UnknownFieldIsAnErrorWithLineAndColumn) {
  const std::string e = ErrorOf(std::string(kValid) + "\nmodel { d_modle: 3 }\n");
  EXPECT_NE(e.find("<test>:7:"), std::string::npos) << e;
  EXPECT_NE(e.find("d_modle"), std::string::npos) << e;
}

TEST(Config, OutOfRangeNamesTheFieldPathAndTheRange) {
  const std::string e = ErrorOf(std::string(kValid) + "arms { name: \"b\" sft { optim { lr: 0 } } }\n");
  EXPECT_NE(e.find("arms[1].sft.optim.lr"), std::string::npos) << e;
  EXPECT_NE(e.find("(0, 10]"), std::string::npos) << e;
  const std::string e2 = ErrorOf(std::string(kBase) + "task { arith {} teacher { step_error_rate: 1.5 } }\n");
  EXPECT_NE(e2.find("task.teacher.step_error_rate"), std::string::npos) << e2;
  EXPECT_NE(e2.find("[0, 1]"), std::string::npos) << e2;
}

TEST(Config, CrossFieldRules) {
  EXPECT_NE(ErrorOf(std::string(kValid) + "model { d_model: 30 n_heads: 4 }").find("model.n_heads"),
            std::string::npos);
  EXPECT_NE(ErrorOf(std::string(kBase) + "task { arith { min_ops: 4 max_ops: 2 } }").find("min_ops"),
            std::string::npos);
  EXPECT_NE(ErrorOf(std::string(kValid) + "arms { name: \"a\" sft {} }").find("used twice"), std::string::npos);
  EXPECT_NE(ErrorOf("name: \"t\" task { arith {} }").find("seeds"), std::string::npos);
  EXPECT_NE(ErrorOf("name: \"t\" seeds: 1").find("task"), std::string::npos);
  EXPECT_NE(ErrorOf("name: \"../x\" seeds: 1 task { arith {} }").find("name"), std::string::npos);
  EXPECT_NE(ErrorOf("name: \"t\" seeds: 1 base_seeds: [2, 2] task { arith {} }").find("base_seeds: contains duplicates"),
            std::string::npos);
  EXPECT_NE(ErrorOf(std::string(kValid) + "budgets: [1, 3]").find("arms[0].flop_budget: unset, but budgets"),
            std::string::npos);
  EXPECT_NE(ErrorOf(std::string(kValid) + "budgets: [2, 2]").find("budgets: contains duplicates"), std::string::npos);
  EXPECT_NE(ErrorOf(std::string(kValid) + "budgets: [0]").find("budgets[0]"), std::string::npos);
  EXPECT_NE(ErrorOf(std::string(kValid) + "arms { name: \"c\" }").find("no strategy"), std::string::npos);
  EXPECT_NE(ErrorOf(std::string(kValid) + "paired_reference: \"r1_zero\"")
                .find("paired_reference: 'r1_zero' names no arm"),
            std::string::npos);
}

// A budget curve runs each arm once per multiplier: its budget and its RL
// steps scaled, its fixed costs (a PRM's labels) as configured.
TEST(Config, BudgetCurveExpandsEachArmOncePerMultiplier) {
  const ExperimentConfig cfg = ParseResolved<ExperimentConfig>(
      "name: \"t\" seeds: 1 budgets: [3, 0.5] task { arith {} } "
      "arms { name: \"grpo\" flop_budget: 1e12 grpo { steps: 150 } } "
      "arms { name: \"prm\" flop_budget: 2e12 prm_rl { grpo { steps: 40 } reward_model { label_traces: 400 } } }");
  std::vector<BudgetPoint> points;
  const ExperimentConfig x = ExpandBudgets(cfg, &points);
  ASSERT_EQ(x.arms_size(), 4);
  EXPECT_EQ(x.budgets_size(), 0);
  EXPECT_EQ(x.arms(0).name(), "grpo-x0.5");
  EXPECT_EQ(x.arms(1).name(), "grpo-x3");
  EXPECT_EQ(x.arms(2).name(), "prm-x0.5");
  EXPECT_DOUBLE_EQ(x.arms(0).flop_budget(), 5e11);
  EXPECT_DOUBLE_EQ(x.arms(3).flop_budget(), 6e12);
  EXPECT_EQ(x.arms(0).grpo().steps(), 75);
  EXPECT_EQ(x.arms(1).grpo().steps(), 450);
  EXPECT_EQ(x.arms(2).prm_rl().grpo().steps(), 20);
  EXPECT_EQ(x.arms(3).prm_rl().reward_model().label_traces(), 400);
  ASSERT_EQ(points.size(), 4u);
  EXPECT_EQ(points[3].family, "prm");
  EXPECT_EQ(points[3].scale, 3);
  // Without budgets: the config itself, each arm its own family at scale 0.
  ExperimentConfig plain = cfg;
  plain.clear_budgets();
  EXPECT_EQ(ExpandBudgets(plain, &points).arms(1).name(), "prm");
  EXPECT_EQ(points[1].scale, 0);
  // A point named like another arm is refused, naming both.
  ExperimentConfig clash = cfg;
  clash.mutable_arms(1)->set_name("grpo-x3");
  try {
    ExpandBudgets(clash);
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("'grpo-x3', the name of another arm"), std::string::npos) << e.what();
  }
}

// tune.edge_trials' next trial, by hand: the best trial with one value moved
// a grid step past the end it lies at (a learning rate by the grid's ratio,
// never a KL coefficient below 0, an integer rounded), the grid growing by
// the value reached; the next value at an end once that move is tried; the
// next untried grid point once the best lies inside.
TEST(Config, EdgeTrialsMoveTheBestTrialPastItsGridsEnds) {
  ExperimentConfig cfg = LoadExperiment("");
  const Arm* grpo = nullptr;
  const Arm* mcts = nullptr;
  for (const Arm& a : cfg.arms()) {
    if (a.has_grpo() && !grpo) grpo = &a;
    if (a.has_mcts() && !mcts) mcts = &a;
  }
  ASSERT_TRUE(grpo && mcts);
  using Point = std::vector<double>;
  // The arm's space in the experiment (the grid order falls back to) and
  // its trials so far.
  auto arm_with = [&](const std::vector<std::pair<std::string, Point>>& space,
                      const std::vector<std::pair<Point, double>>& trials) {
    TuneRecord::TunedArm t;
    cfg.mutable_tune()->clear_spaces();
    TuneSpace* s = cfg.mutable_tune()->add_spaces();
    s->set_arm(space[0].first.rfind("grpo.", 0) == 0 ? grpo->name() : mcts->name());
    for (const auto& [path, values] : space) {
      TuneParam* p = s->add_params();
      p->set_path(path);
      for (double v : values) p->add_values(v);
    }
    *t.mutable_space() = s->params();
    for (const auto& [values, score] : trials) {
      TuneRecord::Trial* trial = t.add_trials();
      for (double v : values) trial->add_values(v);
      trial->set_validation_pass1(score);
    }
    return t;
  };
  auto last = [](const TuneRecord::TunedArm& t) {
    const auto& v = t.trials(t.trials_size() - 1).values();
    return Point(v.begin(), v.end());
  };
  const std::string lr = "grpo.optim.lr", kl = "grpo.kl_coef";
  TuneRecord::TunedArm low = arm_with({{lr, {1e-5, 1e-4}}, {kl, {0, 0.01}}}, {{{1e-5, 0}, 0.5}, {{1e-4, 0.01}, 0.1}});
  ASSERT_TRUE(NextEdgeTrial(cfg, *grpo, &low));
  EXPECT_EQ(last(low), (Point{1e-6, 0}));  // no KL coefficient below 0
  EXPECT_EQ(low.space(0).values_size(), 3);
  low.mutable_trials(2)->set_validation_pass1(0.2);  // worse: the best's learning rate now lies inside
  ASSERT_TRUE(NextEdgeTrial(cfg, *grpo, &low));
  const Point configured{grpo->grpo().optim().lr(), grpo->grpo().kl_coef()};  // the grid order's first point
  EXPECT_TRUE(last(low) == configured || last(low) == (Point{1e-4, 0}) || last(low) == (Point{1e-5, 0.01}))
      << last(low)[0] << " " << last(low)[1];

  TuneRecord::TunedArm high = arm_with({{lr, {1e-5, 1e-4}}, {kl, {0.001, 0.01}}}, {{{1e-4, 0.01}, 0.5}, {{1e-5, 0.001}, 0.1}});
  ASSERT_TRUE(NextEdgeTrial(cfg, *grpo, &high));
  EXPECT_EQ(last(high), (Point{1e-3, 0.01}));
  high.mutable_trials(2)->set_validation_pass1(0);
  ASSERT_TRUE(NextEdgeTrial(cfg, *grpo, &high));
  EXPECT_EQ(last(high), (Point{1e-4, 0.1}));

  // The move wins, so the best lies at both grids' tops again, its learning
  // rate's end moved once: tune.edge_rotate moves the KL coefficient next;
  // without it the learning rate would take every edge trial.
  for (bool rotate : {true, false}) {
    cfg.mutable_tune()->set_edge_rotate(rotate);
    TuneRecord::TunedArm both = arm_with({{lr, {1e-5, 1e-4}}, {kl, {0.001, 0.01}}}, {{{1e-4, 0.01}, 0.5}, {{1e-5, 0.001}, 0.1}});
    ASSERT_TRUE(NextEdgeTrial(cfg, *grpo, &both));
    EXPECT_EQ(last(both), (Point{1e-3, 0.01}));
    both.mutable_trials(2)->set_validation_pass1(0.6);
    ASSERT_TRUE(NextEdgeTrial(cfg, *grpo, &both));
    EXPECT_EQ(last(both), rotate ? (Point{1e-3, 0.1}) : (Point{1e-2, 0.01})) << "edge_rotate " << rotate;
    both.mutable_trials(3)->set_validation_pass1(0.7);
    ASSERT_TRUE(NextEdgeTrial(cfg, *grpo, &both));  // each end moved once: the learning rate's turn again
    EXPECT_EQ(last(both), rotate ? (Point{1e-2, 0.1}) : (Point{1e-1, 0.01})) << "edge_rotate " << rotate;
  }

  ASSERT_EQ(mcts->mcts().search().simulations(), 16);  // as configured: a grid point, tried
  TuneRecord::TunedArm sims = arm_with({{"mcts.search.simulations", {16, 24}}}, {{{16}, 0.5}, {{24}, 0.1}});
  ASSERT_TRUE(NextEdgeTrial(cfg, *mcts, &sims));
  EXPECT_EQ(last(sims), (Point{11}));  // 16 x 16 / 24, rounded
  sims.mutable_trials(2)->set_validation_pass1(0.1);
  EXPECT_FALSE(NextEdgeTrial(cfg, *mcts, &sims)) << "16 lies inside [11, 24], and the grid is spent";
}

// Every committed tuning is what r1lab tune would try now with its
// experiment's file (edge trials replayed from the recorded scores), so the
// file says how its results were tuned; the recent ones follow an optimum
// past its grid and cover every value.
TEST(Config, TheCommittedTuningsAreCurrent) {
  const std::map<std::string, int> recent = {  // their edge_trials
      {"r1_zero_vs_failures", 2},    {"mcts_failure", 3},         {"prm_failure", 2},
      {"countdown_head_to_head", 3}, {"arith_mul_head_to_head", 3}, {"language_consistency", 2},
      {"r1_zero_vs_failures_full", 2}, {"grpo_variants", 1}, {"pipeline", 4}, {"size_scaling", 3}};
  int tunings = 0;
  std::set<std::string> seen;
  const std::string dir = std::string(R1LAB_SOURCE_DIR) + "/experiments", ext = ".tuned.pbtxt";
  std::set<std::string> tuned_experiments;  // from <name>.tuned.pbtxt and a sweep's <name>.<size>.tuned.pbtxt
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    const std::string f = e.path().filename().string();
    if (f.size() > ext.size() && f.compare(f.size() - ext.size(), ext.size(), ext) == 0)
      tuned_experiments.insert(f.substr(0, f.find('.')));
  }
  for (const std::string& name : tuned_experiments) {
    const std::string path = dir + "/" + name + ".pbtxt";
    const ExperimentConfig cfg = LoadExperiment(path, {}, /*tuned=*/false);
    std::vector<std::pair<ExperimentConfig, std::string>> each;  // a config and its tuning's file
    if (cfg.sizes_size() == 0) each.emplace_back(cfg, TunedPath(path));
    else
      for (const ExperimentConfig& size : LoadSizes(path, {}, /*tuned=*/false))
        each.emplace_back(size, TunedPath(path, size.name()));
    for (const auto& [c, tuned] : each) {
      if (!FileExists(tuned)) continue;
      SCOPED_TRACE(tuned);
      TuneRecord rec;
      LoadConfigFile(tuned, &rec);
      EXPECT_TRUE(TuningIsCurrent(c, rec));
      if (recent.count(name)) {
        EXPECT_EQ(rec.edge_trials(), recent.at(name));
        EXPECT_TRUE(rec.cover_values());
        seen.insert(name);
      }
      ++tunings;
    }
  }
  EXPECT_EQ(seen.size(), recent.size());
  EXPECT_GE(tunings, 12);
}

// tune.cover_values: three trials of a 3 x 3 x 3 grid around the configured
// point try every value of each parameter, for every seed; plain draws miss
// one for some seed. A tuning made one way is not current for the other.
TEST(Config, CoverValuesTriesEveryValueOfEachParameter) {
  ExperimentConfig cfg = LoadExperiment("");
  const Arm grpo = cfg.arms(0);
  ASSERT_TRUE(grpo.has_grpo());
  cfg.mutable_tune()->set_trials(3);
  TuneSpace* s = cfg.mutable_tune()->add_spaces();
  s->set_arm(grpo.name());
  const std::vector<std::pair<std::string, std::vector<double>>> space = {
      {"grpo.optim.lr", {grpo.grpo().optim().lr() / 3, grpo.grpo().optim().lr(), grpo.grpo().optim().lr() * 3}},
      {"grpo.kl_coef", {grpo.grpo().kl_coef() + 0.01, grpo.grpo().kl_coef(), grpo.grpo().kl_coef() + 0.02}},
      {"grpo.group_size", {grpo.grpo().group_size() / 2.0, 1.0 * grpo.grpo().group_size(), 2.0 * grpo.grpo().group_size()}}};
  for (const auto& [path, values] : space) {
    TuneParam* p = s->add_params();
    p->set_path(path);
    for (double v : values) p->add_values(v);
  }
  auto tried_every_value = [&](bool cover, uint64_t seed) {
    cfg.mutable_tune()->set_cover_values(cover);
    cfg.mutable_tune()->set_seed(seed);
    TuneRecord::TunedArm rec;
    EXPECT_EQ(TrialArms(cfg, grpo, &rec).size(), 3u);
    for (int i = 0; i < 3; ++i) {
      std::set<double> tried;
      for (const auto& t : rec.trials()) tried.insert(t.values(i));
      if (tried.size() != 3) return false;
    }
    return true;
  };
  int missed = 0;
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    EXPECT_TRUE(tried_every_value(true, seed)) << "seed " << seed;
    missed += !tried_every_value(false, seed);
  }
  EXPECT_GT(missed, 0) << "plain draws of 2 points from 27 missed no value in 20 seeds";

  // Covering draws are the default: an experiment that says nothing of them
  // gets them.
  EXPECT_TRUE(ExperimentConfig().tune().cover_values());

  // A record made one way is not current for a file that says the other.
  const std::string path = std::string(R1LAB_SOURCE_DIR) + "/experiments/r1_zero_vs_failures.pbtxt";
  TuneRecord rec;
  LoadConfigFile(TunedPath(path), &rec);
  const ExperimentConfig configured = LoadExperiment(path, {}, /*tuned=*/false);
  ASSERT_TRUE(TuningIsCurrent(configured, rec));
  rec.set_cover_values(!rec.cover_values());
  EXPECT_FALSE(TuningIsCurrent(configured, rec)) << "made with the other draws";
}

// Every strategy declares a search space that applies to its arms: the
// default experiment's arms (every strategy) each get `trials` distinct
// trials, the first as configured, at the reduced budget; a space outside
// the arm's strategy is an error naming the arm and the path.
TEST(Config, EveryStrategysTuneSpaceMakesDistinctTrials) {
  ExperimentConfig cfg = LoadExperiment("");
  cfg.mutable_tune()->set_trials(4);
  std::set<Arm::StrategyCase> kinds;
  for (const Arm& arm : cfg.arms()) {
    kinds.insert(arm.strategy_case());
    TuneRecord::TunedArm rec;
    const std::vector<Arm> trials = TrialArms(cfg, arm, &rec);
    ASSERT_EQ(trials.size(), 4u) << arm.name();
    ASSERT_GE(rec.space_size(), 1) << arm.name();
    Arm as_configured = arm;  // at the trials' budget and steps
    as_configured.set_name(arm.name() + "-t0");
    as_configured.set_flop_budget(arm.flop_budget() * cfg.tune().budget_scale());
    ScaleArmSteps(&as_configured, cfg.tune().budget_scale());
    EXPECT_EQ(ConfigToText(trials[0]), ConfigToText(as_configured)) << arm.name();
    EXPECT_DOUBLE_EQ(trials[1].flop_budget(), arm.flop_budget() * cfg.tune().budget_scale());
    std::set<std::string> distinct;
    for (Arm t : trials) {
      t.set_name("");
      distinct.insert(ConfigToText(t));
    }
    EXPECT_EQ(distinct.size(), 4u) << arm.name();
  }
  EXPECT_GE(kinds.size(), 5u);
  TuneSpace* wrong = cfg.mutable_tune()->add_spaces();
  wrong->set_arm("grpo");
  TuneParam* p = wrong->add_params();
  p->set_path("ppo.optim.lr");
  p->add_values(1e-4);
  try {
    TrialArms(cfg, cfg.arms(0));
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("arm 'grpo': ppo.optim.lr: expected a field of the arm's strategy"),
              std::string::npos) << e.what();
  }
  // Each value of a space is checked as the arm would hold it, before any
  // trial runs: not finite, or out of the field's range.
  auto space_error = [&](double v) {
    p->set_path("grpo.optim.lr");
    p->clear_values();
    p->add_values(v);
    try {
      TrialArms(cfg, cfg.arms(0));
    } catch (const ConfigError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(space_error(NAN).find("tune space of arm 'grpo': grpo.optim.lr lists nan; expected finite values"),
            std::string::npos) << space_error(NAN);
  EXPECT_NE(space_error(-1).find("tune space of arm 'grpo', the arm with grpo.optim.lr -1: grpo.optim.lr"),
            std::string::npos) << space_error(-1);
  EXPECT_EQ(space_error(3e-4), "no error");
}

// A tuning is made for the values an arm sets: a field at its default,
// present or absent (as a field the proto gains later is), keeps the
// identity; another value does not.
TEST(Config, TunedArmIdentityFollowsTheSetValuesNotTheDefaults) {
  const std::string text =
      "name: \"t\" seeds: 1 task { arith {} } arms { name: \"g\" grpo { optim { lr: 1e-4 } kl_coef: 0.001 } }";
  const ExperimentConfig resolved = ParseResolved<ExperimentConfig>(text);
  Arm without = resolved.arms(0);
  ASSERT_TRUE(without.grpo().has_entropy_coef());  // resolved: written out, at its default 0
  without.mutable_grpo()->clear_entropy_coef();
  without.mutable_grpo()->mutable_reward()->clear_format_weight();
  EXPECT_EQ(TunedArmIdentity(resolved, without), TunedArmIdentity(resolved, resolved.arms(0)));
  Arm other = resolved.arms(0);
  other.mutable_grpo()->mutable_optim()->set_lr(3e-4);
  EXPECT_NE(TunedArmIdentity(resolved, other), TunedArmIdentity(resolved, resolved.arms(0)));
  ExperimentConfig bigger = resolved;
  bigger.mutable_model()->set_d_model(128);
  EXPECT_NE(TunedArmIdentity(bigger, resolved.arms(0)), TunedArmIdentity(resolved, resolved.arms(0)));
}

TEST(Config, BadEnumValueIsAnError) {
  EXPECT_NE(ErrorOf(std::string(kValid) + "model { device: TPU }").find("TPU"), std::string::npos);
}

TEST(Config, EmbeddedDefaultExperimentIsValid) {
  const ExperimentConfig c = LoadExperiment("");
  EXPECT_EQ(c.name(), "r1_zero_vs_failures");
  EXPECT_GE(c.seeds_size(), 3);
  EXPECT_GE(c.arms_size(), 1);
}

TEST(Config, ArmsShareDefaultsAndOverrideSingleFields) {
  const std::string dir = testing::TempDir("arm_defaults");
  WriteFileAtomic(dir + "/e.pbtxt", R"(
name: "t" seeds: 1 task { arith {} }
arm_defaults {
  flop_budget: 1e12
  grpo { group_size: 4 optim { lr: 1e-4 } sampling { max_new_tokens: 40 } }
}
arms { name: "plain" }
arms { name: "dapo" grpo { clip_high: 0.28 optim { warmup_steps: 0 } } }
arms { name: "budget" flop_budget: 2e12 }
arms { name: "sft" sft { steps: 5 } }
)");
  const ExperimentConfig c = LoadExperiment(dir + "/e.pbtxt");
  EXPECT_FALSE(c.has_arm_defaults());
  const Arm& plain = c.arms(0);
  EXPECT_EQ(plain.flop_budget(), 1e12);
  EXPECT_EQ(plain.grpo().group_size(), 4);
  EXPECT_EQ(plain.grpo().clip_high(), 0.2);  // the .proto default where neither sets it
  const Arm& dapo = c.arms(1);
  EXPECT_EQ(dapo.grpo().clip_high(), 0.28);
  EXPECT_EQ(dapo.grpo().optim().lr(), 1e-4);  // sub-messages merge field by field
  EXPECT_EQ(dapo.grpo().optim().warmup_steps(), 0);
  EXPECT_EQ(dapo.grpo().sampling().max_new_tokens(), 40);
  EXPECT_EQ(c.arms(2).flop_budget(), 2e12);
  EXPECT_TRUE(c.arms(3).has_sft());  // another strategy replaces the shared one
  EXPECT_FALSE(c.arms(3).has_grpo());
  EXPECT_EQ(c.arms(3).flop_budget(), 1e12);
}

TEST(Config, ExperimentFilesExtendOthers) {
  const std::string dir = testing::TempDir("extends");
  std::filesystem::create_directories(dir + "/sub");
  WriteFileAtomic(dir + "/parent.pbtxt", R"(
name: "parent" seeds: [1, 2, 3] task { arith { max_ops: 3 } num_test: 100 }
eval { num_problems: 50 eval_every: 10 }
arm_defaults { flop_budget: 1e12 }
arms { name: "a" grpo {} }
arms { name: "b" sft {} }
)");
  WriteFileAtomic(dir + "/sub/child.pbtxt", R"(
extends: "../parent.pbtxt"
name: "child"
eval { eval_every: 5 }
arms { name: "c" grpo { kl_coef: 0 } }
)");
  const ExperimentConfig c = LoadExperiment(dir + "/sub/child.pbtxt");
  EXPECT_EQ(c.name(), "child");
  EXPECT_EQ(c.seeds_size(), 3);                   // not given here: the parent's
  EXPECT_EQ(c.task().arith().max_ops(), 3);
  EXPECT_EQ(c.eval().num_problems(), 50);         // messages merge field by field
  EXPECT_EQ(c.eval().eval_every(), 5);
  ASSERT_EQ(c.arms_size(), 1);                    // arms given here replace the parent's
  EXPECT_EQ(c.arms(0).name(), "c");
  EXPECT_EQ(c.arms(0).flop_budget(), 1e12);       // the parent's arm_defaults still apply
  EXPECT_FALSE(c.has_extends());
  WriteFileAtomic(dir + "/loop.pbtxt", "extends: \"loop.pbtxt\" name: \"x\"");
  EXPECT_THROW(LoadExperiment(dir + "/loop.pbtxt"), ConfigError);
  WriteFileAtomic(dir + "/self.pbtxt", "extends: \"./self.pbtxt\" name: \"x\"");  // the same file, spelled otherwise
  try {
    LoadExperiment(dir + "/self.pbtxt");
    ADD_FAILURE();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("forms a cycle"), std::string::npos) << e.what();
  }
  // An empty list reads as the field left out, so the parent's would stay:
  // an error at its line. An empty extends; a file cut short.
  auto error = [&](const std::string& file, const std::string& text) {
    WriteFileAtomic(dir + "/" + file, text);
    try {
      LoadExperiment(dir + "/" + file);
    } catch (const ConfigError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(error("empty.pbtxt", "extends: \"parent.pbtxt\"\n# seeds: [] here is a comment\nname: \"e\"\nseeds: [ ]\n"),
            dir + "/empty.pbtxt:4: seeds: [] is an empty list, which reads as seeds left out (in a file that extends "
                  "another, the parent's seeds stay); expected at least one value, or no mention of seeds");
  EXPECT_NE(error("empty_arms.pbtxt", "extends: \"parent.pbtxt\" name: \"e\" arms []").find("empty_arms.pbtxt:1: arms: []"),
            std::string::npos);
  EXPECT_EQ(error("quoted.pbtxt", "extends: \"parent.pbtxt\" name: \"e\" output_dir: \"e: []\""), "no error");
  EXPECT_EQ(error("blank.pbtxt", "extends: \"\" name: \"x\""),
            dir + "/blank.pbtxt: extends: \"\"; expected the path of the config this file extends (relative to it)");
  EXPECT_EQ(error("cut.pbtxt", "name: \"x\"\narms { name: \"x\" grpo { steps: 3"),
            dir + "/cut.pbtxt:2:33: Expected identifier, got: the end of the text (a '{' or '[' not closed?)");
  WriteFileAtomic(dir + "/missing.pbtxt", "extends: \"nope.pbtxt\" name: \"x\"");
  try {
    LoadExperiment(dir + "/missing.pbtxt");
    ADD_FAILURE();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("missing.pbtxt: extends"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("nope.pbtxt"), std::string::npos) << e.what();
  }
}

// A child's arm named like a parent's replaces it whole. Written to adjust
// one field, it would run every other field at its default (a GRPO arm at
// the default 100 steps and 1.5e12 FLOPs, say), so loading names what the
// parent's arm set and the child's leaves out.
TEST(Config, AChildArmNamedLikeAParentsSaysWhatItDoesNotInherit) {
  const std::string dir = testing::TempDir("extends_arm");
  WriteFileAtomic(dir + "/parent.pbtxt", R"(
name: "parent" seeds: [1] task { arith {} }
arms { name: "a" flop_budget: 3e12 grpo { steps: 7 kl_coef: 0.5 sampling { temperature: 0.7 max_new_tokens: 40 } } }
arms { name: "b" grpo { steps: 9 } }
)");
  WriteFileAtomic(dir + "/child.pbtxt", R"(
extends: "parent.pbtxt"
name: "child"
arms { name: "a" grpo { kl_coef: 0 sampling { max_new_tokens: 80 } } }
arms { name: "b" sft {} }
arms { name: "c" grpo {} }
)");
  ::testing::internal::CaptureStderr();
  const ExperimentConfig c = LoadExperiment(dir + "/child.pbtxt");
  const std::string err = ::testing::internal::GetCapturedStderr();
  ASSERT_EQ(c.arms_size(), 3);
  EXPECT_EQ(c.arms(0).grpo().steps(), 100);  // replaced whole: the default, not the parent's 7
  EXPECT_NE(err.find("child.pbtxt: arms[a] replaces the arm of that name in"), std::string::npos) << err;
  EXPECT_NE(err.find("fall to arm_defaults or their defaults: flop_budget, grpo.steps, grpo.sampling.temperature\n"), std::string::npos) << err;
  EXPECT_EQ(err.find("kl_coef"), std::string::npos) << err;         // set here too
  EXPECT_EQ(err.find("arms[b]"), std::string::npos) << err;         // another strategy: a choice, not a gap
  EXPECT_EQ(err.find("arms[c]"), std::string::npos) << err;         // no parent arm of that name
  // Every rank of a job reads the config; only rank 0 warns.
  ::setenv("RANK", "1", 1);
  ::testing::internal::CaptureStderr();
  LoadExperiment(dir + "/child.pbtxt");
  const std::string rank1 = ::testing::internal::GetCapturedStderr();
  ::setenv("RANK", "0", 1);
  ::testing::internal::CaptureStderr();
  LoadExperiment(dir + "/child.pbtxt");
  const std::string rank0 = ::testing::internal::GetCapturedStderr();
  ::unsetenv("RANK");
  EXPECT_EQ(rank1, "");
  EXPECT_EQ(rank0, err);
  // Every committed experiment that extends another says nothing.
  for (const auto& e : std::filesystem::directory_iterator(std::string(R1LAB_SOURCE_DIR) + "/experiments")) {
    if (e.path().extension() != ".pbtxt" || e.path().string().find(".tuned.") != std::string::npos) continue;
    ::testing::internal::CaptureStderr();
    try {
      LoadExperiment(e.path().string(), {}, /*tuned=*/false);
    } catch (const InputError&) {  // gsm8k_real_lm: the model folder is the user's to provide
    }
    EXPECT_EQ(::testing::internal::GetCapturedStderr(), "") << e.path();
  }
}

// sizes[i].budget_scale: every arm's budget at that size is the multiple of
// the experiment's (arm_defaults' and an arm's own), its steps as they are;
// an arm without a budget to scale is an error naming the size and the arm.
TEST(Config, SizeBudgetScaleMultipliesEveryArmsBudgetAtThatSize) {
  const std::string dir = testing::TempDir("size_budget");
  const std::string sweep = R"(
name: "s" seeds: [1] task { arith {} num_test: 100 }
model { d_model: 32 n_layers: 1 n_heads: 2 d_ff: 64 max_seq_len: 64 }
arm_defaults { flop_budget: 1e12 }
sizes { name: "small" model { d_model: 16 d_ff: 32 } }
sizes { name: "large" budget_scale: 4 }
arms { name: "a" grpo { steps: 50 } }
arms { name: "b" flop_budget: 3e12 sft { steps: 70 } }
)";
  auto replaced = [&](const std::string& from, const std::string& to) {
    std::string out = sweep;
    return out.replace(out.find(from), from.size(), to);
  };
  WriteFileAtomic(dir + "/s.pbtxt", sweep);
  const std::vector<ExperimentConfig> sizes = LoadSizes(dir + "/s.pbtxt");
  ASSERT_EQ(sizes.size(), 2u);
  EXPECT_EQ(sizes[0].arms(0).flop_budget(), 1e12);
  EXPECT_EQ(sizes[0].arms(1).flop_budget(), 3e12);
  EXPECT_EQ(sizes[1].arms(0).flop_budget(), 4e12);
  EXPECT_EQ(sizes[1].arms(1).flop_budget(), 12e12);
  EXPECT_EQ(sizes[1].arms(0).grpo().steps(), 50);
  EXPECT_EQ(sizes[1].arms(1).sft().steps(), 70);
  WriteFileAtomic(dir + "/none.pbtxt", replaced("arm_defaults { flop_budget: 1e12 }", ""));
  try {
    LoadSizes(dir + "/none.pbtxt");
    ADD_FAILURE();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("none.pbtxt: sizes[1].budget_scale: arm 'a' has no flop_budget to scale"),
              std::string::npos) << e.what();
  }
  WriteFileAtomic(dir + "/zero.pbtxt", replaced("budget_scale: 4", "budget_scale: 0"));
  EXPECT_THROW(LoadSizes(dir + "/zero.pbtxt"), ConfigError);

  // `r1lab config` shows each size as written (it merges over the
  // experiment's model and pretraining when it runs), not a default recipe
  // the size never runs, and no tuning where none applies.
  const std::string shown = ConfigToText(LoadExperiment(dir + "/s.pbtxt"));
  EXPECT_NE(shown.find("sizes {\n  name: \"large\"\n  budget_scale: 4\n}"), std::string::npos) << shown;
  EXPECT_EQ(shown.find("tuned {"), std::string::npos) << shown;
}

// task.dataset.verbatim must match the model: on with a tokenizer.json model,
// off with the character vocabulary; the error names the field (in a mix too).
TEST(Config, DatasetVerbatimFollowsTheModelsTokenizer) {
  auto error = [](const std::string& task, const std::string& model) {
    try {
      testing::ParseResolved<ExperimentConfig>("name: \"x\" seeds: 1 task { " + task + " } model { " + model +
                                               " } arms { name: \"a\" sft {} }");
    } catch (const ConfigError& e) {
      return std::string(e.what());
    }
    return std::string("(no error)");
  };
  const std::string hf = "hf_folder: \"m\"", plain = "d_model: 32 n_heads: 2";
  EXPECT_EQ(error("dataset { path: \"d\" verbatim: true }", hf), "(no error)");
  EXPECT_EQ(error("dataset { path: \"d\" }", plain), "(no error)");
  EXPECT_NE(error("dataset { path: \"d\" }", hf).find("task.dataset.verbatim: false rewrites the text"),
            std::string::npos);
  EXPECT_NE(error("dataset { path: \"d\" verbatim: true }", plain).find("task.dataset.verbatim: true keeps text"),
            std::string::npos);
  EXPECT_NE(error("mix { parts { task { arith {} } } parts { task { dataset { path: \"d\" } } } }", hf)
                .find("task.mix.parts[1].task.dataset.verbatim"),
            std::string::npos);
}

// A FLOP budget of inf (or any non-finite number) is not a budget; an
// experiment without arms has nothing to run and says so before writing.
TEST(Config, NonFiniteNumbersAndEmptyExperimentsAreErrors) {
  try {
    LoadExperiment("", {"arms[grpo].flop_budget=inf"});
    ADD_FAILURE();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("flop_budget"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("finite"), std::string::npos) << e.what();
  }
  const ExperimentConfig none = LoadExperiment("", {"arms=[]"});
  const std::string dir = testing::TempDir("no_arms");
  RunnerOptions opt;
  opt.output_dir = dir;
  try {
    RunExperiment(none, opt);
    ADD_FAILURE();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("arms: empty"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(FileExists(dir + "/" + none.name()));
  // More eval problems than the test split: said before pretraining, not after.
  const ExperimentConfig big = LoadExperiment("", {"task.num_test=40", "eval.num_problems=200"});
  try {
    RunExperiment(big, opt);
    ADD_FAILURE();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("eval.num_problems=200 exceeds the task's test split (40"),
              std::string::npos) << e.what();
  }
  EXPECT_FALSE(FileExists(dir + "/.cache"));
}

TEST(Config, HashFollowsContent) {
  ExperimentConfig a = ParseResolved<ExperimentConfig>(kValid), b = a;
  EXPECT_EQ(ConfigHash(a), ConfigHash(b));
  b.mutable_model()->set_d_model(64);
  EXPECT_NE(ConfigHash(a), ConfigHash(b));
  // A field written out at its default value is the same config.
  ExperimentConfig c = ParseResolved<ExperimentConfig>(kValid), d = c;
  d.mutable_task()->mutable_arith()->clear_worded();
  d.mutable_model()->clear_dtype();
  EXPECT_EQ(ConfigHash(c), ConfigHash(d));
  // So is a sub-message present but holding only defaults (what resolution
  // makes of a message field added later).
  ExperimentConfig without = c, with = c;
  without.clear_tune();
  with.mutable_tune()->set_trials(with.tune().trials());
  ASSERT_TRUE(with.has_tune());
  EXPECT_EQ(ConfigHash(without), ConfigHash(with));
  d.mutable_task()->mutable_arith()->set_worded(true);
  EXPECT_NE(ConfigHash(c), ConfigHash(d));
}

// Every committed experiment file loads, and so do its --quick variant and
// a size sweep's sizes.
TEST(Config, EveryCommittedExperimentLoads) {
  int n = 0;
  for (const auto& e : std::filesystem::directory_iterator(std::string(R1LAB_SOURCE_DIR) + "/experiments")) {
    if (e.path().extension() != ".pbtxt") continue;
    const std::string name = e.path().filename().string();
    if (name.size() > 12 && name.compare(name.size() - 12, 12, ".tuned.pbtxt") == 0) continue;  // a tuning, not an experiment
    SCOPED_TRACE(e.path().string());
    // A real-LM experiment names a model folder the user supplies: the tiny fixture stands in.
    std::vector<std::string> overrides;
    if (ReadFile(e.path().string()).find("hf_folder:") != std::string::npos)
      overrides = {"model.hf_folder=" + std::string(R1LAB_SOURCE_DIR) + "/tests/fixtures/hf/qwen2",
                   "model.max_seq_len=128"};
    const ExperimentConfig c = LoadExperiment(e.path().string(), overrides);
    EXPECT_GE(c.arms_size(), 1);
    EXPECT_NO_THROW(QuickVariant(c));
    if (c.sizes_size() > 0) {
      EXPECT_EQ(LoadSizes(e.path().string()).size(), static_cast<size_t>(c.sizes_size()));
    }
    ++n;
  }
  EXPECT_GE(n, 7);
}

// Every case of the Arm.strategy oneof has a strategy registered from its own
// file (a missing registration, or a library linked without its registrars,
// shows here), and an arm without one is refused naming every choice.
TEST(Config, EveryStrategyKindIsRegistered) {
  const auto* oneof = Arm::descriptor()->FindOneofByName("strategy");
  ASSERT_NE(oneof, nullptr);
  for (int i = 0; i < oneof->field_count(); ++i) {
    Arm arm;
    arm.set_name("a");
    arm.GetReflection()->MutableMessage(&arm, oneof->field(i));
    EXPECT_NO_THROW(MakeStrategy(arm)) << oneof->field(i)->name();
  }
  try {
    ParseResolved<ExperimentConfig>("name: \"x\" seeds: 1 task { arith {} } arms { name: \"a\" }");
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    for (int i = 0; i < oneof->field_count(); ++i)
      EXPECT_NE(std::string(e.what()).find(oneof->field(i)->name()), std::string::npos) << e.what();
  }
}

// --set on the command's config: applied before arm_defaults and defaults.
TEST(Config, OverridesApplyBeforeArmDefaults) {
  const std::string path = std::string(R1LAB_SOURCE_DIR) + "/experiments/r1_zero_vs_failures.pbtxt";
  const ExperimentConfig c = LoadExperiment(path, {"arm_defaults.flop_budget=3e12", "arms[grpo].grpo.optim.lr=3e-4"});
  for (const Arm& a : c.arms()) EXPECT_DOUBLE_EQ(a.flop_budget(), 3e12) << a.name();
  EXPECT_DOUBLE_EQ(c.arms(0).grpo().optim().lr(), 3e-4);
  EXPECT_DOUBLE_EQ(c.arms(1).ppo().optim().lr(), 1e-4);
  EXPECT_THROW(LoadExperiment(path, {"arms[grpo].grpo.minibatches=100000"}), ConfigError)
      << "overridden values are validated like the file's";
}

// The tuning table marks a chosen value at an end of a grid of three or
// more (the optimum may lie beyond it), and only then adds the caveat; a
// value with nothing beyond it is marked so, without the caveat.
TEST(Config, TuningTableMarksAChoiceAtTheEdgeOfItsGrid) {
  ExperimentConfig cfg;
  Arm& arm = *cfg.add_arms();
  arm.set_name("grpo");
  TuneRecord::TunedArm& t = *cfg.mutable_tuned()->add_arms();
  t.set_arm("grpo");
  TuneParam& lr = *t.add_space();
  lr.set_path("grpo.optim.lr");
  for (double v : {1e-5, 3e-5, 1e-4}) lr.add_values(v);
  TuneParam& kl = *t.add_space();
  kl.set_path("grpo.kl_coef");
  for (double v : {0.001, 0.1}) kl.add_values(v);
  for (const auto& [a, b] : std::vector<std::pair<double, double>>{{1e-4, 0.001}, {3e-5, 0.1}, {1e-5, 0.001}}) {
    TuneRecord::Trial& trial = *t.add_trials();
    trial.add_values(a);
    trial.add_values(b);
  }
  const std::string caveat = "the optimum can lie beyond the values tried";
  t.set_chosen(1);  // inside the lr grid; kl's grid has two values, never marked
  std::string md = TuningSection(cfg);
  EXPECT_NE(md.find("| optim.lr 3e-05, kl_coef 0.1 |"), std::string::npos) << md;
  EXPECT_EQ(md.find(caveat), std::string::npos) << md;
  t.set_chosen(2);
  md = TuningSection(cfg);
  EXPECT_NE(md.find("| optim.lr 1e-05 (lowest of 3), kl_coef 0.001 |"), std::string::npos) << md;
  EXPECT_NE(md.find(caveat), std::string::npos) << md;
  t.set_chosen(0);
  EXPECT_NE(TuningSection(cfg).find("as configured (optim.lr 0.0001 (highest of 3), kl_coef 0.001)"), std::string::npos);
  // An edge trial's value past a grid of ratio 3 (1e-4 / 3) shows to three digits.
  lr.add_values(1e-4 / 3);
  TuneRecord::Trial& edge = *t.add_trials();
  edge.add_values(1e-4 / 3);
  edge.add_values(0.001);
  t.set_chosen(3);
  EXPECT_NE(TuningSection(cfg).find("| optim.lr 3.33e-05, kl_coef 0.001 |"), std::string::npos) << TuningSection(cfg);
  // A KL coefficient of 0 at its grid's end has nothing below it: marked so, without the caveat.
  kl.clear_values();
  for (double v : {0.0, 0.001, 0.01}) kl.add_values(v);
  TuneRecord::Trial& zero = *t.add_trials();
  zero.add_values(3e-5);
  zero.add_values(0);
  t.set_chosen(4);
  md = TuningSection(cfg);
  EXPECT_NE(md.find("| optim.lr 3e-05, kl_coef 0 (lowest of 3, none below) |"), std::string::npos) << md;
  EXPECT_EQ(md.find(caveat), std::string::npos) << md;
}

// A tuning file beside an experiment is checked before its values are used:
// a file with no tuning, another experiment's, a trial short of values, a
// chosen value its space does not list, and a chosen value out of range are
// each an error naming the tuning's file.
TEST(Config, ATuningFileThatDoesNotFitItsExperimentIsAnError) {
  const std::string dir = testing::TempDir("tuned_file");
  const std::string path = dir + "/t.pbtxt";
  WriteFileAtomic(path, "name: \"t\" seeds: 1 task { arith {} } arms { name: \"g\" grpo { optim { lr: 1e-4 } } }\n");
  const ExperimentConfig untuned = LoadExperiment(path, {}, false);
  const std::string identity = TunedArmIdentity(untuned, untuned.arms(0));
  auto record = [&](const std::string& experiment, const std::string& chosen_values) {
    return "experiment: \"" + experiment + "\" arms { arm: \"g\" identity: \"" + identity +
           "\" space { path: \"grpo.optim.lr\" values: [1e-4, 3e-4] } trials { values: 1e-4 } trials { " +
           chosen_values + " } chosen: 1 }\n";
  };
  auto error = [&](const std::string& tuned) {
    WriteFileAtomic(dir + "/t.tuned.pbtxt", tuned);
    try {
      LoadExperiment(path, {}, true);
    } catch (const ConfigError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(error(record("t", "values: 3e-4")), "no error");
  EXPECT_EQ(LoadExperiment(path, {}, true).arms(0).grpo().optim().lr(), 3e-4);
  const std::string file = dir + "/t.tuned.pbtxt: ";
  EXPECT_NE(error("# nothing\n").find(file + "holds no tuning"), std::string::npos) << error("# nothing\n");
  EXPECT_NE(error("").find(file + "holds no tuning"), std::string::npos) << error("");
  EXPECT_NE(error(record("other", "values: 3e-4")).find(file + "experiment: \"other\" is another experiment's tuning"),
            std::string::npos)
      << error(record("other", "values: 3e-4"));
  EXPECT_NE(error(record("t", "")).find(file + "arm 'g': trial 1 has 0 values; expected one per parameter (1)"),
            std::string::npos)
      << error(record("t", ""));
  EXPECT_NE(error(record("t", "values: 0.5")).find(file + "arm 'g': the chosen trial's grpo.optim.lr 0.5 is neither a value its space lists"),
            std::string::npos)
      << error(record("t", "values: 0.5"));
  // Trial 0, the arm as configured, may lie off the grid and be chosen.
  std::string configured = record("t", "values: 3e-4");
  configured.replace(configured.find("trials { values: 1e-4 }"), 23, "trials { values: 5e-5 }");
  configured.replace(configured.find("chosen: 1"), 9, "chosen: 0");
  EXPECT_EQ(error(configured), "no error");
  EXPECT_EQ(LoadExperiment(path, {}, true).arms(0).grpo().optim().lr(), 5e-5);
  std::string negative = record("t", "values: -5");
  negative.replace(negative.find("3e-4]"), 4, "-5");
  EXPECT_NE(error(negative).find(file + "arms[0].grpo.optim.lr: -5"), std::string::npos) << error(negative);
}

// A value out of range that came from --set names the file and the overrides.
TEST(Config, AnOverrideOutOfRangeNamesTheOverride) {
  const std::string dir = testing::TempDir("override_range");
  const std::string path = dir + "/t.pbtxt";
  WriteFileAtomic(path, "name: \"t\" seeds: 1 task { arith {} } arms { name: \"g\" grpo { optim { lr: 1e-4 } } }\n");
  try {
    LoadExperiment(path, {"seeds=[2]", "arms[g].grpo.optim.lr=-1"}, false);
    ADD_FAILURE() << "a negative learning rate was accepted";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find(path + " with --set seeds=[2] --set arms[g].grpo.optim.lr=-1: "
                                         "arms[0].grpo.optim.lr: -1"),
              std::string::npos)
        << e.what();
  }
}

// A tuning applies to what it was tuned on: in `run` (strict), --set may
// change a tuned value (it wins), but not the task, model or pretraining
// under it, as the same edit in the file may not.
TEST(Config, OverridesThatChangeWhatWasTunedAreRefused) {
  const std::string dir = testing::TempDir("override_tuned");
  const std::string path = dir + "/t.pbtxt";
  WriteFileAtomic(path, "name: \"t\" seeds: 1 task { arith {} } arms { name: \"g\" grpo { optim { lr: 1e-4 } } }\n");
  const ExperimentConfig untuned = LoadExperiment(path, {}, false);
  WriteFileAtomic(dir + "/t.tuned.pbtxt", "experiment: \"t\" arms { arm: \"g\" identity: \"" +
                                              TunedArmIdentity(untuned, untuned.arms(0)) +
                                              "\" space { path: \"grpo.optim.lr\" values: [1e-4, 3e-4] } "
                                              "trials { values: 1e-4 } trials { values: 3e-4 } chosen: 1 }\n");
  EXPECT_EQ(LoadExperiment(path, {"arms[g].grpo.optim.lr=1e-3"}, true, true).arms(0).grpo().optim().lr(), 1e-3);
  EXPECT_EQ(LoadExperiment(path, {"seeds=[2]"}, true, true).arms(0).grpo().optim().lr(), 3e-4);
  for (const std::string set : {"model.d_model=64", "task.arith.max_ops=5", "pretrain.steps=10"}) {
    // Commands that use only the task and model (pretrain, search, config) warn instead.
    EXPECT_NO_THROW(LoadExperiment(path, {set}, true, /*strict=*/false)) << set;
    try {
      LoadExperiment(path, {set}, true, /*strict=*/true);
      ADD_FAILURE() << set << " was accepted under the tuning";
    } catch (const ConfigError& e) {
      EXPECT_NE(std::string(e.what()).find("the overrides change the task, model or pretraining that " + dir +
                                           "/t.tuned.pbtxt was tuned on"),
                std::string::npos)
          << e.what();
    }
    EXPECT_NO_THROW(LoadExperiment(path, {set}, false)) << set << " --untuned";
  }
}

}  // namespace
}  // namespace r1lab

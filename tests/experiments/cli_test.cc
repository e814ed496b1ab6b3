// The r1lab binary, as a user runs it: exit codes and messages on bad input,
// and a tiny experiment end to end.
#include <gtest/gtest.h>
#include <sys/file.h>
#include <fcntl.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <sstream>
#include <tuple>

#include "checkpoint.h"
#include "config.h"
#include "io.h"
#include "json.h"
#include "records.h"
#include "report.h"
#include "test_util.h"
#include "text.h"
#include "hf_tokenizer.h"
#include "llama.h"
#include "safetensors.h"
#include "tokenizer.h"
#include "tune.h"
#include "transformer.h"
#include "task.h"
#include "runner.h"

namespace r1lab {
namespace {

struct Result {
  int code;
  std::string out;  // stdout + stderr
};

Result RunCli(const std::string& args) {
  const std::string log = testing::TempDir("cli_log") + "/out.txt";
  const int rc = std::system((std::string(R1LAB_BINARY) + " " + args + " > " + log + " 2>&1").c_str());
  return {WEXITSTATUS(rc), ReadFile(log)};
}

constexpr const char* kTiny = R"(
name: "tiny"
threads: 1
seeds: [1, 2]
task { arith { min_ops: 1 max_ops: 2 } num_test: 40 }
model { d_model: 32 n_layers: 1 n_heads: 2 d_ff: 64 max_seq_len: 64 }
pretrain { steps: 20 batch_size: 8 log_every: 10 }
eval { num_problems: 10 samples_per_problem: 2 eval_every: 5 sampling { max_new_tokens: 30 } }
arms { name: "sft" sft { steps: 10 batch_size: 8 log_every: 5 } }
arms { name: "budget" flop_budget: 2e9 sft { steps: 1000 batch_size: 8 log_every: 1 } }
)";

std::string Replace(std::string s, const std::string& from, const std::string& to) {
  const size_t p = s.find(from);
  EXPECT_NE(p, std::string::npos) << from;
  return s.replace(p, from.size(), to);
}

// kTiny with one seed and only its sft arm.
std::string TinySftOneSeed() {
  const std::string cfg = Replace(kTiny, "seeds: [1, 2]", "seeds: [1]");
  return cfg.substr(0, cfg.find("arms { name: \"budget\""));
}

TEST(Cli, MalformedConfigNamesFileLineAndField) {
  const std::string dir = testing::TempDir("cli_bad");
  WriteFileAtomic(dir + "/bad.pbtxt", std::string(kTiny) + "dmodel: 3\n");
  Result r = RunCli("run " + dir + "/bad.pbtxt --out " + dir);
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("bad.pbtxt:11:7:"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("dmodel"), std::string::npos) << r.out;
  WriteFileAtomic(dir + "/range.pbtxt", Replace(kTiny, "samples_per_problem: 2", "samples_per_problem: 0"));
  r = RunCli("run " + dir + "/range.pbtxt --out " + dir);
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("eval.samples_per_problem: 0 is out of range"), std::string::npos) << r.out;
  EXPECT_FALSE(std::filesystem::exists(dir + "/tiny"));
  r = RunCli("run " + dir + "/missing.pbtxt");
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("missing.pbtxt"), std::string::npos) << r.out;
}

TEST(Cli, EmptyDatasetIsRefused) {
  const std::string dir = testing::TempDir("cli_empty");
  WriteFileAtomic(dir + "/c.pbtxt", Replace(kTiny, "min_ops: 1 max_ops: 2", "min_ops: 1 max_ops: 1 max_operand: 2"));
  const Result r = RunCli("run " + dir + "/c.pbtxt --out " + dir);
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("task.num_test"), std::string::npos) << r.out;
}

TEST(Cli, MissingCorruptCheckpointAndUnknownSpecialToken) {
  const std::string dir = testing::TempDir("cli_ckpt");
  Result r = RunCli("eval " + dir + "/none.pt");
  EXPECT_EQ(r.code, 3) << r.out;
  EXPECT_NE(r.out.find("none.pt: checkpoint not found"), std::string::npos) << r.out;
  WriteFileAtomic(dir + "/junk.pt", "not a checkpoint");
  r = RunCli("sample " + dir + "/junk.pt --prompt 1+2");
  EXPECT_EQ(r.code, 3) << r.out;
  Transformer m = MakeModel(testing::TinyModel(), Tokenizer::Get().vocab_size());
  SaveCheckpoint(dir + "/m.pt", m, nullptr, {});
  r = RunCli("sample " + dir + "/m.pt --prompt '1+2<think2>' --n 1");
  EXPECT_EQ(r.code, 4) << r.out;
  EXPECT_NE(r.out.find("unknown special token '<think2>'"), std::string::npos) << r.out;
  r = RunCli("sample " + dir + "/m.pt --prompt '1+2' --n 2 --max-new 5");
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("sample 1"), std::string::npos) << r.out;
  for (const char* bad : {"abc", "nan", "inf", "1x", "-1"}) {
    r = RunCli("sample " + dir + "/m.pt --prompt '1+2' --n 1 --temperature " + bad);
    EXPECT_EQ(r.code, 2) << bad << ": " << r.out;
    EXPECT_NE(r.out.find("--temperature: '" + std::string(bad) + "' is not a number in [0, 100]"), std::string::npos)
        << r.out;
  }
}

// --set reaches the resolved config of the commands that read one, and is an
// unknown flag elsewhere rather than silently ignored.
TEST(Cli, SetOverridesTheConfigOfCommandsThatReadOne) {
  const Result c = RunCli("config --set seeds=[5] --set arms[grpo].grpo.optim.lr=3e-4");
  ASSERT_EQ(c.code, 0) << c.out;
  EXPECT_NE(c.out.find("seeds: 5\n"), std::string::npos) << c.out;
  EXPECT_NE(c.out.find("lr: 0.0003"), std::string::npos) << c.out;
  const Result bad = RunCli("config --set arms[nope].grpo.steps=3");
  EXPECT_EQ(bad.code, 2) << bad.out;
  EXPECT_NE(bad.out.find("no arms entry named 'nope'"), std::string::npos) << bad.out;
  const Result report = RunCli("report /nonexistent --set seeds=[5]");
  EXPECT_EQ(report.code, 2) << report.out;
  EXPECT_NE(report.out.find("unknown flag --set"), std::string::npos) << report.out;
}

TEST(Cli, UnwritableOutputDirectory) {
  const std::string dir = testing::TempDir("cli_unwritable");
  WriteFileAtomic(dir + "/c.pbtxt", kTiny);
  WriteFileAtomic(dir + "/file", "x");
  const Result r = RunCli("run " + dir + "/c.pbtxt --out " + dir + "/file/sub");
  EXPECT_EQ(r.code, 3) << r.out;
  EXPECT_NE(r.out.find("file/sub"), std::string::npos) << r.out;
}

// A one-arm experiment `name` for the tune tests: one-operation arith from a
// 20-step base, then `tune` and `arms` as given.
std::string TinyTuneConfig(const std::string& name, const std::string& tune, const std::string& arms) {
  return "name: \"" + name + R"(" threads: 1 seeds: [1]
task { arith { min_ops: 1 max_ops: 1 max_operand: 9 } num_test: 40 num_validation: 40 }
model { d_model: 32 n_layers: 1 n_heads: 2 d_ff: 64 max_seq_len: 48 }
pretrain { steps: 20 batch_size: 8 log_every: 10 }
eval { num_problems: 30 samples_per_problem: 4 eval_every: 1000 sampling { max_new_tokens: 30 } }
)" + tune + "\n" + arms + "\n";
}

// `r1lab tune` on dir/t.pbtxt into dir/out; its tuned file's only arm.
TuneRecord::TunedArm TuneTheOneArm(const std::string& dir) {
  const Result tuned = RunCli("tune " + dir + "/t.pbtxt --out " + dir + "/out");
  EXPECT_EQ(tuned.code, 0) << tuned.out;
  TuneRecord rec;
  LoadConfigFile(dir + "/t.tuned.pbtxt", &rec);
  EXPECT_EQ(rec.arms_size(), 1);
  return rec.arms_size() == 1 ? rec.arms(0) : TuneRecord::TunedArm();
}

// `r1lab tune` on a planted space: a learning rate too small to learn
// anything (as configured) against one that learns. It picks the one that
// learns, by validation pass@1; `run` then uses it and says so in the
// summary, --untuned does not, and a tuning made for another arm is refused.
TEST(Cli, TunePicksThePlantedBestValueOnValidationAndRunUsesIt) {
  const std::string dir = testing::TempDir("cli_tune");
  const std::string cfg = TinyTuneConfig(
      "tiny_tune",
      R"(tune { trials: 2 budget_scale: 1 spaces { arm: "sft" params { path: "sft.optim.lr" values: [1e-6, 3e-3] } } })",
      R"(arms { name: "sft" sft { steps: 1000 batch_size: 32 log_every: 500 optim { lr: 1e-6 warmup_steps: 10 } } })");
  WriteFileAtomic(dir + "/t.pbtxt", cfg);
  const TuneRecord::TunedArm arm = TuneTheOneArm(dir);
  ASSERT_EQ(arm.trials_size(), 2);
  EXPECT_EQ(arm.trials(0).values(0), 1e-6);  // trial 0: as configured
  EXPECT_EQ(arm.chosen(), 1);
  EXPECT_EQ(arm.trials(1).values(0), 3e-3);
  EXPECT_GT(arm.trials(1).validation_pass1(), arm.trials(0).validation_pass1());
  // The trials read the validation split only.
  EXPECT_NE(ReadFile(dir + "/out/tiny_tune-tune/runs/sft-t1/seed-1/eval.json").find("\"split\":\"validation\""),
            std::string::npos);
  EXPECT_NE(ReadFile(dir + "/out/tiny_tune-tune/base/eval.json").find("\"split\":\"validation\""), std::string::npos);
  EXPECT_EQ(RunCli("rescore " + dir + "/out/tiny_tune-tune").code, 0);

  const Result run = RunCli("run " + dir + "/t.pbtxt --out " + dir + "/out");
  ASSERT_EQ(run.code, 0) << run.out;
  EXPECT_NE(run.out.find("the values r1lab tune chose, from " + dir + "/t.tuned.pbtxt"), std::string::npos) << run.out;
  EXPECT_NE(ReadFile(dir + "/out/tiny_tune/runs/sft/seed-1/run_config.pbtxt").find("lr: 0.003"), std::string::npos);
  const std::string summary = ReadFile(dir + "/out/tiny_tune/summary.md");
  EXPECT_NE(summary.find("## Tuning (r1lab tune, validation split)"), std::string::npos) << summary;
  EXPECT_NE(summary.find("| sft | 2 | no budget: steps x 1 | "), std::string::npos) << summary;
  EXPECT_NE(summary.find("| optim.lr 0.003 |"), std::string::npos) << summary;

  const Result untuned = RunCli("run " + dir + "/t.pbtxt --untuned --out " + dir + "/untuned");
  ASSERT_EQ(untuned.code, 0) << untuned.out;
  EXPECT_NE(ReadFile(dir + "/untuned/tiny_tune/runs/sft/seed-1/run_config.pbtxt").find("lr: 1e-06"), std::string::npos);
  EXPECT_EQ(ReadFile(dir + "/untuned/tiny_tune/summary.md").find("## Tuning"), std::string::npos);

  WriteFileAtomic(dir + "/t.pbtxt", Replace(cfg, "steps: 1000", "steps: 999"));
  const Result stale = RunCli("run " + dir + "/t.pbtxt --out " + dir + "/stale");
  EXPECT_EQ(stale.code, 2) << stale.out;
  EXPECT_NE(stale.out.find("t.tuned.pbtxt: arm 'sft' was tuned as another config"), std::string::npos) << stale.out;

  // A damaged record is refused, naming the file and what is wrong: an arm
  // twice (the later would win), a score out of range, a value not finite.
  WriteFileAtomic(dir + "/t.pbtxt", cfg);
  const std::string tuned = ReadFile(dir + "/t.tuned.pbtxt");
  auto refused = [&](const std::string& text) {
    WriteFileAtomic(dir + "/t.tuned.pbtxt", text);
    const Result r = RunCli("config " + dir + "/t.pbtxt");
    EXPECT_EQ(r.code, 2) << r.out;
    return r.out;
  };
  const size_t arm_at = tuned.find("arms {");
  const std::string arm_record = tuned.substr(arm_at, tuned.find("\n}\n", arm_at) + 3 - arm_at);
  EXPECT_NE(refused(tuned + arm_record).find("t.tuned.pbtxt: arm 'sft' has two records; "
                                                                     "expected one record per arm"),
            std::string::npos);
  EXPECT_NE(refused(Replace(tuned, "validation_pass1: ", "validation_pass1: 7 #"))
                .find("t.tuned.pbtxt: arm 'sft': trial 0's validation_pass1 7; expected a share within [0, 1]"),
            std::string::npos);
  EXPECT_NE(refused(Replace(tuned, "values: ", "values: nan #")).find("t.tuned.pbtxt: arm 'sft': space sft.optim.lr lists nan"),
            std::string::npos);
  EXPECT_NE(refused(Replace(tuned, "budget_scale: ", "budget_scale: -3 #")).find("budget_scale: -3; expected a positive number"),
            std::string::npos);
  WriteFileAtomic(dir + "/t.tuned.pbtxt", tuned);
  EXPECT_EQ(RunCli("config " + dir + "/t.pbtxt").code, 0);
}

// `tune --nproc 2` (issue #20's ranks for tuning): the ranks share each
// round's trials, the pretraining trials too, and write what one process
// writes: the same tuned file, the same trial folders.
TEST(Cli, TwoRanksTuneAsOneProcessDoes) {
  const std::string dir = testing::TempDir("cli_tune_ranks");
  WriteFileAtomic(dir + "/t.pbtxt",
                  TinyTuneConfig("tiny_ranks",
                                 R"(tune { trials: 3 edge_trials: 1
  pretrain { path: "pretrain.optim.lr" values: [1e-3, 3e-3] }
  spaces { arm: "sft" params { path: "sft.optim.lr" values: [1e-4, 1e-3, 3e-3] } } })",
                                 R"(arms { name: "sft" sft { steps: 40 batch_size: 8 log_every: 20 optim { lr: 1e-4 } } })"));
  const Result one = RunCli("tune " + dir + "/t.pbtxt --out " + dir + "/one");
  ASSERT_EQ(one.code, 0) << one.out;
  const std::string tuned_one = ReadFile(dir + "/t.tuned.pbtxt");
  const Result two = RunCli("tune " + dir + "/t.pbtxt --out " + dir + "/two --nproc 2");
  ASSERT_EQ(two.code, 0) << two.out;
  EXPECT_EQ(ReadFile(dir + "/t.tuned.pbtxt"), tuned_one);
  EXPECT_NE(two.out.find("rank 1 sft-t1 seed 1"), std::string::npos) << "rank 1 ran trials\n" << two.out;
  TuneRecord rec;
  LoadConfigFile(dir + "/t.tuned.pbtxt", &rec);
  ASSERT_EQ(rec.pretrain().trials_size(), 2);
  ASSERT_GE(rec.arms(0).trials_size(), 3);
  for (int k = 0; k < 2; ++k) {
    const std::string p = "/tiny_ranks-tune/pretrain/p" + std::to_string(k) + "/samples.jsonl.xz";
    EXPECT_EQ(ReadFile(dir + "/two" + p), ReadFile(dir + "/one" + p)) << p;
  }
  for (int k = 0; k < rec.arms(0).trials_size(); ++k) {
    const std::string run = "/tiny_ranks-tune/runs/sft-t" + std::to_string(k) + "/seed-1";
    EXPECT_EQ(ReadFile(dir + "/two" + run + "/samples.jsonl.xz"), ReadFile(dir + "/one" + run + "/samples.jsonl.xz")) << run;
  }
}

// tune.edge_trials on a planted space whose grid [1e-5, 1e-4] lies below the
// learning rates that learn in 1000 steps (1e-3 and 3e-3 score 10% and 12%
// on this machine, 1e-4 1%, 1e-5 nothing): the two trials past the grid's
// top follow the optimum out (1e-3, then 1e-2), the grid shown grows by
// them, `run` uses the value found, and a record whose scores would have
// led elsewhere is not current.
TEST(Cli, TuneEdgeTrialsFollowAnOptimumPastTheGrid) {
  const std::string dir = testing::TempDir("cli_tune_edge");
  const std::string cfg = TinyTuneConfig(
      "tiny_edge",
      R"(tune { trials: 2 edge_trials: 2 spaces { arm: "sft" params { path: "sft.optim.lr" values: [1e-5, 1e-4] } } })",
      R"(arms { name: "sft" sft { steps: 1000 batch_size: 32 log_every: 500 optim { lr: 1e-4 warmup_steps: 10 } } })");
  WriteFileAtomic(dir + "/t.pbtxt", cfg);
  const TuneRecord::TunedArm arm = TuneTheOneArm(dir);
  ASSERT_EQ(arm.trials_size(), 4);
  const std::vector<double> want = {1e-4, 1e-5, 1e-3, 1e-2};  // as configured, the grid, then past its top
  for (int k = 0; k < 4; ++k) EXPECT_EQ(arm.trials(k).values(0), want[static_cast<size_t>(k)]) << k;
  EXPECT_GE(arm.chosen(), 2);
  const double found = arm.trials(arm.chosen()).validation_pass1();
  EXPECT_GT(found, std::max(arm.trials(0).validation_pass1(), arm.trials(1).validation_pass1()) + 0.05);
  ASSERT_EQ(arm.space(0).values_size(), 4);
  EXPECT_EQ(arm.space(0).values(3), 1e-2);
  const ExperimentConfig untuned = LoadExperiment(dir + "/t.pbtxt", {}, /*tuned=*/false);
  TuneRecord rec;
  LoadConfigFile(dir + "/t.tuned.pbtxt", &rec);
  EXPECT_TRUE(TuningIsCurrent(untuned, rec));
  TuneRecord other = rec;  // had 1e-3 scored nothing, 1e-2 would not have been tried
  other.mutable_arms(0)->mutable_trials(2)->set_validation_pass1(0);
  EXPECT_FALSE(TuningIsCurrent(untuned, other));

  const Result run = RunCli("run " + dir + "/t.pbtxt --out " + dir + "/out");
  ASSERT_EQ(run.code, 0) << run.out;
  const std::string lr = JsonNumber(want[static_cast<size_t>(arm.chosen())]);
  EXPECT_NE(ReadFile(dir + "/out/tiny_edge/runs/sft/seed-1/run_config.pbtxt").find("lr: " + lr), std::string::npos);
  const std::string summary = ReadFile(dir + "/out/tiny_edge/summary.md");
  EXPECT_NE(summary.find("| optim.lr " + lr), std::string::npos) << summary;
  EXPECT_NE(summary.find("then 2 more one at a time past the grid's end"), std::string::npos) << summary;

  WriteFileAtomic(dir + "/t.pbtxt", Replace(cfg, "edge_trials: 2", "edge_trials: -1"));
  const Result bad = RunCli("tune " + dir + "/t.pbtxt --out " + dir + "/out");
  EXPECT_EQ(bad.code, 2) << bad.out;
  EXPECT_NE(bad.out.find("edge_trials"), std::string::npos) << bad.out;
}

// tune.pretrain: a planted pretraining space (a learning rate too small to
// learn the format, as configured, against one that learns). The tune picks
// the base that scores on validation, tunes the arm from it, and `run`
// pretrains (finds cached) that base and says so; a changed pretraining
// makes the tuning stale, and rescore checks the pretraining trials.
TEST(Cli, TuneChoosesThePretrainingByItsBasesValidationScore) {
  const std::string dir = testing::TempDir("cli_tune_pretrain");
  const std::string cfg = R"(
name: "tiny_pre"
threads: 1
seeds: [1]
task { arith { min_ops: 1 max_ops: 1 max_operand: 9 } num_test: 40 num_validation: 40 }
model { d_model: 32 n_layers: 1 n_heads: 2 d_ff: 64 max_seq_len: 48 }
pretrain { steps: 400 batch_size: 16 log_every: 200 optim { lr: 1e-5 warmup_steps: 10 } }
eval { num_problems: 30 samples_per_problem: 4 eval_every: 1000 sampling { max_new_tokens: 30 } }
tune {
  trials: 3
  pretrain { path: "pretrain.optim.lr" values: [1e-5, 3e-3] }
  spaces { arm: "sft" params { path: "sft.optim.lr" values: [1e-3] } }
}
arms { name: "sft" sft { steps: 5 batch_size: 8 log_every: 5 } }
)";
  // A value out of range in a later pretraining trial stops the tuning before the first trial pretrains.
  WriteFileAtomic(dir + "/bad.pbtxt", Replace(cfg, "values: [1e-5, 3e-3]", "values: [1e-5, 3e-3, 100]"));
  const Result bad = RunCli("tune " + dir + "/bad.pbtxt --out " + dir + "/bad");
  EXPECT_EQ(bad.code, 2) << bad.out;
  EXPECT_NE(bad.out.find("pretrain.optim.lr: 100 is out of range"), std::string::npos) << bad.out;
  EXPECT_EQ(bad.out.find("pretrain base"), std::string::npos) << "nothing pretrained first: " << bad.out;
  WriteFileAtomic(dir + "/t.pbtxt", cfg);
  const Result tuned = RunCli("tune " + dir + "/t.pbtxt --out " + dir + "/out");
  ASSERT_EQ(tuned.code, 0) << tuned.out;
  TuneRecord rec;
  LoadConfigFile(dir + "/t.tuned.pbtxt", &rec);
  ASSERT_TRUE(rec.has_pretrain());
  const TuneRecord::TunedPretrain& pre = rec.pretrain();
  ASSERT_EQ(pre.trials_size(), 2);  // the whole grid: fewer points than trials
  EXPECT_EQ(pre.trials(0).values(0), 1e-5);
  EXPECT_EQ(pre.trials(1).values(0), 3e-3);
  EXPECT_EQ(pre.chosen(), 1);
  EXPECT_EQ(pre.trials(0).validation_pass1(), 0);
  EXPECT_GT(pre.trials(1).validation_pass1(), 0);
  EXPECT_GT(pre.trials(1).flops(), 0);
  const std::string tune_dir = dir + "/out/tiny_pre-tune";
  EXPECT_NE(ReadFile(tune_dir + "/pretrain/p0/eval.json").find("\"split\":\"validation\""), std::string::npos);
  DoneRecord p1, tune_base;
  RecordFromJson(ReadFile(tune_dir + "/pretrain/p1/done.json"), "p1", &p1);
  RecordFromJson(ReadFile(tune_dir + "/base/done.json"), "tune base", &tune_base);
  EXPECT_EQ(tune_base.base(), p1.base());  // the arm's trials start from the chosen base
  EXPECT_TRUE(TuningIsCurrent(LoadExperiment(dir + "/t.pbtxt", {}, /*tuned=*/false), rec));
  const Result rescored = RunCli("rescore " + tune_dir);
  EXPECT_EQ(rescored.code, 0) << rescored.out;
  EXPECT_NE(rescored.out.find("pretrain/p1: 120 samples rescored, eval.json reproduced"), std::string::npos)
      << rescored.out;

  const Result run = RunCli("run " + dir + "/t.pbtxt --out " + dir + "/out");
  ASSERT_EQ(run.code, 0) << run.out;
  DoneRecord base;
  RecordFromJson(ReadFile(dir + "/out/tiny_pre/base/done.json"), "base", &base);
  EXPECT_EQ(base.base(), p1.base());
  EXPECT_EQ(base.checkpoint(), p1.checkpoint());  // found in the cache, not pretrained again
  const std::string summary = ReadFile(dir + "/out/tiny_pre/summary.md");
  EXPECT_NE(summary.find("| p1, chosen | optim.lr 0.003 | "), std::string::npos) << summary;
  EXPECT_NE(summary.find("| p0, as configured | optim.lr 1e-05 | 0.0% | "), std::string::npos) << summary;

  WriteFileAtomic(dir + "/t.pbtxt", Replace(cfg, "steps: 400", "steps: 300"));
  EXPECT_FALSE(TuningIsCurrent(LoadExperiment(dir + "/t.pbtxt", {}, /*tuned=*/false), rec));
  const Result stale = RunCli("run " + dir + "/t.pbtxt --out " + dir + "/stale");
  EXPECT_EQ(stale.code, 2) << stale.out;
  EXPECT_NE(stale.out.find("t.tuned.pbtxt: the pretraining was tuned for another config"), std::string::npos)
      << stale.out;
}

// budgets: each arm run once per multiplier of its budget, each run stopping
// at its own budget; summary.md and a plot give pass@1 against FLOPs.
TEST(Cli, BudgetCurveRunsEachArmAtEachBudget) {
  const std::string dir = testing::TempDir("cli_budgets");
  std::string cfg = Replace(kTiny, "seeds: [1, 2]", "seeds: [1]\nbudgets: [0.5, 2]");
  cfg = Replace(cfg, "arms { name: \"sft\" sft { steps: 10 batch_size: 8 log_every: 5 } }\n", "");
  WriteFileAtomic(dir + "/c.pbtxt", cfg);
  const Result r = RunCli("run " + dir + "/c.pbtxt --out " + dir);
  ASSERT_EQ(r.code, 0) << r.out;
  const std::string exp = dir + "/tiny";
  for (const auto& [arm, budget] : std::vector<std::pair<std::string, double>>{{"budget-x0.5", 1e9}, {"budget-x2", 4e9}}) {
    DoneRecord done;
    RecordFromJson(ReadFile(exp + "/runs/" + arm + "/seed-1/done.json"), arm, &done);
    EXPECT_EQ(done.flop_budget(), budget) << arm;
    EXPECT_GE(done.flops(), budget) << arm;
    EXPECT_LT(done.flops(), 1.2 * budget) << arm;
  }
  const std::string summary = ReadFile(exp + "/summary.md");
  EXPECT_NE(summary.find("## Budget curves: held-out pass@1 against FLOPs\n\n| arm | 0.5x | 2x |"), std::string::npos)
      << summary;
  EXPECT_NE(summary.find("| budget | "), std::string::npos) << summary;
  EXPECT_NE(summary.find("| budget-x2 | 1 |"), std::string::npos) << summary;
  EXPECT_TRUE(FileExists(exp + "/plots/pass1_vs_budget.svg"));
  EXPECT_NE(ReadFile(exp + "/config.pbtxt").find("budgets: 0.5"), std::string::npos);
  const Result rescored = RunCli("rescore " + exp);
  EXPECT_EQ(rescored.code, 0) << rescored.out;
  EXPECT_NE(rescored.out.find("runs/budget-x2/seed-1: 20 samples rescored"), std::string::npos) << rescored.out;
}

// base_seeds: each base pretrained from its own seed, evaluated in
// base-<b>/, and every arm run from each; rescore walks the same layout.
TEST(Cli, BaseSeedsPretrainOneBaseEachAndRunEveryArmFromEach) {
  const std::string dir = testing::TempDir("cli_bases");
  std::string cfg = Replace(kTiny, "seeds: [1, 2]", "seeds: [1]\nbase_seeds: [3, 4]");
  cfg = cfg.substr(0, cfg.find("arms { name: \"budget\""));
  WriteFileAtomic(dir + "/c.pbtxt", cfg);
  const Result r = RunCli("run " + dir + "/c.pbtxt --out " + dir);
  ASSERT_EQ(r.code, 0) << r.out;
  const std::string exp = dir + "/tiny";
  for (const char* f : {"/base-3/eval.json", "/base-4/samples.jsonl.xz", "/runs/sft/base-3/seed-1/done.json",
                        "/runs/sft/base-4/seed-1/eval.json"})
    EXPECT_TRUE(FileExists(exp + f)) << f;
  EXPECT_FALSE(FileExists(exp + "/base/eval.json"));
  DoneRecord b3, b4, run4;
  RecordFromJson(ReadFile(exp + "/base-3/done.json"), "base-3", &b3);
  RecordFromJson(ReadFile(exp + "/base-4/done.json"), "base-4", &b4);
  RecordFromJson(ReadFile(exp + "/runs/sft/base-4/seed-1/done.json"), "run", &run4);
  EXPECT_NE(b3.base(), b4.base());  // two different base checkpoints
  EXPECT_EQ(run4.base(), b4.base());
  EXPECT_NE(ReadFile(exp + "/runs/sft/base-4/seed-1/run_config.pbtxt").find("init_seed: 4"), std::string::npos);
  const std::string summary = ReadFile(exp + "/summary.md");
  EXPECT_NE(summary.find("| sft | 2 x 1 |"), std::string::npos) << summary;
  EXPECT_NE(summary.find("sft base-4 seed 1"), std::string::npos) << summary;
  const Result rescored = RunCli("rescore " + exp);
  EXPECT_EQ(rescored.code, 0) << rescored.out;
  EXPECT_NE(rescored.out.find("runs/sft/base-4/seed-1: 20 samples rescored, eval.json reproduced"), std::string::npos)
      << rescored.out;
  EXPECT_NE(rescored.out.find("base-3: 20 samples rescored"), std::string::npos) << rescored.out;

  // Two ranks (issue #20) make the two bases at once, base-4 on rank 1, and
  // each is what one process makes: the same checkpoint bytes, the same
  // samples, and the same runs from them.
  const Result two = RunCli("run " + dir + "/c.pbtxt --out " + dir + "/two --nproc 2");
  ASSERT_EQ(two.code, 0) << two.out;
  EXPECT_NE(two.out.find("rank 0 pretrain base-3"), std::string::npos) << two.out;
  EXPECT_NE(two.out.find("rank 1 pretrain base-4"), std::string::npos) << two.out;
  EXPECT_EQ(two.out.find("rank 0 pretrain base-4"), std::string::npos) << two.out;
  for (const auto& e : std::filesystem::directory_iterator(dir + "/.cache")) {
    if (e.path().extension() != ".pt") continue;
    EXPECT_EQ(ReadFile(e.path().string()), ReadFile(dir + "/two/.cache/" + e.path().filename().string())) << e.path();
  }
  for (const char* f : {"/base-3/samples.jsonl.xz", "/base-4/samples.jsonl.xz", "/runs/sft/base-3/seed-1/samples.jsonl.xz",
                        "/runs/sft/base-4/seed-1/samples.jsonl.xz"})
    EXPECT_EQ(ReadFile(exp + f), ReadFile(dir + "/two/tiny" + f)) << f;

  // A size sweep's bases are dealt out too, every size's before the first
  // size's runs.
  WriteFileAtomic(dir + "/s.pbtxt", TinySftOneSeed() + "sizes { name: \"d16\" model { d_model: 16 d_ff: 32 } }\n"
                                                       "sizes { name: \"d32\" }\n");
  const Result sweep = RunCli("run " + dir + "/s.pbtxt --out " + dir + "/sweep --nproc 2");
  ASSERT_EQ(sweep.code, 0) << sweep.out;
  EXPECT_NE(sweep.out.find("rank 1 pretrain d32 base"), std::string::npos) << sweep.out;
  ASSERT_NE(sweep.out.find("tiny: size d16"), std::string::npos) << sweep.out;
  EXPECT_LT(sweep.out.find("rank 1 pretrain d32 base"), sweep.out.find("tiny: size d16")) << sweep.out;
  for (const char* size : {"d16", "d32"})
    EXPECT_TRUE(FileExists(dir + "/sweep/tiny/" + std::string(size) + "/base/eval.json")) << size;
}

// sizes: each size a complete experiment from its own base (the size's model
// merged over the file's), tuned on its own, then one summary across sizes
// whose parameter counts are the models' own.
TEST(Cli, SizeSweepRunsEachSizeFromItsOwnBaseAndSummarisesAcrossSizes) {
  const std::string dir = testing::TempDir("cli_sizes");
  std::string cfg = TinySftOneSeed();
  cfg += "sizes { name: \"d16\" model { d_model: 16 d_ff: 32 } }\nsizes { name: \"d32\" }\n"
         "tune { trials: 2 spaces { arm: \"sft\" params { path: \"sft.optim.lr\" values: [1e-3, 3e-3] } } }\n";
  WriteFileAtomic(dir + "/c.pbtxt", cfg);
  // `config` checks each size as `run` does.
  WriteFileAtomic(dir + "/odd.pbtxt", cfg + "sizes { name: \"d33\" model { d_model: 33 } }\n");
  const Result odd = RunCli("config " + dir + "/odd.pbtxt");
  EXPECT_EQ(odd.code, 2) << odd.out;
  EXPECT_NE(odd.out.find("odd.pbtxt (size d33)"), std::string::npos) << odd.out;

  const Result tuned = RunCli("tune " + dir + "/c.pbtxt --out " + dir);
  ASSERT_EQ(tuned.code, 0) << tuned.out;
  for (const char* size : {"d16", "d32"}) {
    TuneRecord rec;
    LoadConfigFile(dir + "/c." + size + ".tuned.pbtxt", &rec);
    EXPECT_EQ(rec.arms_size(), 1) << size;
    EXPECT_TRUE(FileExists(dir + "/tiny/" + size + "-tune/runs/sft-t1/seed-1/done.json")) << size;
  }
  const Result r = RunCli("run " + dir + "/c.pbtxt --out " + dir);
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("the values r1lab tune chose, from " + dir + "/c.d16.tuned.pbtxt"), std::string::npos) << r.out;
  const std::string exp = dir + "/tiny";
  std::map<std::string, int64_t> params;
  for (const auto& [size, d_model, d_ff] : std::vector<std::tuple<std::string, int, int>>{{"d16", 16, 32}, {"d32", 32, 64}}) {
    const ModelConfig m = testing::ParseResolved<ModelConfig>("d_model: " + std::to_string(d_model) +
                                                              " n_layers: 1 n_heads: 2 d_ff: " + std::to_string(d_ff) +
                                                              " max_seq_len: 64");
    params[size] = MakeModel(m, Tokenizer::Get().vocab_size())->NumParameters();
    DoneRecord base;
    RecordFromJson(ReadFile(exp + "/" + size + "/base/done.json"), size, &base);
    EXPECT_EQ(base.params(), static_cast<double>(params[size])) << size;
    EXPECT_GT(base.flops(), 0) << size;  // its pretraining
    EXPECT_NE(ReadFile(exp + "/" + size + "/runs/sft/seed-1/run_config.pbtxt").find("d_model: " + std::to_string(d_model)),
              std::string::npos) << size;
  }
  EXPECT_LT(params["d16"], params["d32"]);
  const std::string csv = ReadFile(exp + "/summary.csv");
  EXPECT_NE(csv.find("d16," + std::to_string(params["d16"]) + ","), std::string::npos) << csv;
  EXPECT_NE(csv.find("d32," + std::to_string(params["d32"]) + ","), std::string::npos) << csv;
  const std::string summary = ReadFile(exp + "/summary.md");
  EXPECT_NE(summary.find("| arm | d16 ("), std::string::npos) << summary;
  EXPECT_NE(summary.find("| base |"), std::string::npos) << summary;
  EXPECT_NE(summary.find("| d32 | "), std::string::npos) << summary;  // its ranking
  for (const char* plot : {"/plots/pass1_vs_params.svg", "/plots/pass1_vs_flops.svg", "/d16/summary.md", "/d32/plots/pass_at_k.svg"})
    EXPECT_TRUE(FileExists(exp + plot)) << plot;

  EXPECT_EQ(RunCli("report " + exp + "/").code, 0);  // a trailing slash, as a shell completes it
  EXPECT_EQ(ReadFile(exp + "/summary.md"), summary);
  EXPECT_NE(ReadFile(exp + "/d16/plots/plots.gp").find("rerun with: cd " + exp + "/d16/plots && gnuplot"),
            std::string::npos)
      << ReadFile(exp + "/d16/plots/plots.gp");
  const Result rescored = RunCli("rescore " + exp);
  EXPECT_EQ(rescored.code, 0) << rescored.out;
  EXPECT_NE(rescored.out.find("summary.md: the sweep's tables rebuilt from its sizes' tables reproduced"),
            std::string::npos) << rescored.out;
  EXPECT_NE(rescored.out.find("runs/sft/seed-1: 20 samples rescored"), std::string::npos) << rescored.out;
  WriteFileAtomic(exp + "/summary.md", Replace(summary, "| base |", "| base | 99.9 |"));
  EXPECT_NE(RunCli("rescore " + exp).code, 0);
  const Result restored = RunCli("rescore " + exp + " --update");  // rewrites the sweep's tables too
  EXPECT_EQ(restored.code, 0) << restored.out;
  EXPECT_EQ(ReadFile(exp + "/summary.md"), summary);

  // The sweep prints a size's pass@1 as the size's own table does, from the
  // run records: summary.csv's six decimals (0.125500) would print 12.6 where
  // the records' 0.1254996 prints 12.5.
  const std::string eval_path = exp + "/d16/runs/sft/seed-1/eval.json";
  EvalRecord e;
  RecordFromJson(ReadFile(eval_path), eval_path, &e);
  e.set_pass1(0.1254996);
  WriteFileAtomic(eval_path, RecordToJson(e) + "\n");
  ASSERT_EQ(RunCli("report " + exp).code, 0);
  EXPECT_NE(ReadFile(exp + "/d16/summary.md").find("| sft | 1 | 12.5 |"), std::string::npos)
      << ReadFile(exp + "/d16/summary.md");
  EXPECT_NE(ReadFile(exp + "/summary.md").find("| sft | 12.5 |"), std::string::npos) << ReadFile(exp + "/summary.md");

  WriteFileAtomic(dir + "/bad.pbtxt", cfg + "sizes { name: \"d16\" }\n");
  const Result bad = RunCli("run " + dir + "/bad.pbtxt --out " + dir);
  EXPECT_EQ(bad.code, 2) << bad.out;
  EXPECT_NE(bad.out.find("sizes[2].name: 'd16' is used twice"), std::string::npos) << bad.out;
}

// Distillation by size (rft.teacher_size): at every size the student
// distils the first size's teacher arm (same seed), in tuning that size's
// chosen trial; its own size's arm would be another model. Only the sweep's
// first size may teach.
TEST(Cli, SizeSweepDistilsTheFirstSizesTeacherIntoEverySize) {
  const std::string dir = testing::TempDir("cli_teacher_size");
  std::string cfg = TinySftOneSeed();
  cfg += "arms { name: \"distil\" rft { teacher_arm: \"sft\" teacher_size: \"d32\" steps: 2 problems_per_step: 4 "
         "samples_per_problem: 2 sft_steps: 1 batch_size: 4 sampling { max_new_tokens: 30 } } }\n"
         "sizes { name: \"d32\" }\nsizes { name: \"d16\" model { d_model: 16 d_ff: 32 } }\npaired_reference: \"sft\"\n"
         "tune { trials: 2 spaces { arm: \"sft\" params { path: \"sft.optim.lr\" values: [1e-3, 3e-3] } } "
         "spaces { arm: \"distil\" params { path: \"rft.optim.lr\" values: [1e-4, 1e-3] } } }\n";
  WriteFileAtomic(dir + "/c.pbtxt", cfg);
  const std::string exp = dir + "/tiny";
  auto teacher_hash = [](const std::string& run) {
    const std::string id = ReadFile(run + "/run_config.pbtxt");
    const size_t at = id.find("# teacher weights fnv64: ");
    return at == std::string::npos ? std::string("none") : id.substr(at + 25, 16);
  };
  auto hash_of = [](const std::string& ckpt) { return CheckpointWeightsHash(ckpt); };

  const Result tuned = RunCli("tune " + dir + "/c.pbtxt --out " + dir);
  ASSERT_EQ(tuned.code, 0) << tuned.out;
  TuneRecord big;
  LoadConfigFile(dir + "/c.d32.tuned.pbtxt", &big);
  ASSERT_EQ(big.arms(0).arm(), "sft");
  const std::string chosen = exp + "/d32-tune/runs/sft-t" + std::to_string(big.arms(0).chosen()) + "/seed-1/checkpoint.pt";
  for (const char* trial : {"distil-t0", "distil-t1"}) {
    EXPECT_EQ(teacher_hash(exp + "/d16-tune/runs/" + trial + "/seed-1"), hash_of(chosen)) << trial;
    EXPECT_EQ(teacher_hash(exp + "/d32-tune/runs/" + trial + "/seed-1"), hash_of(chosen)) << trial;
  }

  // Tuning again on a machine without the trial folders keeps the current
  // sizes and runs only the chosen trial the other sizes distil from.
  const std::string d32_tuned = ReadFile(dir + "/c.d32.tuned.pbtxt"), d16_tuned = ReadFile(dir + "/c.d16.tuned.pbtxt");
  const std::string chosen_dir = chosen.substr(0, chosen.rfind('/'));
  const std::string chosen_samples = Unxz(ReadFile(chosen_dir + "/samples.jsonl.xz"), "chosen");
  testing::RemoveTree(exp + "/d32-tune");
  testing::RemoveTree(exp + "/d16-tune");
  const Result again = RunCli("tune " + dir + "/c.pbtxt --out " + dir);
  ASSERT_EQ(again.code, 0) << again.out;
  EXPECT_NE(again.out.find("d32: " + dir + "/c.d32.tuned.pbtxt is current; kept"), std::string::npos) << again.out;
  EXPECT_NE(again.out.find("d16: " + dir + "/c.d16.tuned.pbtxt is current; kept"), std::string::npos) << again.out;
  EXPECT_EQ(ReadFile(dir + "/c.d32.tuned.pbtxt"), d32_tuned);
  EXPECT_EQ(ReadFile(dir + "/c.d16.tuned.pbtxt"), d16_tuned);
  EXPECT_EQ(Unxz(ReadFile(chosen_dir + "/samples.jsonl.xz"), "chosen"), chosen_samples)
      << "the teacher trial, run alone, is the trial tuning ran";
  const std::string other = exp + "/d32-tune/runs/sft-t" + std::to_string(1 - big.arms(0).chosen());
  EXPECT_FALSE(std::filesystem::exists(other)) << "only the chosen trial runs again";
  EXPECT_FALSE(std::filesystem::exists(exp + "/d16-tune"));
  // A tuning stops being current when what it tried would change.
  const std::vector<ExperimentConfig> sizes = LoadSizes(dir + "/c.pbtxt", {}, /*tuned=*/false);
  EXPECT_TRUE(TuningIsCurrent(sizes[0], big));
  EXPECT_FALSE(TuningIsCurrent(sizes[1], big)) << "another size";
  for (const char* set : {"seeds=[2]", "arms[0].sft.steps=3", "tune.budget_scale=0.5", "model.d_model=24"})
    EXPECT_FALSE(TuningIsCurrent(LoadSizes(dir + "/c.pbtxt", {set}, false)[0], big)) << set;

  const Result r = RunCli("run " + dir + "/c.pbtxt --out " + dir);
  ASSERT_EQ(r.code, 0) << r.out;
  const std::string teacher = hash_of(exp + "/d32/runs/sft/seed-1/checkpoint.pt");
  EXPECT_EQ(teacher_hash(exp + "/d32/runs/distil/seed-1"), teacher);
  EXPECT_EQ(teacher_hash(exp + "/d16/runs/distil/seed-1"), teacher) << "the first size's teacher, not d16's own sft";
  EXPECT_NE(hash_of(exp + "/d16/runs/sft/seed-1/checkpoint.pt"), teacher);
  const std::string small = ReadFile(exp + "/d16/summary.md");
  EXPECT_NE(small.find("| distil | arm sft at size d32 |"), std::string::npos) << small;
  EXPECT_EQ(small.find("## Pipeline stages"), std::string::npos) << "a teacher of another size adds no chain here";
  EXPECT_NE(ReadFile(exp + "/d32/summary.md").find("| distil | arm sft |"), std::string::npos);
  // The sweep's distillation table: at each size the paired difference from
  // that size's reference arm, as the size's own paired table gives it.
  const std::string sweep = ReadFile(exp + "/summary.md");
  const size_t section = sweep.find("## Distillation against RL, by size: distil\n");
  ASSERT_NE(section, std::string::npos) << sweep;
  for (const char* size : {"d32", "d16"}) {
    const std::string own = ReadFile(exp + "/" + size + "/summary.md");
    const size_t at = own.find("| distil | ", own.find("## Paired differences from sft"));
    ASSERT_NE(at, std::string::npos) << own;
    const size_t end = own.find(" | ", own.find("] | ", at));  // "+x.x | [lo, hi]"
    const std::string diff = own.substr(at + 11, end - at - 11);
    const size_t row = sweep.find("| " + std::string(size) + " | ", section);
    ASSERT_NE(row, std::string::npos) << sweep;
    EXPECT_NE(sweep.substr(row, sweep.find('\n', row) - row).find(" | " + diff + " | "), std::string::npos)
        << size << ": " << diff << "\n" << sweep;
  }

  WriteFileAtomic(dir + "/second.pbtxt", Replace(cfg, "teacher_size: \"d32\"", "teacher_size: \"d16\""));
  Result bad = RunCli("run " + dir + "/second.pbtxt --out " + dir);
  EXPECT_EQ(bad.code, 2) << bad.out;
  EXPECT_NE(bad.out.find("arms[1] (distil).rft.teacher_size: 'd16'; expected the sweep's first size, 'd32'"),
            std::string::npos) << bad.out;
  WriteFileAtomic(dir + "/plain.pbtxt", cfg.substr(0, cfg.find("sizes {")));
  bad = RunCli("run " + dir + "/plain.pbtxt --out " + dir);
  EXPECT_EQ(bad.code, 2) << bad.out;
  EXPECT_NE(bad.out.find("rft.teacher_size: 'd32', but the experiment has no sizes"), std::string::npos) << bad.out;
}

// init_from: a pipeline stage starts from the earlier arm's final checkpoint
// of the same seed (part of its identity), and is tuned after that arm, from
// its chosen trial; rft.teacher_arm distils from it the same way.
TEST(Cli, PipelineStageStartsFromTheEarlierArmsFinalCheckpoint) {
  const std::string dir = testing::TempDir("cli_stages");
  std::string cfg = Replace(kTiny, "seeds: [1, 2]", "seeds: [1]");
  cfg = cfg.substr(0, cfg.find("arms { name: \"sft\""));
  // The second stage learns nothing (lr 1e-12): it must sample exactly as the first ends.
  cfg += "arms { name: \"cold\" sft { steps: 10 batch_size: 8 log_every: 5 } }\n"
         "arms { name: \"frozen\" init_from: \"cold\" sft { steps: 1 batch_size: 8 log_every: 1 "
         "optim { lr: 1e-12 warmup_steps: 0 weight_decay: 0 } } }\n"
         "arms { name: \"distil\" rft { teacher_arm: \"cold\" steps: 2 problems_per_step: 4 samples_per_problem: 2 "
         "sft_steps: 1 batch_size: 4 sampling { max_new_tokens: 30 } } }\n";
  WriteFileAtomic(dir + "/c.pbtxt", cfg);
  const Result r = RunCli("run " + dir + "/c.pbtxt --out " + dir);
  ASSERT_EQ(r.code, 0) << r.out;
  const std::string exp = dir + "/tiny", cold = exp + "/runs/cold/seed-1", frozen = exp + "/runs/frozen/seed-1";
  EXPECT_EQ(Unxz(ReadFile(frozen + "/samples.jsonl.xz"), "frozen"), Unxz(ReadFile(cold + "/samples.jsonl.xz"), "cold"));
  EXPECT_NE(Unxz(ReadFile(exp + "/base/samples.jsonl.xz"), "base"), Unxz(ReadFile(cold + "/samples.jsonl.xz"), "cold"));
  EXPECT_NE(ReadFile(frozen + "/run_config.pbtxt")
                .find("# init_from weights fnv64: " + CheckpointWeightsHash(cold + "/checkpoint.pt")),
            std::string::npos);
  // Distillation from an earlier arm: its checkpoint of the same seed, by content.
  EXPECT_NE(ReadFile(exp + "/runs/distil/seed-1/run_config.pbtxt")
                .find("# teacher weights fnv64: " + CheckpointWeightsHash(cold + "/checkpoint.pt")),
            std::string::npos);
  const std::string summary = ReadFile(exp + "/summary.md");
  EXPECT_NE(summary.find("## Pipeline stages"), std::string::npos) << summary;
  EXPECT_NE(summary.find("| cold | the base | - | "), std::string::npos) << summary;
  EXPECT_NE(summary.find("| frozen | cold | - | "), std::string::npos) << summary;
  EXPECT_NE(summary.find("| distil | the base | cold | "), std::string::npos) << summary;
  EXPECT_NE(summary.find("| distil | arm cold | "), std::string::npos) << summary;  // the distillation table

  // An earlier stage deleted and rerun hands over the same weights, so the
  // stages that start from it are kept, on this rerun and the next.
  const std::string cold_weights = CheckpointWeightsHash(cold + "/checkpoint.pt");
  const std::string frozen_done = ReadFile(frozen + "/done.json");
  testing::RemoveTree(cold);
  for (int rerun = 0; rerun < 2; ++rerun) {
    const Result again = RunCli("run " + dir + "/c.pbtxt --out " + dir);
    ASSERT_EQ(again.code, 0) << again.out;
  }
  EXPECT_EQ(CheckpointWeightsHash(cold + "/checkpoint.pt"), cold_weights);
  EXPECT_EQ(ReadFile(frozen + "/done.json"), frozen_done) << "frozen was rerun";
  // A stage recorded before the weights named its start (the checkpoint file's
  // fnv64 instead) still matches its own start.
  const std::string frozen_id = ReadFile(frozen + "/run_config.pbtxt");
  const std::string legacy_id =
      Replace(frozen_id, "# init_from weights fnv64: " + cold_weights,
              "# init_from checkpoint fnv64: " + HexHash(Fnv64(ReadFile(cold + "/checkpoint.pt"))));
  ASSERT_NE(legacy_id, frozen_id);
  WriteFileAtomic(frozen + "/run_config.pbtxt", legacy_id);
  EXPECT_EQ(RunCli("run " + dir + "/c.pbtxt --out " + dir).code, 0);
  EXPECT_EQ(ReadFile(frozen + "/done.json"), frozen_done) << "frozen was rerun";

  // A finished stage is kept when its start is gone; an unfinished one says what is missing.
  std::filesystem::remove(cold + "/checkpoint.pt");
  EXPECT_EQ(RunCli("run " + dir + "/c.pbtxt --out " + dir).code, 0);
  testing::RemoveTree(frozen);
  const Result missing = RunCli("run " + dir + "/c.pbtxt --out " + dir);
  EXPECT_EQ(missing.code, 3) << missing.out;
  EXPECT_NE(missing.out.find("arm 'frozen' starts from arm 'cold' (init_from), whose final checkpoint"),
            std::string::npos) << missing.out;

  WriteFileAtomic(dir + "/bad.pbtxt", Replace(cfg, "init_from: \"cold\"", "init_from: \"frozen\""));
  const Result bad = RunCli("run " + dir + "/bad.pbtxt --out " + dir + "/bad");
  EXPECT_EQ(bad.code, 2) << bad.out;
  EXPECT_NE(bad.out.find("arms[1].init_from: 'frozen' is not an earlier arm"), std::string::npos) << bad.out;
  WriteFileAtomic(dir + "/bad_teacher.pbtxt", Replace(cfg, "teacher_arm: \"cold\"", "teacher_arm: \"distil\""));
  const Result bad_teacher = RunCli("run " + dir + "/bad_teacher.pbtxt --out " + dir + "/bad");
  EXPECT_EQ(bad_teacher.code, 2) << bad_teacher.out;
  EXPECT_NE(bad_teacher.out.find("arms[2].rft.teacher_arm: 'distil' is not an earlier arm"), std::string::npos)
      << bad_teacher.out;

  WriteFileAtomic(dir + "/t.pbtxt", cfg + "tune { trials: 2 }\n");
  const Result tuned = RunCli("tune " + dir + "/t.pbtxt --out " + dir + "/tune");
  ASSERT_EQ(tuned.code, 0) << tuned.out;
  EXPECT_NE(tuned.out.find("stage 2 of 2"), std::string::npos) << tuned.out;
  TuneRecord rec;
  LoadConfigFile(dir + "/t.tuned.pbtxt", &rec);
  ASSERT_EQ(rec.arms_size(), 3);
  const std::string from = dir + "/tune/tiny-tune/runs/cold-t" + std::to_string(rec.arms(0).chosen()) + "/seed-1";
  const std::string chosen = CheckpointWeightsHash(from + "/checkpoint.pt");
  EXPECT_NE(ReadFile(dir + "/tune/tiny-tune/runs/frozen-t1/seed-1/run_config.pbtxt")
                .find("# init_from weights fnv64: " + chosen), std::string::npos);
  EXPECT_NE(ReadFile(dir + "/tune/tiny-tune/runs/distil-t1/seed-1/run_config.pbtxt")
                .find("# teacher weights fnv64: " + chosen), std::string::npos);
}

// R1's pipeline on a tiny mix of reasoning and notes (the shape of
// experiments/pipeline.pbtxt): every stage runs, each starts from the
// previous stage's final checkpoint (by content, in its identity), the
// rejection stage samples the reasoning stage, and the last stage's
// preference model was trained on labelled pairs.
TEST(Cli, PipelineRunsEndToEndEachStageFromThePrevious) {
  const std::string dir = testing::TempDir("cli_pipeline");
  const std::string cfg = R"(
name: "pipe"
threads: 1
seeds: [1]
task {
  mix {
    parts { weight: 3 task { arith { min_ops: 1 max_ops: 2 worded: true spanish_rate: 0.5 } num_test: 30 num_validation: 0 } }
    parts { task { note {} num_test: 10 num_validation: 0 } }
  }
  teacher { language_mix_rate: 0.2 }
}
model { d_model: 32 n_layers: 1 n_heads: 2 d_ff: 64 max_seq_len: 288 }
pretrain { steps: 20 batch_size: 8 log_every: 10 }
eval { num_problems: 8 samples_per_problem: 2 eval_every: 100 sampling { max_new_tokens: 60 } }
arms { name: "r1_zero" train_prompts: VERIFIABLE_PROMPTS
       grpo { steps: 2 prompts_per_step: 2 group_size: 2 sampling { max_new_tokens: 60 } } }
arms { name: "cold_start" sft { steps: 4 batch_size: 8 log_every: 2 teacher { summary: true language_mix_rate: 0 } } }
arms { name: "reasoning_rl" init_from: "cold_start" train_prompts: VERIFIABLE_PROMPTS
       grpo { steps: 2 prompts_per_step: 2 group_size: 2 sampling { max_new_tokens: 60 } reward { language_weight: 1 } } }
arms { name: "rejection_sft" rft { teacher_arm: "reasoning_rl" require_readable: true steps: 2 problems_per_step: 4
       samples_per_problem: 2 sft_steps: 1 batch_size: 4 sampling { max_new_tokens: 60 } } }
arms { name: "all_scenarios_rl" init_from: "rejection_sft"
       prm_rl { route_by_prompt: true shift_problems: 4
                reward_model { kind: PREFERENCE label_traces: 16 train_steps: 2 batch_size: 4 }
                grpo { steps: 2 prompts_per_step: 2 group_size: 2 sampling { max_new_tokens: 60 } } } }
)";
  WriteFileAtomic(dir + "/p.pbtxt", cfg);
  const Result r = RunCli("run " + dir + "/p.pbtxt --out " + dir);
  ASSERT_EQ(r.code, 0) << r.out;
  const std::string runs = dir + "/pipe/runs/";
  auto hash = [&](const std::string& arm) { return CheckpointWeightsHash(runs + arm + "/seed-1/checkpoint.pt"); };
  auto identity = [&](const std::string& arm) { return ReadFile(runs + arm + "/seed-1/run_config.pbtxt"); };
  EXPECT_NE(identity("reasoning_rl").find("# init_from weights fnv64: " + hash("cold_start")), std::string::npos);
  EXPECT_NE(identity("rejection_sft").find("# teacher weights fnv64: " + hash("reasoning_rl")), std::string::npos);
  EXPECT_NE(identity("all_scenarios_rl").find("# init_from weights fnv64: " + hash("rejection_sft")),
            std::string::npos);
  EXPECT_EQ(identity("r1_zero").find("# init_from"), std::string::npos) << "R1-Zero starts from the base";
  const std::vector<std::string> lines = ReadLines(runs + "all_scenarios_rl/seed-1/metrics.jsonl.xz");
  ASSERT_FALSE(lines.empty());
  EXPECT_GT(JsonValue::Parse(lines[0]).at("reward_model").num("examples"), 0) << lines[0];
  const std::string summary = ReadFile(dir + "/pipe/summary.md");
  for (const char* row : {"| reasoning_rl | cold_start | - | ", "| rejection_sft | the base | reasoning_rl | ",
                          "| all_scenarios_rl | rejection_sft | - | ", "## Preference reward model"})
    EXPECT_NE(summary.find(row), std::string::npos) << row << "\n" << summary;
  EXPECT_NE(summary.find("| language % |"), std::string::npos) << "two languages: the language column";
}

// A user's run goes to runs/<name>/ (gitignored), never into the committed
// results/<name>/, whose summary is printed beside the new one.
TEST(Cli, RunsGoToAFreshFolderAndTheCommittedReferenceIsPrintedBeside) {
  const std::string dir = testing::TempDir("cli_default_out");
  WriteFileAtomic(dir + "/c.pbtxt", kTiny);
  std::filesystem::create_directories(dir + "/results/tiny");
  WriteFileAtomic(dir + "/results/tiny/summary.md", "# tiny\n\nthe committed reference table\n");
  const std::string log = dir + "/out.txt";
  const int rc = std::system(("cd " + dir + " && " + R1LAB_BINARY + " run c.pbtxt > " + log + " 2>&1").c_str());
  const std::string out = ReadFile(log);
  ASSERT_EQ(WEXITSTATUS(rc), 0) << out;
  EXPECT_TRUE(FileExists(dir + "/runs/tiny/summary.md"));
  EXPECT_EQ(ReadFile(dir + "/results/tiny/summary.md"), "# tiny\n\nthe committed reference table\n");
  EXPECT_NE(out.find("committed reference (results/tiny/summary.md):\n\n# tiny\n\nthe committed reference table"),
            std::string::npos) << out;
}

TEST(Cli, TinyExperimentEndToEndThenSkipsFinishedRunsAndRefusesASecondRunner) {
  const std::string dir = testing::TempDir("cli_run");
  WriteFileAtomic(dir + "/c.pbtxt", kTiny);
  Result r = RunCli("run " + dir + "/c.pbtxt --out " + dir + "");
  ASSERT_EQ(r.code, 0) << r.out;
  const std::string exp = dir + "/tiny";
  for (const char* f : {"/config.pbtxt", "/base/done.json", "/summary.md", "/summary.csv", "/base/eval.json",
                        "/base/samples.jsonl.xz", "/runs/sft/seed-1/samples.jsonl.xz", "/runs/sft/seed-1/metrics.jsonl.xz", "/runs/sft/seed-2/done.json",
                        "/runs/sft/seed-2/eval.json", "/runs/sft/seed-2/checkpoint.pt"})
    EXPECT_TRUE(FileExists(exp + f)) << f;
  // A finished run keeps its metrics compressed only; xzcat reads them.
  EXPECT_FALSE(FileExists(exp + "/runs/sft/seed-1/metrics.jsonl"));
  EXPECT_EQ(ReadFile(exp + "/runs/sft/seed-1/metrics.jsonl.xz").substr(0, 6), std::string("\xfd" "7zXZ\0", 6));
  // ... with 9 significant digits, where the plain file has protobuf's 17,
  // and timings with 4.
  const std::string metrics = ReadText(exp + "/runs/sft/seed-1/metrics.jsonl.xz");
  EXPECT_EQ(RoundMetrics(metrics), metrics);
  EXPECT_LT(RoundJsonNumbers(metrics, 8, IsTimingKey, kTimingDigits).size(), metrics.size());  // non-integers to round
  const double wall = JsonValue::Parse(metrics.substr(0, metrics.find('\n'))).at("wall_s").number();
  char four[40];
  std::snprintf(four, sizeof four, "%.4g", wall);
  EXPECT_GT(wall, 0);
  EXPECT_EQ(std::strtod(four, nullptr), wall) << "wall_s keeps more than 4 digits";
  const std::string summary = ReadFile(exp + "/summary.md");
  EXPECT_NE(summary.find("| sft | 2 |"), std::string::npos) << summary;
  EXPECT_NE(summary.find("| base |"), std::string::npos) << summary;
  EXPECT_NE(ReadFile(exp + "/config.pbtxt").find("d_model: 32"), std::string::npos);
  EXPECT_NE(summary.find("95% Student-t"), std::string::npos) << summary;
  for (const char* plot : {"pass1_vs_flops", "length_vs_step", "reflection_vs_step", "pass_at_k",
                           "accuracy_by_level", "length_by_level"}) {
    EXPECT_TRUE(FileExists(exp + "/plots/" + plot + ".svg")) << plot;
    EXPECT_TRUE(FileExists(exp + "/plots/" + plot + ".png")) << plot;
  }
  const Result table = RunCli("table " + exp + " " + exp + " --csv");
  EXPECT_EQ(table.code, 0) << table.out;
  EXPECT_NE(table.out.find("experiment,arm,seeds,pass1"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("tiny,sft,2,"), std::string::npos) << table.out;
  // Two eval points (steps 5 and 10) in the metrics.
  int evals = 0;
  for (const auto& line : ReadLines(exp + "/runs/sft/seed-1/metrics.jsonl.xz")) evals += line.find("\"eval\"") != std::string::npos;
  EXPECT_EQ(evals, 2);

  // The budgeted arm stops at its FLOP budget: past it by less than one step.
  double prev = 0, max_step = 0, last = 0;
  int lines = 0;
  for (const auto& line : ReadLines(exp + "/runs/budget/seed-1/metrics.jsonl.xz")) {
    if (line.find("\"loss\"") == std::string::npos) continue;
    const double f = std::stod(line.substr(line.find("\"flops\":") + 8));
    max_step = std::max(max_step, f - prev);
    prev = last = f;
    ++lines;
  }
  EXPECT_LT(lines, 1000);
  EXPECT_GE(last, 2e9);
  EXPECT_LT(last, 2e9 + max_step);
  DoneRecord done;  // the done marker is a typed record
  RecordFromJson(ReadFile(exp + "/runs/budget/seed-1/done.json"), "done.json", &done);
  EXPECT_EQ(done.flop_budget(), 2e9);
  // Idle OpenMP workers spin briefly, not libgomp's default (which starves another process).
  if (!std::getenv("OMP_WAIT_POLICY") && !std::getenv("GOMP_SPINCOUNT")) {
    EXPECT_EQ(done.machine().openmp_wait(), "GOMP_SPINCOUNT=1000");
  }
  EXPECT_NEAR(done.flops(), last, 1e-6 * last);
  EXPECT_GT(done.flops_by_phase().train(), 0);
  EXPECT_DOUBLE_EQ(done.flops_by_phase().generate() + done.flops_by_phase().train() + done.flops_by_phase().score() +
                       done.flops_by_phase().label() + done.flops_by_phase().reward_train() +
                       done.flops_by_phase().reward_score(),
                   done.flops());

  // `report` rewrites the summary from the folder alone.
  std::filesystem::remove(exp + "/summary.md");
  ASSERT_EQ(RunCli("report " + exp).code, 0);
  EXPECT_EQ(ReadFile(exp + "/summary.md"), summary);

  // `rescore` recomputes every eval.json and table from the samples.
  const Result rescored = RunCli("rescore " + exp);
  EXPECT_EQ(rescored.code, 0) << rescored.out;
  EXPECT_NE(rescored.out.find("runs/budget/seed-2: 20 samples rescored, eval.json reproduced"), std::string::npos)
      << rescored.out;
  EXPECT_NE(rescored.out.find("every number reproduced"), std::string::npos) << rescored.out;
  {
    // Tampered copies: a completion's answer changed (its stored verdict is
    // no longer the verifier's, and eval.json and the tables no longer follow
    // from the samples), and a stored verdict flipped (eval.json still
    // reproduced, the line reported).
    const std::string t = dir + "/tampered";
    std::filesystem::copy(exp, t, std::filesystem::copy_options::recursive);
    auto edit = [&](const std::string& file, int line, auto change) {
      std::vector<std::string> lines;
      std::istringstream in(Unxz(ReadFile(t + file), file));
      for (std::string l; std::getline(in, l);) lines.push_back(l);
      SampleRecord rec;
      RecordFromJson(lines[static_cast<size_t>(line)], file, &rec);
      change(rec);
      lines[static_cast<size_t>(line)] = RecordToJson(rec);
      std::string text;
      for (const std::string& l : lines) text += l + "\n";
      WriteFileAtomic(t + file, Xz(text));
    };
    edit("/runs/sft/seed-1/samples.jsonl.xz", 0, [](SampleRecord& r) {
      // Right becomes wrong and wrong becomes right.
      r.set_completion("<think>1+1=2\n</think><answer>" + (r.correct() ? "9999" : r.gold()) + "</answer>");
    });
    edit("/base/samples.jsonl.xz", 1, [](SampleRecord& r) { r.set_correct(!r.correct()); });
    const Result bad = RunCli("rescore " + t);
    EXPECT_EQ(bad.code, 1) << bad.out;
    EXPECT_NE(bad.out.find("runs/sft/seed-1/samples.jsonl.xz line 1: stored verdict"), std::string::npos) << bad.out;
    EXPECT_NE(bad.out.find("runs/sft/seed-1/eval.json differs"), std::string::npos) << bad.out;
    EXPECT_NE(bad.out.find("pass1"), std::string::npos) << bad.out;
    EXPECT_NE(bad.out.find("base/samples.jsonl.xz line 2: stored verdict"), std::string::npos) << bad.out;
    EXPECT_NE(bad.out.find("base: 20 samples rescored, eval.json reproduced"), std::string::npos) << bad.out;
    // The sft row of the main table and of the reflection table (its plain responses' pass@1).
    EXPECT_NE(bad.out.find("summary.md: 2 lines differ from the tables rebuilt from the rescored samples"),
              std::string::npos) << bad.out;
    EXPECT_NE(bad.out.find("summary.md: the tables rebuilt from the committed records reproduced"), std::string::npos)
        << bad.out;
    // --update leaves a folder whose samples the verifier now judges otherwise as it is.
    const std::string before = ReadFile(t + "/runs/sft/seed-1/eval.json");
    EXPECT_EQ(RunCli("rescore " + t + " --update").code, 1);
    EXPECT_EQ(ReadFile(t + "/runs/sft/seed-1/eval.json"), before);
  }
  {
    // A metric that no longer follows from the samples (as after a change of
    // its definition): rescore says so; --update rewrites eval.json and the
    // summary from the samples, which then reproduce. A record written before
    // a metric existed still reproduces; --update adds the metric.
    const std::string t = dir + "/stale";
    std::filesystem::copy(exp, t, std::filesystem::copy_options::recursive);
    const std::string path = t + "/runs/sft/seed-2/eval.json", good = ReadFile(path);
    const std::string older = t + "/runs/sft/seed-1/eval.json", older_good = ReadFile(older);
    EvalRecord e;
    RecordFromJson(good, path, &e);
    e.set_no_answer_rate(e.no_answer_rate() + (e.no_answer_rate() < 0.5 ? 0.5 : -0.5));  // still a share
    WriteFileAtomic(path, RecordToJson(e) + "\n");
    RecordFromJson(older_good, older, &e);
    ASSERT_TRUE(e.has_aha_rate());
    e.clear_aha_rate();
    WriteFileAtomic(older, RecordToJson(e) + "\n");
    const Result stale = RunCli("rescore " + t);
    EXPECT_EQ(stale.code, 1) << stale.out;
    EXPECT_NE(stale.out.find("no_answer_rate"), std::string::npos) << stale.out;
    EXPECT_NE(stale.out.find("runs/sft/seed-1: 20 samples rescored, eval.json reproduced"), std::string::npos)
        << stale.out;
    const Result updated = RunCli("rescore " + t + " --update");
    EXPECT_EQ(updated.code, 0) << updated.out;
    EXPECT_NE(updated.out.find("runs/sft/seed-2/eval.json differs from its rescored samples (committed → rescored); "
                               "rewritten"), std::string::npos) << updated.out;
    EXPECT_NE(updated.out.find("runs/sft/seed-1/eval.json: added from the samples (metrics newer than it): aha_rate"),
              std::string::npos) << updated.out;
    EXPECT_EQ(ReadFile(path), good);
    EXPECT_EQ(ReadFile(older), older_good);
    EXPECT_EQ(ReadFile(t + "/summary.md"), summary);
    EXPECT_EQ(RunCli("rescore " + t).code, 0);
  }
  {
    // Malformed records are named, never a crash: eval.json counts of no
    // samples, a sample line of the wrong type (by its own line number), a
    // run without its metrics.
    const std::string t = dir + "/malformed";
    std::filesystem::copy(exp, t, std::filesystem::copy_options::recursive);
    const std::string eval_path = t + "/base/eval.json", eval_good = ReadFile(eval_path);
    EvalRecord counts;
    RecordFromJson(eval_good, eval_path, &counts);
    counts.set_problems(0);
    counts.set_samples_per_problem(0);
    WriteFileAtomic(eval_path, RecordToJson(counts) + "\n");
    Result bad = RunCli("rescore " + t);
    EXPECT_EQ(bad.code, 4) << bad.out;
    EXPECT_NE(bad.out.find("base/eval.json: no problems; expected the number of problems evaluated, at least 1"),
              std::string::npos) << bad.out;
    WriteFileAtomic(eval_path, eval_good);
    WriteFileAtomic(t + "/base/samples.jsonl.xz", Xz(""));
    bad = RunCli("rescore " + t);
    EXPECT_EQ(bad.code, 1) << bad.out;
    EXPECT_NE(bad.out.find("base/samples.jsonl.xz: 0 lines, eval.json says"), std::string::npos) << bad.out;
    const std::string samples = t + "/runs/sft/seed-1/samples.jsonl.xz";
    std::vector<std::string> lines = SplitLines(Unxz(ReadFile(samples), samples));
    lines[2] = Replace(lines[2], "\"tokens\":", "\"tokens\":\"many\",\"x\":");
    std::string text;
    for (const std::string& l : lines) text += l + "\n";
    WriteFileAtomic(samples, Xz(text));
    bad = RunCli("rescore " + t);
    EXPECT_EQ(bad.code, 4) << bad.out;
    EXPECT_NE(bad.out.find("runs/sft/seed-1/samples.jsonl.xz line 3: not a SampleRecord record"), std::string::npos)
        << bad.out;
    std::filesystem::remove(samples);
    std::filesystem::remove(t + "/summary.md");
    bad = RunCli("rescore " + t);
    EXPECT_EQ(bad.code, 1) << bad.out;
    EXPECT_NE(bad.out.find("summary.md: missing; the tables rebuilt from"), std::string::npos) << bad.out;
    std::filesystem::remove(t + "/runs/sft/seed-2/metrics.jsonl.xz");
    bad = RunCli("rescore " + t);
    EXPECT_EQ(bad.code, 4) << bad.out;
    EXPECT_NE(bad.out.find("runs/sft/seed-2: no metrics.jsonl.xz (nor metrics.jsonl)"), std::string::npos) << bad.out;
  }

  // `eval` of a run's or the base's checkpoint uses the config it was trained under.
  const Result ev = RunCli("eval " + exp + "/runs/sft/seed-1/checkpoint.pt --problems 2 --samples 1");
  EXPECT_EQ(ev.code, 0) << ev.out;
  EXPECT_NE(ev.out.find("eval: config " + exp + "/config.pbtxt"), std::string::npos) << ev.out;
  std::string base_stem;
  for (const auto& e : std::filesystem::directory_iterator(dir + "/.cache"))
    if (e.path().extension() == ".pt") base_stem = e.path().string().substr(0, e.path().string().size() - 3);
  ASSERT_FALSE(base_stem.empty());
  const Result base_ev = RunCli("eval " + base_stem + ".pt --problems 2 --samples 1");
  EXPECT_EQ(base_ev.code, 0) << base_ev.out;
  EXPECT_NE(base_ev.out.find("eval: config " + base_stem + ".pbtxt"), std::string::npos) << base_ev.out;
  // `eval --nproc 2`: two ranks share the problems and write one process's
  // samples and numbers (said once, not once per rank).
  {
    const std::string ckpt = exp + "/runs/sft/seed-1/checkpoint.pt";
    const Result one = RunCli("eval " + ckpt + " --problems 7 --samples 3 --out " + dir + "/eval-one");
    ASSERT_EQ(one.code, 0) << one.out;
    const Result two = RunCli("eval " + ckpt + " --problems 7 --samples 3 --out " + dir + "/eval-two --nproc 2");
    ASSERT_EQ(two.code, 0) << two.out;
    const std::string said = "eval: config " + exp + "/config.pbtxt";
    EXPECT_EQ(two.out.find(said), two.out.rfind(said)) << two.out;
    EXPECT_NE(two.out.find(said), std::string::npos) << two.out;
    EXPECT_EQ(two.out.find("pass@1       "), two.out.rfind("pass@1       ")) << two.out;  // one table
    auto samples = [](const std::string& d) { return Unxz(ReadFile(d + "/samples.jsonl.xz"), d); };
    EXPECT_EQ(samples(dir + "/eval-two"), samples(dir + "/eval-one"));
    EvalRecord e1, e2;
    RecordFromJson(ReadFile(dir + "/eval-one/eval.json"), "one", &e1);
    RecordFromJson(ReadFile(dir + "/eval-two/eval.json"), "two", &e2);
    EXPECT_GT(e1.seconds(), 0);
    e1.clear_seconds();
    e2.clear_seconds();
    EXPECT_NEAR(e2.flops(), e1.flops(), 1e-9 * e1.flops());
    e2.set_flops(e1.flops());
    EXPECT_EQ(RecordToJson(e2), RecordToJson(e1));
    EXPECT_EQ(e1.problems(), 7);
  }

  // Rerun: the base is cached and finished runs are skipped; a partial base
  // checkpoint left by a stop just before its removal goes.
  const std::string partial = base_stem + ".partial.pt";
  WriteFileAtomic(partial, "left over");
  // A run made before a field existed (its identity lacks the field, whose
  // default keeps the old behaviour) is still this run, and is skipped.
  const std::string id_path = exp + "/runs/sft/seed-1/run_config.pbtxt", id = ReadFile(id_path);
  const std::string field = "  train_prompts: ALL_PROMPTS\n";
  ASSERT_NE(id.find(field), std::string::npos) << id;
  WriteFileAtomic(id_path, Replace(id, field, ""));
  r = RunCli("run " + dir + "/c.pbtxt --out " + dir);
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_FALSE(FileExists(partial));
  EXPECT_NE(r.out.find("base: cached"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("held-out pass@1"), std::string::npos) << r.out;
  EXPECT_EQ(ReadFile(exp + "/summary.md"), summary);
  // A value that differs is another run: refused, naming the line; every
  // such folder is named at once, so that one deletion clears them.
  WriteFileAtomic(id_path, Replace(id, field, "  train_prompts: VERIFIABLE_PROMPTS\n"));
  r = RunCli("run " + dir + "/c.pbtxt --out " + dir);
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("holds a run of a different config"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("delete that folder"), std::string::npos) << r.out;
  const std::string id2_path = exp + "/runs/sft/seed-2/run_config.pbtxt", id2 = ReadFile(id2_path);
  WriteFileAtomic(id2_path, Replace(id2, field, "  train_prompts: VERIFIABLE_PROMPTS\n"));
  r = RunCli("run " + dir + "/c.pbtxt --out " + dir);
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find(exp + "/runs/sft/seed-1 holds a run of a different config"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("; so do 1 more (" + exp + "/runs/sft/seed-2): delete those folders"), std::string::npos)
      << r.out;
  WriteFileAtomic(id_path, id);
  WriteFileAtomic(id2_path, id2);

  // A second runner on the same folder is refused. The lock is on the folder
  // itself, so deleting a file inside it (a stale-looking .lock) does not
  // let the second runner in.
  const int fd = ::open(exp.c_str(), O_RDONLY | O_DIRECTORY);
  ASSERT_EQ(::flock(fd, LOCK_EX | LOCK_NB), 0);
  std::remove((exp + "/.lock").c_str());
  r = RunCli("run " + dir + "/c.pbtxt --out " + dir);
  EXPECT_EQ(r.code, 3) << r.out;
  EXPECT_NE(r.out.find("another r1lab run"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(exp + " is locked"), std::string::npos) << r.out;
  ::close(fd);
  // Released, the folder is the next runner's.
  r = RunCli("run " + dir + "/c.pbtxt --out " + dir);
  EXPECT_EQ(r.code, 0) << r.out;
}

}  // namespace
}  // namespace r1lab

namespace r1lab {
namespace {

constexpr const char* kTinyGrpo = R"(
name: "tiny_grpo"
threads: 1
seeds: [1]
task { arith { min_ops: 1 max_ops: 2 } num_test: 40 }
model { d_model: 32 n_layers: 1 n_heads: 2 d_ff: 64 max_seq_len: 64 }
pretrain { steps: 200 batch_size: 32 log_every: 50 optim { lr: 1e-2 warmup_steps: 10 } }
eval { num_problems: 16 samples_per_problem: 4 eval_every: 4 sampling { max_new_tokens: 30 } }
arms { name: "grpo" grpo { steps: 40 prompts_per_step: 8 group_size: 8 sampling { max_new_tokens: 30 }
                           optim { lr: 1e-3 warmup_steps: 0 } } }
)";

// Every line of the run's metrics without its wall-clock fields.
std::string Numbers(const std::string& path) {
  std::string out;
  for (const std::string& line : ReadLines(path)) {
    std::string kept;
    for (size_t i = 0; i < line.size();) {
      bool skipped = false;
      for (const char* key : {"\"wall_s\":", "\"seconds\":", "\"time_generate_s\":", "\"time_score_s\":",
                              "\"time_train_s\":", "\"time_step_s\":"}) {
        if (line.compare(i, std::strlen(key), key) == 0) {
          i = line.find_first_of(",}", i + std::strlen(key));
          skipped = true;
          break;
        }
      }
      if (!skipped) kept += line[i++];
    }
    out += kept + "\n";
  }
  return out;
}

// kill -9 in the middle of a run, rerun: the same final numbers as a run
// that was never interrupted.
TEST(Cli, ResumeAfterKillNineGivesTheSameNumbers) {
  const std::string dir = testing::TempDir("cli_kill");
  WriteFileAtomic(dir + "/c.pbtxt", kTinyGrpo);
  Result r = RunCli("run " + dir + "/c.pbtxt --out " + dir + "/straight");
  ASSERT_EQ(r.code, 0) << r.out;
  const std::string run_a = dir + "/straight/tiny_grpo/runs/grpo/seed-1";

  // The interrupted one: the base first (so the kill lands in GRPO), then
  // GRPO started in the background and killed once its first checkpoint exists.
  const std::string out_b = dir + "/killed";
  const std::string run_b = out_b + "/tiny_grpo/runs/grpo/seed-1";
  std::filesystem::create_directories(out_b);
  std::filesystem::copy(dir + "/straight/.cache", out_b + "/.cache", std::filesystem::copy_options::recursive);
  const std::string pidfile = dir + "/pid";
  std::system((std::string(R1LAB_BINARY) + " run " + dir + "/c.pbtxt --out " + out_b + " > " + dir +
               "/killed.log 2>&1 & echo $! > " + pidfile)
                  .c_str());
  int pid = 0;
  for (int i = 0; i < 500 && pid == 0; ++i) {
    if (FileExists(pidfile)) pid = std::atoi(ReadFile(pidfile).c_str());
    ::usleep(10000);
  }
  ASSERT_GT(pid, 0);
  bool killed = false;
  for (int i = 0; i < 3000 && !killed; ++i) {
    if (FileExists(run_b + "/checkpoint.pt")) {
      ::kill(pid, SIGKILL);
      killed = true;
    }
    ::usleep(5000);
  }
  ASSERT_TRUE(killed) << ReadFile(dir + "/killed.log");
  while (::kill(pid, 0) == 0) ::usleep(10000);
  ASSERT_FALSE(FileExists(run_b + "/done.json")) << "the run finished before the kill; make it longer";
  const std::string partial = ReadFile(run_b + "/metrics.jsonl");

  r = RunCli("run " + dir + "/c.pbtxt --out " + out_b);
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("resum"), std::string::npos) << r.out;
  EXPECT_EQ(Numbers(run_b + "/metrics.jsonl.xz"), Numbers(run_a + "/metrics.jsonl.xz")) << "partial:\n" << partial;
  EXPECT_EQ(Numbers(run_b + "/eval.json"), Numbers(run_a + "/eval.json"));
}

// Several ranks (issue #20): `--nproc 2` deals the runs out and writes what
// one process writes; a rank killed mid-run stops the job with an error
// naming it, and the rerun resumes both ranks' runs from their checkpoints;
// ranks started from the environment (as torchrun does) end with an error
// at the next round when a peer is gone, never a hang.
TEST(Cli, TwoRanksWriteWhatOneWritesAndAKilledRankResumes) {
  const std::string dir = testing::TempDir("cli_ranks");
  const std::string head = R"(name: "tiny" threads: 1 seeds: [1, 2]
task { arith { min_ops: 1 max_ops: 2 } num_test: 40 }
model { d_model: 32 n_layers: 1 n_heads: 2 d_ff: 64 max_seq_len: 64 }
pretrain { steps: 60 batch_size: 8 log_every: 10 }
eval { num_problems: 10 samples_per_problem: 2 eval_every: 5 sampling { max_new_tokens: 30 } }
)";
  // A pipeline: GRPO starts from the SFT stage's final checkpoint, so its
  // runs wait for a round in which both ranks finish their SFT runs.
  // Three seeds deal grpo seed 1 to rank 1 and its SFT stage to rank 0.
  WriteFileAtomic(dir + "/c.pbtxt", Replace(head, "seeds: [1, 2]", "seeds: [1, 2, 3]") +
                                        R"(arms { name: "sft" sft { steps: 10 batch_size: 8 log_every: 5 } }
arms { name: "grpo" init_from: "sft" grpo { steps: 6 prompts_per_step: 4 group_size: 4 sampling { max_new_tokens: 30 } } })");
  Result one = RunCli("run " + dir + "/c.pbtxt --out " + dir + "/one");
  ASSERT_EQ(one.code, 0) << one.out;
  Result two = RunCli("run " + dir + "/c.pbtxt --out " + dir + "/two --nproc 2");
  ASSERT_EQ(two.code, 0) << two.out;
  EXPECT_NE(two.out.find("rank 0 sft seed 1"), std::string::npos) << two.out;
  EXPECT_NE(two.out.find("rank 1 grpo seed 1"), std::string::npos) << two.out;
  const std::string started = ReadFile(dir + "/two/tiny/runs/grpo/seed-1/run_config.pbtxt");
  EXPECT_NE(started.find("# init_from weights fnv64: " +
                         CheckpointWeightsHash(dir + "/two/tiny/runs/sft/seed-1/checkpoint.pt")),
            std::string::npos)
      << "started from the SFT stage's final checkpoint, written by the other rank\n" << started;
  EXPECT_EQ(started, ReadFile(dir + "/one/tiny/runs/grpo/seed-1/run_config.pbtxt")) << "the same start as one rank's";
  for (const char* run : {"sft/seed-1", "sft/seed-2", "sft/seed-3", "grpo/seed-1", "grpo/seed-2", "grpo/seed-3"}) {
    const std::string a = dir + "/one/tiny/runs/" + run, b = dir + "/two/tiny/runs/" + run;
    EXPECT_EQ(ReadFile(a + "/samples.jsonl.xz"), ReadFile(b + "/samples.jsonl.xz")) << run;
    EXPECT_EQ(Numbers(a + "/eval.json"), Numbers(b + "/eval.json")) << run;
    EXPECT_EQ(Numbers(a + "/metrics.jsonl.xz"), Numbers(b + "/metrics.jsonl.xz")) << run;
  }
  auto without_wall = [](const std::string& md) {  // each table row but its last cell (wall seconds, the machine)
    std::string out;
    for (const std::string& line : SplitLines(md)) {
      const size_t last = line.size() > 1 && line.front() == '|' && line.back() == '|' ? line.rfind('|', line.size() - 2)
                                                                                       : std::string::npos;
      out += (last == std::string::npos ? line : line.substr(0, last)) + "\n";
    }
    return out;
  };
  EXPECT_EQ(without_wall(ReadFile(dir + "/two/tiny/summary.md")), without_wall(ReadFile(dir + "/one/tiny/summary.md")));

  // Kill rank 1 in the middle of its run.
  WriteFileAtomic(dir + "/k.pbtxt", head + R"(arms { name: "grpo" grpo { steps: 150 prompts_per_step: 4 group_size: 4
  sampling { max_new_tokens: 30 } } })");
  auto start = [&](const std::string& out, const std::string& env, const std::string& flags, const std::string& log) {
    std::filesystem::create_directories(dir + "/" + out);
    std::filesystem::copy(dir + "/one/.cache", dir + "/" + out + "/.cache",
                          std::filesystem::copy_options::recursive | std::filesystem::copy_options::skip_existing);
    const std::string pidfile = dir + "/" + log + ".pid";
    std::remove(pidfile.c_str());
    std::system((env + " " + R1LAB_BINARY + " run " + dir + "/k.pbtxt --out " + dir + "/" + out + flags + " > " + dir +
                 "/" + log + " 2>&1 & echo $! > " + pidfile)
                    .c_str());
    int pid = 0;
    for (int i = 0; i < 500 && pid == 0; ++i, ::usleep(10000))
      if (FileExists(pidfile)) pid = std::atoi(ReadFile(pidfile).c_str());
    return pid;
  };
  auto rank_of = [](int pid) {  // the RANK in a process's environment, -1 if none
    const std::string path = "/proc/" + std::to_string(pid) + "/environ";
    const std::string env = FileExists(path) ? ReadFile(path) : "";
    for (size_t p = env.find("RANK="); p != std::string::npos; p = env.find("RANK=", p + 1))
      if (p == 0 || env[p - 1] == '\0') return std::atoi(env.c_str() + p + 5);
    return -1;
  };
  const std::string run1 = dir + "/k/tiny/runs/grpo/seed-2";
  const int launcher = start("k", "", " --nproc 2", "k.log");
  ASSERT_GT(launcher, 0);
  int victim = 0;
  for (int i = 0; i < 3000 && victim == 0; ++i, ::usleep(5000)) {
    if (!FileExists(run1 + "/checkpoint.pt")) continue;
    for (const auto& e : std::filesystem::directory_iterator("/proc")) {
      const int pid = std::atoi(e.path().filename().c_str());
      if (pid <= 0 || !FileExists(e.path().string() + "/stat")) continue;
      const std::string stat = ReadFile(e.path().string() + "/stat");
      const size_t paren = stat.rfind(')');
      if (paren != std::string::npos && std::atoi(stat.c_str() + paren + 4) == launcher && rank_of(pid) == 1) victim = pid;
    }
  }
  ASSERT_GT(victim, 0) << ReadFile(dir + "/k.log");
  ::kill(victim, SIGKILL);
  while (::kill(launcher, 0) == 0) ::usleep(10000);
  const std::string killed_log = ReadFile(dir + "/k.log");
  EXPECT_NE(killed_log.find("rank 1 of 2 ended with exit code 137; stopping the others"), std::string::npos) << killed_log;
  ASSERT_FALSE(FileExists(run1 + "/done.json")) << "the run finished before the kill; make it longer";
  const Result resumed = RunCli("run " + dir + "/k.pbtxt --out " + dir + "/k --nproc 2");
  ASSERT_EQ(resumed.code, 0) << resumed.out;
  EXPECT_NE(resumed.out.find("rank 1 grpo seed 2: resumed from"), std::string::npos) << resumed.out;
  EXPECT_TRUE(FileExists(run1 + "/done.json"));
  EXPECT_TRUE(FileExists(dir + "/k/tiny/summary.md"));

  // Ranks from the environment, no launcher: rank 0 finishes its run and
  // finds its peer gone at the round's end.
  const std::string port = std::to_string(20000 + ::getpid() % 20000);
  const std::string env = "WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=" + port + " RANK=";
  const int r0 = start("e", env + "0", "", "e0.log"), r1 = start("e", env + "1", "", "e1.log");
  ASSERT_GT(r0, 0);
  ASSERT_GT(r1, 0);
  for (int i = 0; i < 3000 && !FileExists(dir + "/e/tiny/runs/grpo/seed-2/checkpoint.pt"); ++i) ::usleep(5000);
  ::kill(r1, SIGKILL);
  while (::kill(r0, 0) == 0) ::usleep(10000);
  const std::string e0 = ReadFile(dir + "/e0.log");
  EXPECT_NE(e0.find("rank 0 of 2: waiting for the other ranks' runs failed (a peer is gone"), std::string::npos) << e0;
  EXPECT_TRUE(FileExists(dir + "/e/tiny/runs/grpo/seed-1/done.json")) << "rank 0's own run finished";

  // Data-parallel: both ranks in every step of grpo seed 1, so rank 0 finds
  // its peer gone at the next all-reduce; the rerun resumes from rank 0's
  // checkpoint on both ranks.
  const std::string shared = dir + "/d/tiny/runs/grpo/seed-1";
  const int d0 = start("d", env + "0", " --data-parallel", "d0.log"), d1 = start("d", env + "1", " --data-parallel", "d1.log");
  ASSERT_GT(d0, 0);
  ASSERT_GT(d1, 0);
  for (int i = 0; i < 3000 && !FileExists(shared + "/checkpoint.pt"); ++i) ::usleep(5000);
  ::kill(d1, SIGKILL);
  while (::kill(d0, 0) == 0) ::usleep(10000);
  // Rank 0 finds its peer gone in a step's all-reduce, or, killed just after
  // a checkpoint, at the long barrier every rank meets after each one.
  const std::string dlog = ReadFile(dir + "/d0.log");
  EXPECT_TRUE(dlog.find("rank 0 of 2: all-reduce failed (a peer is gone") != std::string::npos ||
              dlog.find("rank 0 of 2: waiting for the other ranks' runs failed (a peer is gone") != std::string::npos)
      << dlog;
  ASSERT_FALSE(FileExists(shared + "/done.json")) << "the run finished before the kill; make it longer";
  const Result again = RunCli("run " + dir + "/k.pbtxt --out " + dir + "/d --nproc 2 --data-parallel");
  ASSERT_EQ(again.code, 0) << again.out;
  EXPECT_NE(again.out.find("rank 1 grpo seed 1: resumed from"), std::string::npos) << again.out;
  EXPECT_TRUE(FileExists(shared + "/done.json"));
}

// Ranks started by hand (torchrun's environment) on output folders that
// are not one shared folder, or on different configs, stop before any
// pretraining, each with an error saying what differs; the folder rank 0
// writes to holds no run. What two machines without a shared mount, or
// with another CONFIG on one, would do.
TEST(Cli, RanksOnFoldersThatAreNotSharedOrOnOtherConfigsStopBeforeAnyWork) {
  const std::string dir = testing::TempDir("cli_not_shared");
  WriteFileAtomic(dir + "/c.pbtxt", std::string(kTiny) + R"(arms { name: "grpo" grpo { steps: 2 prompts_per_step: 4 group_size: 4 } })");
  int port = 20000 + ::getpid() % 20000;
  auto ranks = [&](const std::string& out1, const std::string& flags1) {
    const std::string env = "R1LAB_SHARED_FOLDER_WAIT_S=1 WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=" +
                            std::to_string(port++) + " RANK=";
    auto rank = [&](int r, const std::string& out, const std::string& flags) {
      return "(" + env + std::to_string(r) + " " + R1LAB_BINARY + " run " + dir + "/c.pbtxt --out " + out + flags +
             " > " + dir + "/r" + std::to_string(r) + ".log 2>&1; echo $? > " + dir + "/r" + std::to_string(r) + ".rc)";
    };
    std::system((rank(0, dir + "/shared", "") + " & " + rank(1, out1, flags1) + "; wait").c_str());
    std::vector<Result> out;
    for (int r = 0; r < 2; ++r) {
      const std::string p = dir + "/r" + std::to_string(r);
      out.push_back({std::atoi(ReadFile(p + ".rc").c_str()), ReadFile(p + ".log")});
    }
    return out;
  };
  std::vector<Result> r = ranks(dir + "/local", "");
  EXPECT_NE(r[0].code, 0);
  EXPECT_NE(r[0].out.find("rank 0 of 2: 1 of 2 ranks do not see rank 0's output folder " + dir + "/shared"),
            std::string::npos)
      << r[0].out;
  EXPECT_NE(r[1].code, 0);
  EXPECT_NE(r[1].out.find("rank 1 of 2: the output folder " + dir + "/local is not rank 0's"), std::string::npos)
      << r[1].out;
  EXPECT_NE(r[1].out.find("is not there for this rank after 1 s"), std::string::npos) << r[1].out;
  EXPECT_FALSE(FileExists(dir + "/shared/tiny")) << "work began";

  r = ranks(dir + "/shared", " --set seeds=[3]");
  EXPECT_NE(r[0].code, 0);
  EXPECT_NE(r[0].out.find("rank 0 of 2: 1 of 2 ranks run another experiment than rank 0's"), std::string::npos)
      << r[0].out;
  EXPECT_NE(r[1].out.find("rank 1 of 2: this rank's experiment differs from rank 0's"), std::string::npos) << r[1].out;
  EXPECT_FALSE(FileExists(dir + "/shared/tiny")) << "work began";
}

// --data-parallel: both ranks step through every run, of every strategy
// (half the prompts, problems or rows each, gradients summed), rank 0 writes
// every file once; a run costs what one process's does, so FLOP budgets stop
// both ranks together.
TEST(Cli, DataParallelRanksShareEveryRun) {
  const std::string dir = testing::TempDir("cli_dp");
  const std::string cfg = R"(name: "tiny" threads: 1 seeds: [1]
task { arith { min_ops: 1 max_ops: 2 } num_test: 40 }
model { d_model: 32 n_layers: 1 n_heads: 2 d_ff: 64 max_seq_len: 64 }
pretrain { steps: 60 batch_size: 8 log_every: 10 }
eval { num_problems: 10 samples_per_problem: 2 eval_every: 3 sampling { max_new_tokens: 30 } }
arms { name: "sft" sft { steps: 6 batch_size: 8 log_every: 3 } }
arms { name: "grpo" grpo { steps: 6 prompts_per_step: 4 group_size: 4 sampling { max_new_tokens: 30 } } }
arms { name: "ppo" ppo { steps: 6 prompts_per_step: 8 minibatches: 2 critic_warmup_batches: 1
                         sampling { max_new_tokens: 30 } } }
arms { name: "rft" rft { steps: 2 problems_per_step: 4 samples_per_problem: 2 sft_steps: 1 batch_size: 4
                         sampling { max_new_tokens: 30 } } }
arms { name: "rft_wide" rft { steps: 2 problems_per_step: 4 samples_per_problem: 4 sft_steps: 1 batch_size: 4
                              sampling { max_new_tokens: 30 } } }
arms { name: "prm" prm_rl { grpo { steps: 6 prompts_per_step: 4 group_size: 4 sampling { max_new_tokens: 30 } }
                            reward_model { label_traces: 8 label_n: 2 train_steps: 3 batch_size: 4 }
                            shift_problems: 4 } }
arms { name: "mcts" mcts { steps: 1 problems_per_step: 2 sft_steps: 1 batch_size: 4
       search { nodes: TOKEN_NODES simulations: 4 leaf_batch: 2 leaf_value: VALUE_NETWORK sampling { max_new_tokens: 30 } }
       value { pretrain_traces: 4 label_n: 2 pretrain_steps: 2 steps_per_iteration: 1 batch_size: 4 } } }
arms { name: "mcts_wide" mcts { steps: 1 problems_per_step: 4 sft_steps: 1 batch_size: 4
       search { nodes: TOKEN_NODES simulations: 4 leaf_batch: 2 leaf_value: VALUE_NETWORK sampling { max_new_tokens: 30 } }
       value { pretrain_traces: 4 label_n: 2 pretrain_steps: 2 steps_per_iteration: 1 batch_size: 4 } } }
)";
  WriteFileAtomic(dir + "/c.pbtxt", cfg);
  const Result one = RunCli("run " + dir + "/c.pbtxt --out " + dir + "/one");
  ASSERT_EQ(one.code, 0) << one.out;
  const Result dp = RunCli("run " + dir + "/c.pbtxt --out " + dir + "/dp --nproc 2 --data-parallel");
  ASSERT_EQ(dp.code, 0) << dp.out;
  EXPECT_NE(dp.out.find("rank 1 grpo seed 1"), std::string::npos) << dp.out;
  EXPECT_NE(dp.out.find("rank 1 ppo seed 1"), std::string::npos) << dp.out;
  EXPECT_NE(dp.out.find("rank 1 sft seed 1"), std::string::npos) << dp.out;
  EXPECT_NE(dp.out.find("rank 1 prm seed 1: labelling 8 base samples"), std::string::npos) << dp.out;
  EXPECT_NE(dp.out.find("rank 1 rft seed 1"), std::string::npos) << dp.out;
  EXPECT_NE(dp.out.find("rank 1 rft_wide seed 1"), std::string::npos) << dp.out;
  EXPECT_NE(dp.out.find("rank 1 mcts seed 1: labelling 4 base samples"), std::string::npos) << dp.out;
  EXPECT_NE(dp.out.find("rank 1 mcts_wide seed 1"), std::string::npos) << dp.out;
  // The base too, pretrained by both ranks and cached apart from one
  // process's base of the same config.
  EXPECT_NE(dp.out.find("rank 1 pretrain base"), std::string::npos) << dp.out;
  int dp_bases = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir + "/dp/.cache")) {
    const std::string name = e.path().filename().string();
    if (e.path().extension() != ".pt") continue;
    EXPECT_NE(name.find("-dp2.pt"), std::string::npos) << name;
    EXPECT_TRUE(FileExists(dir + "/one/.cache/" + Replace(name, "-dp2.pt", ".pt"))) << name;
    ++dp_bases;
  }
  EXPECT_EQ(dp_bases, 1);
  EXPECT_TRUE(FileExists(dir + "/dp/tiny/summary.md"));
  const std::vector<SampleRecord> base_samples = ReadSamples(dir + "/dp/tiny/base/samples.jsonl.xz");
  ASSERT_EQ(base_samples.size(), 20u);  // the base's evaluation, shared: every problem's samples
  EXPECT_EQ(base_samples.back().problem(), 9);
  for (const char* arm : {"sft", "grpo", "ppo", "prm", "rft", "rft_wide", "mcts", "mcts_wide"}) {
    const std::string a = dir + "/one/tiny/runs/" + arm + "/seed-1", b = dir + "/dp/tiny/runs/" + arm + "/seed-1";
    ASSERT_TRUE(FileExists(b + "/done.json")) << arm;
    // The same metrics lines, once each: 6 steps (logged as configured), 2
    // evals, and PPO's critic warm-up.
    auto steps = [](const std::string& xz) {
      std::string out;
      std::istringstream in(Unxz(ReadFile(xz), xz));
      for (std::string line; std::getline(in, line);) {
        const size_t at = line.find("\"step\":");
        out += (at == std::string::npos ? "?" : line.substr(at + 7, line.find_first_of(",}", at) - at - 7)) +
               (line.find("\"eval\"") != std::string::npos ? "e " : " ");
      }
      return out;
    };
    EXPECT_EQ(steps(b + "/metrics.jsonl.xz"), steps(a + "/metrics.jsonl.xz")) << arm;
    // The ranks shared its evaluations: every problem's samples are written.
    EXPECT_EQ(ReadSamples(b + "/samples.jsonl.xz").size(), 20u) << arm;
    DoneRecord da, db;
    RecordFromJson(ReadFile(a + "/done.json"), a, &da);
    RecordFromJson(ReadFile(b + "/done.json"), b, &db);
    if (std::string(arm) == "sft") {  // one process's batches, rows shared: the very same cost
      EXPECT_EQ(db.flops(), da.flops());
      continue;
    }
    // Other samples (each rank draws its own), the same cost: every rank's
    // FLOPs and oracle calls are counted, once. (RFT's fine-tuning costs what
    // its kept samples do, which other samples change.)
    const bool rft = std::string(arm).substr(0, 3) == "rft";
    const double a_flops = rft ? da.flops_by_phase().generate() : da.flops();
    const double b_flops = rft ? db.flops_by_phase().generate() : db.flops();
    EXPECT_GT(b_flops, 0.75 * a_flops) << arm;
    EXPECT_LT(b_flops, 1.33 * a_flops) << arm;
    // (The reward model's labels take as many calls as its samples have
    // steps; an MCTS search verifies the finished lines its trees visit.)
    if (std::string(arm) != "prm" && std::string(arm).substr(0, 4) != "mcts") {
      EXPECT_EQ(db.oracle_calls(), da.oracle_calls()) << arm;
    }
  }
  // A step's prompts must split evenly over the ranks.
  WriteFileAtomic(dir + "/odd.pbtxt", Replace(cfg, "prompts_per_step: 4", "prompts_per_step: 5"));
  const Result odd = RunCli("run " + dir + "/odd.pbtxt --out " + dir + "/odd --nproc 2 --data-parallel");
  EXPECT_NE(odd.code, 0);
  EXPECT_NE(odd.out.find("arms[1].grpo.prompts_per_step: 5 does not split evenly over 2 data-parallel ranks"),
            std::string::npos) << odd.out;

  // One process's runs rerun with --data-parallel, and the other way round:
  // refused before the base is pretrained the other way.
  auto bases_in = [](const std::string& cache) {
    std::string names;
    for (const auto& e : std::filesystem::directory_iterator(cache))
      if (e.path().extension() == ".pt") names += e.path().filename().string() + " ";
    return names;
  };
  const std::string one_bases = bases_in(dir + "/one/.cache"), dp_bases_now = bases_in(dir + "/dp/.cache");
  const Result mixed = RunCli("run " + dir + "/c.pbtxt --out " + dir + "/one --nproc 2 --data-parallel");
  EXPECT_NE(mixed.code, 0);
  EXPECT_NE(mixed.out.find("/one/tiny/runs/sft/seed-1 holds a run of the base pretrained by one process"),
            std::string::npos) << mixed.out;
  EXPECT_NE(mixed.out.find("with --data-parallel over 2 ranks it pretrains its own, whose sums run in another order "
                           "(run without --data-parallel to keep these runs)"),
            std::string::npos) << mixed.out;
  EXPECT_EQ(bases_in(dir + "/one/.cache"), one_bases) << "a data-parallel base was pretrained first";
  const Result back = RunCli("run " + dir + "/c.pbtxt --out " + dir + "/dp");
  EXPECT_NE(back.code, 0);
  EXPECT_NE(back.out.find("holds a run of the base pretrained data-parallel over 2 ranks"), std::string::npos) << back.out;
  EXPECT_NE(back.out.find("(run with --data-parallel over 2 ranks to keep these runs)"), std::string::npos) << back.out;
  EXPECT_EQ(bases_in(dir + "/dp/.cache"), dp_bases_now) << "one process's base was pretrained first";
}

// "| grpo | 1 | 3.1 | - |" -> "| grpo | (n) | (n) | (n) |": every cell after
// the row's name that holds a digit or is "-" (no value: whether a value
// exists is the trained numbers' doing too, e.g. the pass@1 of reflective
// responses where a run wrote none).
std::string MaskNumbers(const std::string& row) {
  std::vector<std::string> cells;
  size_t start = 0;
  for (size_t bar; (bar = row.find('|', start)) != std::string::npos; start = bar + 1)
    cells.push_back(row.substr(start, bar - start));
  std::string out;
  for (size_t c = 0; c < cells.size(); ++c) {
    const bool number = c >= 2 && (cells[c].find_first_of("0123456789") != std::string::npos || cells[c] == " - ");
    out += (number ? std::string(" (n) ") : cells[c]) + "|";
  }
  return out;
}

// A tiny experiment's summary.md against the committed copy, for structure:
// the sections, columns, rows and notes. Every number in a table row is
// masked: trained numbers are exact only on one machine (another ISA, BLAS
// kernel or thread count trains to others), and two runs on the same machine
// are compared exactly by Cli.ResumeAfterKillNineGivesTheSameNumbers.
// Regenerate after an intended change with R1LAB_UPDATE_GOLDEN=1.
TEST(Cli, GoldenSummaryOfATinyExperiment) {
  const std::string dir = testing::TempDir("cli_golden");
  WriteFileAtomic(dir + "/c.pbtxt", kTinyGrpo);
  const Result r = RunCli("run " + dir + "/c.pbtxt --out " + dir);
  ASSERT_EQ(r.code, 0) << r.out;
  std::string summary;
  bool provenance = false;  // its rows name this machine and commit: masked
  for (const std::string& line : ReadLines(dir + "/tiny_grpo/summary.md")) {
    std::string l = line;
    provenance = provenance || l == "## Provenance";
    const bool row = l.rfind("| ", 0) == 0 && l.find("---") == std::string::npos;
    if (row && provenance && l.find("| made |") == std::string::npos) {
      l = l.substr(0, l.find(" | ")) + " | (commit) | (machine) |";
    } else if (row && l.find("| arm |") == std::string::npos) {
      l = MaskNumbers(l);
    }
    summary += l + "\n";
  }
  const std::string golden = std::string(R1LAB_SOURCE_DIR) + "/tests/golden/tiny_grpo_summary.md";
  if (std::getenv("R1LAB_UPDATE_GOLDEN")) WriteFileAtomic(golden, summary);
  EXPECT_EQ(summary, ReadFile(golden));
  // The reflection section's plot: aha episodes and reflective responses by step, base and arm.
  const std::string reflection = ReadFile(dir + "/tiny_grpo/plots/reflection.dat");
  EXPECT_NE(reflection.find("# base\n# step aha_rate reflective_rate checks_add\n0 "), std::string::npos) << reflection;
  EXPECT_NE(reflection.find("# grpo\n"), std::string::npos) << reflection;

  // The finished run is skipped when its config is unchanged, and refused
  // (nothing overwritten) when the arm changed under the same name.
  const std::string done = ReadFile(dir + "/tiny_grpo/runs/grpo/seed-1/done.json");
  EXPECT_EQ(RunCli("run " + dir + "/c.pbtxt --out " + dir).code, 0);
  std::string changed = kTinyGrpo;
  changed.replace(changed.find("lr: 1e-3"), 8, "lr: 2e-3");
  WriteFileAtomic(dir + "/changed.pbtxt", changed);
  const Result refused = RunCli("run " + dir + "/changed.pbtxt --out " + dir);
  EXPECT_EQ(refused.code, 2) << refused.out;
  EXPECT_NE(refused.out.find("runs/grpo/seed-1 holds a run of a different config"), std::string::npos) << refused.out;
  EXPECT_EQ(ReadFile(dir + "/tiny_grpo/runs/grpo/seed-1/done.json"), done);
  EXPECT_NE(done.find("\"machine\":{\"cpu\":"), std::string::npos) << done;
  EXPECT_NE(done.find("\"peak_memory_mb\":"), std::string::npos) << done;

  // Another base checkpoint under the same config (the cache rebuilt by other
  // code or on another machine): the runs are refused, and once their folder
  // is deleted as the error says, the base is evaluated again, not reused.
  std::string cached;
  for (const auto& e : std::filesystem::directory_iterator(dir + "/.cache"))
    if (e.path().extension() == ".pt") cached = e.path().string();
  ASSERT_FALSE(cached.empty());
  std::filesystem::copy_file(dir + "/tiny_grpo/runs/grpo/seed-1/checkpoint.pt", cached,
                             std::filesystem::copy_options::overwrite_existing);
  const Result other_base = RunCli("run " + dir + "/c.pbtxt --out " + dir);
  EXPECT_EQ(other_base.code, 2) << other_base.out;
  EXPECT_NE(other_base.out.find("holds a run of another base checkpoint"), std::string::npos) << other_base.out;
  testing::RemoveTree(dir + "/tiny_grpo/runs");
  const Result rerun = RunCli("run " + dir + "/c.pbtxt --out " + dir);
  EXPECT_EQ(rerun.code, 0) << rerun.out;
  EXPECT_NE(rerun.out.find("made from another base checkpoint; evaluating this one"), std::string::npos) << rerun.out;

  // The label study runs on the cached base.
  std::string base;
  for (const auto& e : std::filesystem::directory_iterator(dir + "/.cache"))
    if (e.path().extension() == ".pt") base = e.path().string();
  ASSERT_FALSE(base.empty());
  const Result lq = RunCli("label-quality " + base + " --config " + dir + "/c.pbtxt --traces 6 --max-n 2");
  ASSERT_EQ(lq.code, 0) << lq.out;
  EXPECT_NE(lq.out.find("| line | 2 |"), std::string::npos) << lq.out;
  EXPECT_NE(lq.out.find("| 8 tokens | 1 |"), std::string::npos) << lq.out;
  EXPECT_EQ(RunCli("label-quality " + base + " --config " + dir + "/c.pbtxt --max-n 3").code, 2);
  // --out: the table, its data and the plot script.
  ASSERT_EQ(RunCli("label-quality " + base + " --config " + dir + "/c.pbtxt --traces 6 --max-n 2 --out " + dir +
                   "/lq").code, 0);
  EXPECT_NE(ReadFile(dir + "/lq/label_quality.md").find("| line | 2 |"), std::string::npos);
  EXPECT_NE(ReadFile(dir + "/lq/label_quality.gp").find("label_noise.svg"), std::string::npos);
  EXPECT_NE(ReadFile(dir + "/lq/label_quality.dat").find("# punctuation"), std::string::npos);

  // Token MCTS against sampling at equal FLOPs, one row per extension
  // limit, with the first tree as DOT and the report as markdown.
  const Result s = RunCli("search " + base + " --config " + dir + "/c.pbtxt --problems 2 --simulations 4 " +
                          "--max-children 1,3 --trees 1 --dot " + dir + "/tree.dot --out " + dir + "/search.md");
  ASSERT_EQ(s.code, 0) << s.out;
  EXPECT_NE(s.out.find("Token-level MCTS as play on 2 held-out problems"), std::string::npos) << s.out;
  EXPECT_NE(s.out.find("1 trees per batched call"), std::string::npos) << s.out;
  EXPECT_NE(s.out.find("\n| 4 | 1 | "), std::string::npos) << s.out;
  EXPECT_NE(s.out.find("\n| 4 | 3 | "), std::string::npos) << s.out;
  EXPECT_NE(s.out.find("The first problem (4 simulations per move, 1 children)"), std::string::npos) << s.out;
  EXPECT_NE(s.out.find("compare it with pass@k"), std::string::npos) << s.out;
  EXPECT_EQ(ReadFile(dir + "/tree.dot").rfind("digraph", 0), 0u);
  EXPECT_EQ(ReadFile(dir + "/search.md").rfind("`r1lab search ", 0), 0u);
  EXPECT_EQ(RunCli("search " + base + " --config " + dir + "/c.pbtxt --first-play 2").code, 2);
  EXPECT_EQ(RunCli("search " + base + " --config " + dir + "/c.pbtxt --max-children 2,x").code, 2);
  const Result v = RunCli("search " + base + " --config " + dir + "/c.pbtxt --problems 1 --simulations 2 --value-net 4");
  ASSERT_EQ(v.code, 0) << v.out;
  EXPECT_NE(v.out.find("leaf values: the value network"), std::string::npos) << v.out;
  EXPECT_NE(v.out.find("never sees the gold answer"), std::string::npos) << v.out;
  EXPECT_NE(v.out.find("| value network: prefix steps | prefixes |"), std::string::npos) << v.out;
  const Result st = RunCli("search " + base + " --config " + dir + "/c.pbtxt --problems 1 --simulations 2 --steps");
  ASSERT_EQ(st.code, 0) << st.out;
  EXPECT_NE(st.out.find("Step-level MCTS as play"), std::string::npos) << st.out;
  // Any SearchConfig field through --set search.FIELD (the flags are aliases
  // of the same fields), validated like a config file.
  const Result set = RunCli("search " + base + " --config " + dir +
                            "/c.pbtxt --problems 1 --simulations 2 --set search.nodes=STEP_NODES --set search.uct=true");
  ASSERT_EQ(set.code, 0) << set.out;
  EXPECT_NE(set.out.find("Step-level MCTS as play"), std::string::npos) << set.out;
  EXPECT_NE(set.out.find("UCT"), std::string::npos) << set.out;
  const Result bad = RunCli("search " + base + " --config " + dir + "/c.pbtxt --set search.c_puct=-1");
  EXPECT_EQ(bad.code, 2) << bad.out;
  EXPECT_NE(bad.out.find("c_puct"), std::string::npos) << bad.out;
  const Result unknown = RunCli("search " + base + " --config " + dir + "/c.pbtxt --set search.cpuct=2");
  EXPECT_EQ(unknown.code, 2) << unknown.out;
  EXPECT_NE(unknown.out.find("no field 'cpuct' in SearchConfig"), std::string::npos) << unknown.out;
}

}  // namespace
}  // namespace r1lab

namespace r1lab {
namespace {

// r1lab verify: one line out per line in, in order, errors named by line.
// A Hugging Face folder continues a prompt greedily with transformers'
// tokens (tests/fixtures/hf: greedy_0 after the first 8 tokens of ids_0).
// model.hf_folder: the strategies run unchanged on a Hugging Face model (the
// tiny Qwen2 fixture and its tokenizer), and it learns the task by SFT.
// model.precision BF16_MIXED (on the CPU here; the same autocast on CUDA):
// pretraining learns the format and every strategy runs; FLOAT64 with it is
// refused naming the field.
TEST(Cli, MixedPrecisionPretrainsAndRunsTheStrategies) {
  const std::string dir = testing::TempDir("cli_bf16");
  const std::string cfg = R"(
name: "bf" threads: 1 seeds: [1] task { arith { min_ops: 1 max_ops: 2 } num_test: 40 }
model { d_model: 32 n_layers: 2 n_heads: 2 d_ff: 64 max_seq_len: 64 precision: BF16_MIXED }
pretrain { steps: 300 batch_size: 16 log_every: 50 }
eval { num_problems: 20 samples_per_problem: 4 eval_every: 2 sampling { max_new_tokens: 40 } }
arms { name: "grpo" grpo { steps: 3 prompts_per_step: 4 group_size: 4 sampling { max_new_tokens: 40 } } }
arms { name: "ppo" ppo { steps: 2 prompts_per_step: 8 sampling { max_new_tokens: 40 } } }
arms { name: "prm_rl" prm_rl { grpo { steps: 2 prompts_per_step: 4 group_size: 4 sampling { max_new_tokens: 40 } }
       reward_model { kind: PRM label_traces: 8 label_n: 2 train_steps: 3 batch_size: 4 } } }
arms { name: "mcts" mcts { steps: 2 problems_per_step: 2 sft_steps: 1 batch_size: 4
       search { nodes: TOKEN_NODES simulations: 4 leaf_batch: 2 leaf_value: VALUE_NETWORK sampling { max_new_tokens: 40 } }
       value { pretrain_traces: 4 label_n: 2 pretrain_steps: 2 steps_per_iteration: 1 batch_size: 4 } } }
)";
  WriteFileAtomic(dir + "/c.pbtxt", cfg);
  const Result r = RunCli("run " + dir + "/c.pbtxt --out " + dir);
  ASSERT_EQ(r.code, 0) << r.out;
  for (const char* arm : {"grpo", "ppo", "prm_rl", "mcts"})
    EXPECT_TRUE(FileExists(dir + "/bf/runs/" + std::string(arm) + "/seed-1/done.json")) << arm;
  EXPECT_NE(ReadFile(dir + "/bf/config.pbtxt").find("precision: BF16_MIXED"), std::string::npos);
  std::string base_metrics;
  for (const auto& e : std::filesystem::directory_iterator(dir + "/.cache"))
    if (e.path().string().find(".metrics.jsonl") != std::string::npos) base_metrics = e.path().string();
  const std::vector<std::string> lines = ReadLines(base_metrics);
  ASSERT_FALSE(lines.empty());
  EXPECT_LT(JsonValue::Parse(lines.back()).num("loss"), 1.2) << lines.back();  // from ln(vocab), about 3.9
  EXPECT_GE(JsonValue::Parse(ReadFile(dir + "/bf/base/eval.json")).num("format_rate"), 0.5);

  WriteFileAtomic(dir + "/f64.pbtxt", Replace(cfg, "precision: BF16_MIXED", "precision: BF16_MIXED dtype: FLOAT64"));
  const Result f64 = RunCli("run " + dir + "/f64.pbtxt --out " + dir);
  EXPECT_EQ(f64.code, 2) << f64.out;
  EXPECT_NE(f64.out.find("model.precision"), std::string::npos) << f64.out;
}

TEST(Cli, StrategiesRunOnAHuggingFaceModelThatLearnsTheFormat) {
  const std::string folder = std::string(R1LAB_SOURCE_DIR) + "/tests/fixtures/hf/qwen2";
  const std::string dir = testing::TempDir("cli_hf");
  const std::string arms = R"(
arms { name: "grpo" grpo { steps: 3 prompts_per_step: 4 group_size: 4 sampling { max_new_tokens: 40 } } }
arms { name: "ppo" ppo { steps: 2 prompts_per_step: 8 sampling { max_new_tokens: 40 } } }
arms { name: "sft" sft { steps: 3 batch_size: 8 } }
arms { name: "prm_rl" prm_rl { grpo { steps: 2 prompts_per_step: 4 group_size: 4 sampling { max_new_tokens: 40 } }
       reward_model { kind: PRM label_traces: 8 label_n: 2 train_steps: 3 batch_size: 4 } } }
arms { name: "rft" rft { steps: 2 problems_per_step: 4 samples_per_problem: 4 sft_steps: 1 batch_size: 4
       sampling { max_new_tokens: 40 } } }
arms { name: "mcts_tokens" mcts { steps: 2 problems_per_step: 2 sft_steps: 1 batch_size: 4
       search { nodes: TOKEN_NODES simulations: 4 leaf_batch: 2 leaf_value: VALUE_NETWORK sampling { max_new_tokens: 40 } }
       value { pretrain_traces: 4 label_n: 2 pretrain_steps: 2 steps_per_iteration: 1 batch_size: 4 } } }
arms { name: "mcts_steps" mcts { steps: 2 problems_per_step: 2 sft_steps: 1 batch_size: 4
       search { nodes: STEP_NODES simulations: 4 leaf_batch: 2 sampling { max_new_tokens: 40 } } } }
)";
  const std::string head = "name: \"hf\" threads: 1 seeds: [1] task { arith { min_ops: 1 max_ops: 2 } num_test: 40 }\n"
                           "pretrain { steps: 300 batch_size: 16 log_every: 50 }\n"
                           "eval { num_problems: 10 samples_per_problem: 2 eval_every: 2 sampling { max_new_tokens: 40 } }\n";
  WriteFileAtomic(dir + "/c.pbtxt", head + "model { hf_folder: \"" + folder + "\" max_seq_len: 96 }\n" + arms);
  const Result r = RunCli("run " + dir + "/c.pbtxt --out " + dir);
  ASSERT_EQ(r.code, 0) << r.out;
  for (const char* arm : {"grpo", "ppo", "sft", "prm_rl", "rft", "mcts_tokens", "mcts_steps"})
    EXPECT_TRUE(FileExists(dir + "/hf/runs/" + std::string(arm) + "/seed-1/done.json")) << arm;
  // The resolved config has the model's real shape, from its config.json.
  const std::string resolved = ReadFile(dir + "/hf/config.pbtxt");
  for (const char* field : {"d_model: 32", "n_heads: 4", "n_kv_heads: 2", "d_ff: 64", "n_layers: 2"})
    EXPECT_NE(resolved.find(field), std::string::npos) << field;
  // Learning: SFT on the teacher's traces takes the random model's loss
  // from ln(1200) = 7.1 to below 1, and most held-out answers are well formed.
  std::string base_metrics;
  for (const auto& e : std::filesystem::directory_iterator(dir + "/.cache"))
    if (e.path().string().find(".metrics.jsonl") != std::string::npos) base_metrics = e.path().string();
  ASSERT_FALSE(base_metrics.empty());
  EXPECT_NE(base_metrics.find("-"), base_metrics.rfind("-")) << "the cached base is keyed by the folder's content too";
  const std::vector<std::string> lines = ReadLines(base_metrics);
  ASSERT_FALSE(lines.empty());
  EXPECT_LT(JsonValue::Parse(lines.back()).num("loss"), 1.0) << lines.back();
  EXPECT_GE(JsonValue::Parse(ReadFile(dir + "/hf/base/eval.json")).num("format_rate"), 0.5);

  // What contradicts its config.json is a config error naming the field.
  WriteFileAtomic(dir + "/wide.pbtxt", head + "model { hf_folder: \"" + folder + "\" d_model: 64 }\n" + arms);
  const Result wide = RunCli("run " + dir + "/wide.pbtxt --out " + dir);
  EXPECT_NE(wide.code, 0);
  EXPECT_NE(wide.out.find("model.d_model: 64, but " + folder + "/config.json gives hidden_size 32"), std::string::npos)
      << wide.out;
  WriteFileAtomic(dir + "/gone.pbtxt", head + "model { hf_folder: \"/nonexistent\" }\n" + arms);
  const Result gone = RunCli("run " + dir + "/gone.pbtxt --out " + dir);
  EXPECT_NE(gone.code, 0);
  EXPECT_NE(gone.out.find("/nonexistent/config.json"), std::string::npos) << gone.out;
}

// experiments/gsm8k_real_lm.pbtxt with the tiny Qwen2 fixture in place of a
// real model folder: its shape, arms and R1-Zero's template on GSM8K.
TEST(Cli, RealLmExperimentLoadsOnAModelFolderAndPutsProblemsInTheTemplate) {
  const std::string data = std::string(R1LAB_SOURCE_DIR) + "/../shared/data/gsm8k_test.jsonl";
  if (!FileExists(data)) GTEST_SKIP() << "no ../shared/data beside the clone (GSM8K)";
  const std::string folder = std::string(R1LAB_SOURCE_DIR) + "/tests/fixtures/hf/qwen2";
  const std::string config = std::string(R1LAB_SOURCE_DIR) + "/experiments/gsm8k_real_lm.pbtxt";
  const ExperimentConfig cfg = LoadExperiment(
      config, {"model.hf_folder=" + folder, "model.device=CPU", "model.max_seq_len=128", "task.dataset.path=" + data});
  EXPECT_EQ(cfg.model().d_model(), 32);
  EXPECT_EQ(cfg.model().n_kv_heads(), 2);
  std::vector<std::string> arms;
  for (const Arm& a : cfg.arms()) {
    arms.push_back(a.name());
    EXPECT_EQ(a.flop_budget(), cfg.arms(0).flop_budget()) << a.name();
  }
  EXPECT_EQ(arms, (std::vector<std::string>{"grpo", "ppo", "prm_rl", "mcts"}));
  Transformer m = MakeModel(cfg.model());
  const auto task = MakeTask(cfg.task());
  const Problem& p = task->TestSet().at(0);
  const std::string tmpl = cfg.model().prompt_template();
  ASSERT_NE(tmpl.find("<think> reasoning process here </think> <answer>"), std::string::npos) << "R1-Zero's, verbatim";
  EXPECT_TRUE(cfg.task().format_allows_whitespace()) << "so an answer in the template's format has the right format";
  const std::string put = tmpl.substr(0, tmpl.find("{prompt}")) + p.prompt + tmpl.substr(tmpl.find("{prompt}") + 8);
  EXPECT_EQ(m->tokenizer().EncodePrompt(p.prompt), HfTokenizer::Load(folder + "/tokenizer.json").Encode(put));
  // As committed, without the model folder: one error naming the file.
  try {
    LoadExperiment(config, {"task.dataset.path=" + data});
    FAIL() << "no error";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("models/Qwen2.5-0.5B/config.json"), std::string::npos) << e.what();
  }
}

TEST(Cli, LmGenerateContinuesAPromptAsTransformersDoes) {
  const std::string folder = std::string(R1LAB_SOURCE_DIR) + "/tests/fixtures/hf/llama3";
  const HfTokenizer tok = HfTokenizer::Load(folder + "/tokenizer.json");
  const auto expected = LoadSafetensors(folder + "/expected.safetensors");
  const torch::Tensor ids = expected.at("ids_0"), greedy = expected.at("greedy_0");
  const std::string prompt = tok.Decode(std::vector<int>(ids.data_ptr<int64_t>(), ids.data_ptr<int64_t>() + 8));
  ASSERT_EQ(tok.Encode(prompt).size(), 8u) << prompt;
  std::vector<int> want(greedy.data_ptr<int64_t>(), greedy.data_ptr<int64_t>() + greedy.numel());
  const auto eos = std::find(want.begin(), want.end(), 2);  // config.json's eos_token_id ends it
  if (eos != want.end()) want.erase(eos + 1, want.end());
  const std::string tmp = testing::TempDir("cli_lm");
  WriteFileAtomic(tmp + "/prompt.txt", prompt);
  const Result r = RunCli("lm-generate " + folder + " --max-new-tokens 8 --prompt \"$(cat " + tmp + "/prompt.txt)\"");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find(tok.Decode(want) + "\n"), std::string::npos) << r.out;
  const Result bad = RunCli("lm-generate /nonexistent --prompt hello");
  EXPECT_NE(bad.code, 0);
  EXPECT_NE(bad.out.find("/nonexistent/tokenizer.json"), std::string::npos) << bad.out;
}

// `r1lab lm-bench` on the CPU: its numbers in the JSON file, and --save's
// folder a Hugging Face model of the bench's shape in bfloat16, which r1lab
// loads (scripts/gpu_check.sh times GRPO on the 0.5B one).
TEST(Cli, LmBenchWritesItsNumbersAndSavesItsRandomModel) {
  const std::string dir = testing::TempDir("cli_lm_bench");
  const Result r = RunCli("lm-bench --device cpu --shape small --batch 1 --prompt 8 --new-tokens 2 --threads 1 --json " +
                          dir + "/bench.json --save " + dir + "/model");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("| decode (batch 1, 2 new) |"), std::string::npos) << r.out;
  const JsonValue j = JsonValue::Parse(ReadFile(dir + "/bench.json"));
  for (const char* k : {"gemm_flops", "prefill_tok_s", "decode_tok_s", "train_tok_s", "prefill_mfu", "train_mfu"})
    EXPECT_GT(j.num(k), 0) << k;
  Llama m = LoadHfModel(dir + "/model");
  EXPECT_EQ(m->config().hidden_size, 256);
  EXPECT_EQ(m->config().vocab_size, 8192);
  EXPECT_EQ(m->config().num_kv_heads, 2);
  int64_t params = 0;
  for (const auto& p : m->parameters()) params += p.numel();
  EXPECT_EQ(static_cast<double>(params), j.num("parameters"));
  EXPECT_EQ(LoadSafetensors(dir + "/model/model.safetensors").at("model.norm.weight").scalar_type(), torch::kBFloat16);
  const Result tpu = RunCli("lm-bench --device tpu");
  EXPECT_EQ(tpu.code, 2) << tpu.out;
  EXPECT_NE(tpu.out.find("lm-bench --device: 'tpu'; expected cpu or cuda"), std::string::npos) << tpu.out;
}

TEST(Cli, VerifyJudgesJsonlInOrder) {
  const std::string dir = testing::TempDir("cli_verify");
  std::string in;
  for (int i = 0; i < 5000; ++i)  // more than one parallel chunk
    in += "{\"gold\": \"" + std::to_string(i) + "\", \"completion\": \"<think>x</think><answer>" +
          std::to_string(i % 3 == 0 ? i : i + 1) + "</answer>\"}\n";
  in += "{\"gold\": \"\\\\frac{1}{2}\", \"completion\": \"so \\\\boxed{0.5}\"}\nnot json\n{\"completion\": \"x\"}\n";
  WriteFileAtomic(dir + "/in.jsonl", in);
  const Result r = RunCli("verify --task math --input " + dir + "/in.jsonl");
  ASSERT_EQ(r.code, 0) << r.out.substr(0, 500);
  std::vector<std::string> lines;
  for (size_t start = 0, p; (p = r.out.find('\n', start)) != std::string::npos; start = p + 1)
    lines.push_back(r.out.substr(start, p - start));
  ASSERT_EQ(lines.size(), 5003u);
  for (int i = 0; i < 5000; i += 997)
    EXPECT_NE(lines[i].find(std::string("\"correct\":") + (i % 3 == 0 ? "true" : "false")), std::string::npos)
        << i << ": " << lines[i];
  EXPECT_NE(lines[5000].find("\"correct\":true"), std::string::npos) << lines[5000];
  EXPECT_NE(lines[5000].find("\"format_ok\":false"), std::string::npos) << lines[5000];
  EXPECT_NE(lines[5001].find("\"error\":\"line 5002: JSON"), std::string::npos) << lines[5001];
  EXPECT_NE(lines[5002].find("line 5003: JSON: missing field 'gold'"), std::string::npos) << lines[5002];
  const Result bad = RunCli("verify --task nope --input " + dir + "/in.jsonl");
  EXPECT_EQ(bad.code, 2);
  EXPECT_NE(bad.out.find("expected math, arith, countdown, graph or code"), std::string::npos) << bad.out;
  EXPECT_EQ(RunCli("verify --task math --input " + dir + "/absent.jsonl").code, 3);
  // Free text is judged only when asked for; what is echoed is valid UTF-8 whatever came in.
  WriteFileAtomic(dir + "/free.jsonl",
                  "{\"gold\": \"18\", \"completion\": \"She makes 9 * 2 = 18 a day. The answer is $18$.\"}\n"
                  "{\"gold\": \"1\", \"completion\": \"<answer>\xff\xe9</answer>\"}\n");
  const Result tagged = RunCli("verify --task math --input " + dir + "/free.jsonl");
  const Result free = RunCli("verify --task math --extract free-text --input " + dir + "/free.jsonl");
  EXPECT_EQ(tagged.out.find("\"correct\":true"), std::string::npos) << tagged.out;
  EXPECT_NE(free.out.find("\"correct\":true,\"extracted\":\"18\""), std::string::npos) << free.out;
  EXPECT_NE(free.out.find("\"extracted\":\"\\ufffd\\ufffd\""), std::string::npos) << free.out;
  EXPECT_EQ(RunCli("verify --task arith --extract free-text --input " + dir + "/free.jsonl").code, 2);
}

}  // namespace
}  // namespace r1lab

// The r1lab binary, as a user runs it: exit codes and messages on bad input,
// and a tiny experiment end to end.
#include <gtest/gtest.h>
#include <sys/file.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "checkpoint.h"
#include "io.h"
#include "test_util.h"
#include "tokenizer.h"

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
}

TEST(Cli, UnwritableOutputDirectory) {
  const std::string dir = testing::TempDir("cli_unwritable");
  WriteFileAtomic(dir + "/c.pbtxt", kTiny);
  WriteFileAtomic(dir + "/file", "x");
  const Result r = RunCli("run " + dir + "/c.pbtxt --out " + dir + "/file/sub");
  EXPECT_EQ(r.code, 3) << r.out;
  EXPECT_NE(r.out.find("file/sub"), std::string::npos) << r.out;
}

TEST(Cli, TinyExperimentEndToEndThenSkipsFinishedRunsAndRefusesASecondRunner) {
  const std::string dir = testing::TempDir("cli_run");
  WriteFileAtomic(dir + "/c.pbtxt", kTiny);
  Result r = RunCli("run " + dir + "/c.pbtxt --out " + dir + "");
  ASSERT_EQ(r.code, 0) << r.out;
  const std::string exp = dir + "/tiny";
  for (const char* f : {"/config.pbtxt", "/commit.txt", "/summary.md", "/summary.csv", "/base/eval.json",
                        "/base/samples.jsonl", "/runs/sft/seed-1/metrics.jsonl", "/runs/sft/seed-2/done.json",
                        "/runs/sft/seed-2/eval.json", "/runs/sft/seed-2/checkpoint.pt"})
    EXPECT_TRUE(FileExists(exp + f)) << f;
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
  for (const auto& line : ReadLines(exp + "/runs/sft/seed-1/metrics.jsonl")) evals += line.find("\"eval\"") != std::string::npos;
  EXPECT_EQ(evals, 2);

  // The budgeted arm stops at its FLOP budget: past it by less than one step.
  double prev = 0, max_step = 0, last = 0;
  int lines = 0;
  for (const auto& line : ReadLines(exp + "/runs/budget/seed-1/metrics.jsonl")) {
    if (line.find("\"loss\"") == std::string::npos) continue;
    const double f = std::stod(line.substr(line.find("\"flops\":") + 8));
    max_step = std::max(max_step, f - prev);
    prev = last = f;
    ++lines;
  }
  EXPECT_LT(lines, 1000);
  EXPECT_GE(last, 2e9);
  EXPECT_LT(last, 2e9 + max_step);
  EXPECT_NE(ReadFile(exp + "/runs/budget/seed-1/done.json").find("\"flop_budget\":2e+09"), std::string::npos);

  // Rerun: the base is cached and finished runs are skipped.
  r = RunCli("run " + dir + "/c.pbtxt --out " + dir);
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("base: cached"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("held-out pass@1"), std::string::npos) << r.out;
  EXPECT_EQ(ReadFile(exp + "/summary.md"), summary);

  // A second runner on the same folder is refused.
  const int fd = ::open((exp + "/.lock").c_str(), O_RDWR | O_CREAT, 0644);
  ASSERT_EQ(::flock(fd, LOCK_EX | LOCK_NB), 0);
  r = RunCli("run " + dir + "/c.pbtxt --out " + dir);
  ::close(fd);
  EXPECT_EQ(r.code, 3) << r.out;
  EXPECT_NE(r.out.find("another r1lab run"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace r1lab

// The report (experiments/report.h) against the committed results: the
// summaries in results/ are what `r1lab report` makes of the committed
// records, to the byte. Arithmetic on recorded numbers only, so this holds
// on any machine.
#include <gtest/gtest.h>

#include <filesystem>

#include "error.h"
#include "io.h"
#include "json.h"
#include "report.h"
#include "rescore.h"
#include "runner.h"
#include "sizes.h"
#include "test_util.h"

namespace r1lab {
namespace {

namespace fs = std::filesystem;

// Copies what the report reads (the config, base/eval.json, and each run's
// eval.json, done.json, metrics and samples) from `from` to `to`.
void CopyRecords(const fs::path& from, const fs::path& to) {
  // Through linked run folders (a size sweep's size shares runs with another experiment).
  for (const auto& e : fs::recursive_directory_iterator(from, fs::directory_options::follow_directory_symlink)) {
    const std::string name = e.path().filename().string();
    const bool wanted = name == "config.pbtxt" || name == "eval.json" || name == "done.json" ||
                        name == "metrics.jsonl" || name == kMetricsXz || name == kSamplesXz;
    if (!e.is_regular_file() || !wanted) continue;
    const fs::path dst = to / e.path().lexically_relative(from);
    fs::create_directories(dst.parent_path());
    fs::copy_file(e.path(), dst);
  }
}

TEST(Report, RewritesEveryCommittedSummaryExactly) {
  int checked = 0;
  for (const auto& e : fs::directory_iterator(fs::path(R1LAB_SOURCE_DIR) / "results")) {
    if (!fs::exists(e.path() / "summary.md") || !fs::exists(e.path() / "config.pbtxt")) continue;
    const std::string dir = testing::TempDir("report_" + e.path().filename().string());
    CopyRecords(e.path(), dir);
    RewriteReport(dir);
    EXPECT_EQ(ReadFile(dir + "/summary.md"), ReadFile((e.path() / "summary.md").string())) << e.path();
    EXPECT_EQ(ReadFile(dir + "/summary.csv"), ReadFile((e.path() / "summary.csv").string())) << e.path();
    ++checked;
  }
  EXPECT_GE(checked, 5);
}

// Every committed experiment folder that keeps its samples reproduces
// exactly from them: each eval.json from its re-verified samples, and
// summary.md and summary.csv from those (folders older than samples are
// skipped; at least one must have them).
TEST(Report, EveryCommittedFolderWithSamplesRescoresExactly) {
  int checked = 0;
  for (const auto& e : fs::directory_iterator(fs::path(R1LAB_SOURCE_DIR) / "results")) {
    if (!fs::exists(e.path() / "config.pbtxt")) continue;
    bool samples = false;
    for (const auto& f : fs::recursive_directory_iterator(e.path()))
      samples = samples || f.path().filename() == kSamplesXz || f.path().filename() == std::string(kSamples) + ".gz";
    if (!samples) continue;
    const RescoreResult r = Rescore(e.path().string());
    EXPECT_EQ(r.differences, 0) << r.report;
    ++checked;
  }
  EXPECT_GE(checked, 1);
}

// Every committed run's metrics are rounded as a run writes them now
// (report --round-metrics: timings to 4 digits, the rest to 9), so a rerun's
// metrics.jsonl.xz can equal them.
TEST(Report, TheCommittedMetricsAreRoundedAsRunsWriteThem) {
  int files = 0;
  for (const auto& f : fs::recursive_directory_iterator(fs::path(R1LAB_SOURCE_DIR) / "results")) {
    if (f.path().filename() != kMetricsXz && f.path().filename() != std::string(kMetrics) + ".gz") continue;
    const std::string text = ReadText(f.path().string());
    EXPECT_TRUE(RoundMetrics(text) == text) << f.path() << " is not rounded";
    ++files;
  }
  EXPECT_GT(files, 100);
}

// Records r1lab wrote before xz (metrics.jsonl.gz, samples.jsonl.gz) still
// read: a committed folder whose records are all turned into gzip rewrites
// the same summary and rescores without a difference. xz, which they were
// converted to, holds them in at most three quarters of gzip's bytes.
TEST(Report, RecordsWrittenAsGzipStillReadAndRescore) {
  const fs::path from = fs::path(R1LAB_SOURCE_DIR) / "results" / "r1_zero_dynamics";
  const std::string dir = testing::TempDir("report_gzip_records");
  CopyRecords(from, dir);
  int converted = 0;
  std::uintmax_t xz_bytes = 0, gz_bytes = 0;
  std::vector<fs::path> paths;
  for (const auto& f : fs::recursive_directory_iterator(dir))
    if (f.path().extension() == ".xz") paths.push_back(f.path());
  for (const fs::path& path : paths) {
    const std::string gz = path.string().substr(0, path.string().size() - 3) + ".gz";
    WriteFileAtomic(gz, Gzip(ReadText(path.string())));
    xz_bytes += fs::file_size(path);
    gz_bytes += fs::file_size(gz);
    fs::remove(path);
    ++converted;
  }
  ASSERT_GE(converted, 7);  // the base's samples, and each of three runs' metrics and samples
  EXPECT_LT(xz_bytes, gz_bytes * 3 / 4);
  RewriteReport(dir);
  EXPECT_EQ(ReadFile(dir + "/summary.md"), ReadFile((from / "summary.md").string()));
  const RescoreResult r = Rescore(dir);
  EXPECT_EQ(r.differences, 0) << r.report;  // a folder without samples would be one
}

// The committed results stay small (issue #17: the whole results/ tree under
// 40 MB), measured as the bytes of its files: what a clone holds, on any
// filesystem (directory blocks, 4 KB each on ext4, are not counted).
TEST(Report, TheCommittedResultsStayUnderFortyMegabytes) {
  std::uintmax_t bytes = 0;
  int files = 0;
  for (const auto& f : fs::recursive_directory_iterator(fs::path(R1LAB_SOURCE_DIR) / "results")) {
    if (!f.is_regular_file()) continue;
    bytes += f.file_size();
    ++files;
  }
  EXPECT_GT(files, 100);
  EXPECT_LT(bytes, 40'000'000u) << "results/ holds " << bytes << " bytes in " << files << " files";
}

// A damaged record stops the report with an error naming the file and the
// member, never a table of wrong numbers: a done.json without its FLOPs, an
// eval.json whose pass@1 is not a share or is missing. `r1lab table` refuses
// a summary.csv whose cells are not numbers.
TEST(Report, DamagedRecordsAreErrorsNamingTheFile) {
  const fs::path from = fs::path(R1LAB_SOURCE_DIR) / "results" / "r1_zero_dynamics";
  const std::string dir = testing::TempDir("report_damaged");
  CopyRecords(from, dir);
  auto error = [&] {
    try {
      RewriteReport(dir);
    } catch (const InputError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  const std::string run = dir + "/runs/grpo/seed-1";
  const std::string done = ReadFile(run + "/done.json"), eval = ReadFile(run + "/eval.json");
  WriteFileAtomic(run + "/done.json", "{}\n");
  EXPECT_EQ(error(), run + "/done.json: no flops; expected the run's FLOPs");
  WriteFileAtomic(run + "/done.json", done);
  const size_t at = eval.find("\"pass1\":");
  ASSERT_NE(at, std::string::npos);
  const size_t end = eval.find(',', at);
  WriteFileAtomic(run + "/eval.json", eval.substr(0, at) + "\"pass1\":5" + eval.substr(end));
  EXPECT_EQ(error(), run + "/eval.json: pass1 is 5; expected a share within [0, 1]");
  WriteFileAtomic(run + "/eval.json", eval.substr(0, at) + eval.substr(end + 1));
  EXPECT_EQ(error(), run + "/eval.json: no pass1; expected held-out pass@1, a share within [0, 1]");
  WriteFileAtomic(run + "/eval.json", eval);
  EXPECT_EQ(error(), "no error");

  const std::string csv = ReadFile(dir + "/summary.csv");
  const size_t comma = csv.find(",0.", csv.find("\ngrpo,"));
  ASSERT_NE(comma, std::string::npos);
  WriteFileAtomic(dir + "/summary.csv", csv.substr(0, comma) + ",abc" + csv.substr(csv.find(',', comma + 1)));
  try {
    MergeTables({dir}, false);
    ADD_FAILURE() << "no error";
  } catch (const IoError& e) {
    EXPECT_EQ(std::string(e.what()), dir + "/summary.csv line 3: pass1 is 'abc'; expected a number or nothing");
  }
  WriteFileAtomic(dir + "/summary.csv", "a,b\n1,2\n");
  EXPECT_THROW(MergeTables({dir}, false), IoError);
}

// An arm whose runs took no training step (a budget below its fixed costs)
// is named under the table, with how many of its runs; one that stepped is not.
TEST(Report, ArmsThatTookNoTrainingStepAreNamed) {
  const ExperimentConfig cfg = testing::ParseResolved<ExperimentConfig>(
      "name: \"p\" seeds: [1, 2] task { arith {} } arms { name: \"grpo\" grpo {} } arms { name: \"prm\" grpo {} }");
  auto run = [](std::vector<int> steps) {
    RunRecords r;
    for (int s : steps) r.lines.emplace_back().set_step(s);
    r.lines.emplace_back().mutable_eval()->set_pass1(0.5);  // the final evaluation, at step 0 if none ran
    return r;
  };
  ReportInput in;
  in.cfg = &cfg;
  in.bases.emplace_back();
  in.arms.push_back({&cfg.arms(0), {run({0, 1, 2}), run({1})}, {}, 0});
  in.arms.push_back({&cfg.arms(1), {run({0}), run({0, 1})}, {}, 0});
  const std::string md = BuildReport(cfg, testing::TempDir("no_step"), in).tables;
  EXPECT_NE(md.find("**No training step:** prm (1 of 2 runs). Their fixed costs"), std::string::npos) << md;
  in.arms[1].runs[0] = run({0, 1});
  EXPECT_EQ(BuildReport(cfg, testing::TempDir("no_step"), in).tables.find("No training step"), std::string::npos);
}

// A run whose per-problem held-out outcomes are `pass`.
RunRecords PassRun(std::vector<double> pass) {
  RunRecords r;
  r.problem_pass = std::move(pass);
  return r;
}

// Each arm against grpo, paired over the same test problems: a run set
// right on every problem where grpo is right on none is +100 points with a
// degenerate interval; an arm without samples says so.
TEST(Report, PairedDifferencesFromGrpo) {
  const ExperimentConfig cfg = testing::ParseResolved<ExperimentConfig>(
      "name: \"p\" seeds: [1, 2] task { arith {} } arms { name: \"grpo\" grpo {} } arms { name: \"better\" grpo {} } "
      "arms { name: \"half\" grpo {} } arms { name: \"old\" grpo {} }");
  ReportInput in;
  in.cfg = &cfg;
  in.bases.emplace_back();
  in.arms.push_back({&cfg.arms(0), {PassRun({0, 0, 0, 0}), PassRun({0, 0, 0, 0})}, {}, 0});
  in.arms.push_back({&cfg.arms(1), {PassRun({1, 1, 1, 1}), PassRun({1, 1, 1, 1})}, {}, 0});
  in.arms.push_back({&cfg.arms(2), {PassRun({1, 1, 0, 0}), PassRun({1, 1, 0, 0})}, {}, 0});
  in.arms.push_back({&cfg.arms(3), {PassRun({}), PassRun({})}, {}, 0});
  const std::string md = BuildReport(cfg, testing::TempDir("paired"), in).tables;
  EXPECT_NE(md.find("| better | +100.0 | [+100.0, +100.0] | yes |"), std::string::npos) << md;
  EXPECT_NE(md.find("| half | +50.0 | ["), std::string::npos) << md;
  EXPECT_NE(md.find("| old | - | no samples on the same problems | - |"), std::string::npos) << md;
  EXPECT_NE(md.find("The same 4 test problems for every arm"), std::string::npos) << md;
}

// paired_reference names the arm the others are compared with (a pipeline
// has no grpo): the reference gets no row, grpo gets one like any arm.
TEST(Report, PairedReferenceNamesTheArmCompared) {
  const ExperimentConfig cfg = testing::ParseResolved<ExperimentConfig>(
      "name: \"p\" seeds: [1] paired_reference: \"r1_zero\" task { arith {} } arms { name: \"r1_zero\" grpo {} } "
      "arms { name: \"grpo\" grpo {} }");
  ReportInput in;
  in.cfg = &cfg;
  in.bases.emplace_back();
  in.arms.push_back({&cfg.arms(0), {PassRun({1, 1, 1, 1})}, {}, 0});
  in.arms.push_back({&cfg.arms(1), {PassRun({1, 0, 0, 0})}, {}, 0});
  const std::string md = BuildReport(cfg, testing::TempDir("paired_ref"), in).tables;
  EXPECT_NE(md.find("## Paired differences from r1_zero (held-out pass@1)"), std::string::npos) << md;
  EXPECT_NE(md.find("| arm | minus r1_zero, points |"), std::string::npos) << md;
  EXPECT_NE(md.find("| grpo | -75.0 | ["), std::string::npos) << md;
  const size_t at = md.find("## Paired differences");
  const std::string paired = md.substr(at, md.find("The same 4 test problems", at) - at);
  EXPECT_EQ(paired.find("| r1_zero |"), std::string::npos) << md;
}

// What the checks add (eval.without_checks): per run, pass@1 as written
// minus redrawn without check lines, averaged over seeds: (0.5 - 0.2) and
// (0.3 - 0.2) give +20 points.
TEST(Report, WhatTheChecksAddIsAsWrittenMinusRedrawn) {
  const ExperimentConfig cfg = testing::ParseResolved<ExperimentConfig>(
      "name: \"w\" seeds: [1, 2] task { arith {} } arms { name: \"grpo\" grpo {} }");
  auto run = [](double with, double without) {
    RunRecords r;
    r.final.set_aha_rate(0);
    r.final.set_check_rate(0.25);
    r.final.set_pass1_with_check(with);
    r.final.set_pass1_without_checks(without);
    return r;
  };
  ReportInput in;
  in.cfg = &cfg;
  in.bases.emplace_back().set_aha_rate(0);
  in.arms.push_back({&cfg.arms(0), {run(0.5, 0.2), run(0.3, 0.2)}, {}, 0});
  const std::string md = BuildReport(cfg, testing::TempDir("checks"), in).tables;
  EXPECT_NE(md.find("| grpo | 25.0 ± 0.0 | 40.0 ± 127.1 | 20.0 ± 0.0 | 20.0 ± 127.1 |"), std::string::npos) << md;
  EXPECT_NE(md.find("| base | - | - | - | - |"), std::string::npos) << md;
}

// Over base seeds, an arm's interval is over its bases' means (each the
// mean over that base's RL seeds), and its paired difference from grpo
// resamples the bases the two arms share.
TEST(Report, BaseSeedsIntervalsAreOverTheBasesMeans) {
  const ExperimentConfig cfg = testing::ParseResolved<ExperimentConfig>(
      "name: \"b\" seeds: [1, 2] base_seeds: [7, 8] task { arith {} } arms { name: \"grpo\" grpo {} } "
      "arms { name: \"x\" grpo {} }");
  auto run = [](int base, double pass1, std::vector<double> pass) {
    RunRecords r;
    r.base = base;
    r.final.set_pass1(pass1);
    r.problem_pass = std::move(pass);
    return r;
  };
  ReportInput in;
  in.cfg = &cfg;
  in.bases.emplace_back().set_pass1(0.30);
  in.bases.emplace_back().set_pass1(0.20);
  // grpo: base 7's seeds 0.4 and 0.6 (mean 0.5), base 8's 0.2 and 0.4 (0.3):
  // 0.4 ± t(1) x sd{0.5, 0.3} / sqrt(2) = 0.4 ± 12.706 x 0.1 = 0.4 ± 1.271.
  in.arms.push_back({&cfg.arms(0), {run(0, 0.4, {0, 0}), run(0, 0.6, {0, 0}), run(1, 0.2, {0, 0}),
                                    run(1, 0.4, {0, 0})}, {}, 0});
  // x: right everywhere on base 7, nowhere on base 8; grpo right nowhere.
  in.arms.push_back({&cfg.arms(1), {run(0, 1, {1, 1}), run(0, 1, {1, 1}), run(1, 0, {0, 0}),
                                    run(1, 0, {0, 0})}, {}, 0});
  const std::string md = BuildReport(cfg, testing::TempDir("bases"), in).tables;
  EXPECT_NE(md.find("| grpo | 2 x 2 | 40.0 ± 127.1 |"), std::string::npos) << md;
  EXPECT_NE(md.find("| base | 2 | 25.0 ± 63.5 |"), std::string::npos) << md;
  EXPECT_NE(md.find("over the bases' means"), std::string::npos) << md;
  // Bases drawn (7, 7), (7, 8) or (8, 8): +100, +50 or 0 points.
  EXPECT_NE(md.find("| x | +50.0 | [+0.0, +100.0] | no |"), std::string::npos) << md;
  EXPECT_NE(md.find("and the 2 bases with replacement"), std::string::npos) << md;
}

// In a budget curve each arm is paired with grpo at its own budget.
TEST(Report, BudgetCurvePairsEachPointWithGrpoAtTheSameBudget) {
  const ExperimentConfig cfg = testing::ParseResolved<ExperimentConfig>(
      "name: \"c\" seeds: [1] budgets: [1, 3] task { arith {} } arms { name: \"grpo\" flop_budget: 1e9 grpo {} } "
      "arms { name: \"x\" flop_budget: 1e9 grpo {} }");
  const ExperimentConfig expanded = ExpandBudgets(cfg);
  auto arm = [&](int i, const std::string& family, double scale, std::vector<double> pass) {
    RunRecords r;
    r.final.set_pass1(pass[0]);
    r.done.set_flops(1e9 * scale);
    r.problem_pass = std::move(pass);
    ArmRecords a{&expanded.arms(i), {r}, family, scale};
    return a;
  };
  ReportInput in;
  in.cfg = &expanded;
  in.bases.emplace_back().set_pass1(0.1);
  in.arms = {arm(0, "grpo", 1, {0.5, 0.5}), arm(1, "grpo", 3, {1, 1}), arm(2, "x", 1, {0.5, 0.5}),
             arm(3, "x", 3, {0.5, 0.5})};
  const std::string md = BuildReport(cfg, testing::TempDir("budget_report"), in).tables;
  EXPECT_NE(md.find("| x-x1 | +0.0 | [+0.0, +0.0] | no |"), std::string::npos) << md;
  EXPECT_NE(md.find("| x-x3 | -50.0 | [-50.0, -50.0] | yes |"), std::string::npos) << md;
  EXPECT_NE(md.find("| grpo | 50.0% at 1e+09 | 100.0% at 3e+09 |"), std::string::npos) << md;
  EXPECT_NE(md.find("| x | 50.0% at 1e+09 | 50.0% at 3e+09 |"), std::string::npos) << md;
}

// gnuplot runs without a shell: a folder whose name holds quotes and a
// command is only a name; a failing script is an error, not exit code 0.
TEST(Report, PlotsRunWithoutAShellAndFailLoudly) {
  const std::string root = testing::TempDir("plots_quote");
  const std::string marker = root + "/pwned";
  const std::string pdir = root + "/it's'; touch " + marker + "; '";
  fs::create_directories(pdir);
  WriteFileAtomic(pdir + "/a.dat", "1 1\n2 4\n");
  WritePlotScript(pdir, "plots.gp", {{"a", "t", "x", "y", "", "'a.dat' using 1:2 with lines title 'a'"}});
  EXPECT_FALSE(FileExists(marker));
  EXPECT_GT(fs::file_size(pdir + "/a.svg"), 0u);
  EXPECT_GT(fs::file_size(pdir + "/a.png"), 0u);
  try {
    WritePlotScript(pdir, "bad.gp", {{"b", "t", "x", "y", "this is not gnuplot\n", "'a.dat' using 1:2"}});
    FAIL() << "no error";
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find("gnuplot failed"), std::string::npos) << e.what();
  }
}

// A size sweep's ranking: best first, "=" between arms whose means are equal
// (in the summary's order), never "a > b" for a tie.
TEST(Report, SizeRankingMarksTiesAsEqual) {
  const std::map<std::string, double> pass1 = {{"base", 0.3}, {"grpo", 0.5}, {"ppo", 0.3}, {"mcts", 0.2}};
  EXPECT_EQ(RankingText({"base", "grpo", "ppo", "mcts"}, pass1), "grpo > base = ppo > mcts");
  EXPECT_EQ(RankingText({"ppo", "base", "grpo", "mcts"}, pass1), "grpo > ppo = base > mcts");
  EXPECT_EQ(RankingText({"grpo"}, pass1), "grpo");
}

}  // namespace
}  // namespace r1lab

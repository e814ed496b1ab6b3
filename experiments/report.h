// Results of an experiment folder: summary tables with confidence intervals
// over seeds, plots (gnuplot, SVG and PNG), and merged tables across folders.
#pragma once

#include <string>
#include <vector>

#include "r1lab.pb.h"
#include "report_section.h"

namespace r1lab {

// One chart: `body` is gnuplot's plot arguments, `extra` commands before it.
struct Plot {
  std::string name, title, xlabel, ylabel, extra, body;
  std::string size = "800,480";  // pixels
};
// Writes pdir/script rendering each plot as pdir/<name>.svg and .png, and
// runs gnuplot on it when installed (else says so on stderr).
void WritePlotScript(const std::string& pdir, const std::string& script, const std::vector<Plot>& plots);

// A run's metrics (plain while it trains and resumes from them, compressed
// when it finishes) and an evaluation's samples: the stems, which
// WriteXzAtomic and CompressedPath take, and the files as written. Readers
// also take the gzip files (stem + ".gz") r1lab wrote before.
inline constexpr char kMetrics[] = "metrics.jsonl";
inline constexpr char kSamples[] = "samples.jsonl";
inline constexpr char kMetricsXz[] = "metrics.jsonl.xz";
inline constexpr char kSamplesXz[] = "samples.jsonl.xz";
// Its non-integers carry this many significant digits (RoundJsonNumbers):
// every float32 value exactly, and more than any table or plot shows.
inline constexpr int kMetricsDigits = 9;
// Except timings (a key ending in "_s", seconds or per second, or
// "seconds"): a step's time varies by more than a part in a thousand from
// run to run on one machine, so digits past the fourth are noise, and the
// noise compresses worst.
inline constexpr int kTimingDigits = 4;
bool IsTimingKey(const std::string& key);
// A finished run's metrics lines as they are kept: rounded as above.
std::string RoundMetrics(const std::string& text);

// A samples.jsonl.xz (or .gz) file's records, in order; InputError naming the file
// and line for a line that is not a sample record.
std::vector<SampleRecord> ReadSamples(const std::string& path);

// One base of an experiment: base_seeds' b (model.init_seed = b; its
// evaluation in base-<b>/, its runs in runs/<arm>/base-<b>/seed-<s>/), or,
// without base_seeds, the one base of model.init_seed (base/ and
// runs/<arm>/seed-<s>/, the layout of results made before base seeds).
struct BaseSlot {
  uint64_t init_seed = 0;
  std::string name;  // "base-<b>", or "base"
  bool own_folders = false;
};
std::vector<BaseSlot> Bases(const ExperimentConfig& cfg);
// cfg with the base's model.init_seed: what pretrains it and what its runs see.
ExperimentConfig ForBase(const ExperimentConfig& cfg, const BaseSlot& base);
std::string RunDir(const std::string& dir, const Arm& arm, const BaseSlot& base, uint64_t seed);

// cfg with its budget curve expanded (ExperimentConfig.budgets): each arm
// becomes one arm per multiplier m, named "<arm>-x<m>" (BudgetArmName), with
// m times its flop_budget and step count, in config order then ascending m.
// Without budgets, cfg itself. `points`, if given, gets each resulting arm's
// configured name and m (0 without budgets). ConfigError on a name clash.
struct BudgetPoint {
  std::string family;
  double scale = 0;
};
ExperimentConfig ExpandBudgets(const ExperimentConfig& cfg, std::vector<BudgetPoint>* points = nullptr);
std::string BudgetArmName(const std::string& arm, double scale);

// An experiment folder's run records: each base's evaluation and
// dir/runs/... (RunDir) for the config's arms (budgets expanded), bases and
// seeds, base-major. `cfg` must outlive the result.
ReportInput ReadReportInput(const ExperimentConfig& cfg, const std::string& dir);

// The arm the paired tables compare every other arm with: paired_reference,
// else grpo.
std::string PairedReference(const ExperimentConfig& cfg);
// A paired table's last three cells: "+x.x | [+lo, +hi] | yes" (points;
// whether the interval excludes 0).
std::string PairedCells(const PairedDiff& d);

// summary.md and summary.csv as they are written for `in`, and the tables
// alone (summary.md without its title and closing line).
struct ReportFiles {
  std::string summary_md, summary_csv, tables;
};
ReportFiles BuildReport(const ExperimentConfig& cfg, const std::string& dir, const ReportInput& in);

// Reads the folder (ReadReportInput), writes dir/summary.md (the table every arm shares, then the sections the
// strategies register: train/report_section.h), dir/summary.csv and
// dir/plots/*, and returns the markdown.
std::string WriteReport(const ExperimentConfig& cfg, const std::string& dir);

// `r1lab table DIR...`: the summary.csv of several experiment folders as one
// table (markdown, or CSV with csv = true), with the experiment's name first.
std::string MergeTables(const std::vector<std::string>& dirs, bool csv);

}  // namespace r1lab

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

// A samples.jsonl.gz file's records, in order; InputError naming the file
// and line for a line that is not a sample record.
std::vector<SampleRecord> ReadSamples(const std::string& path);

// An experiment folder's run records: dir/base and dir/runs/<arm>/seed-<s>
// (RunDir) for the config's arms and seeds. `cfg` must outlive the result.
ReportInput ReadReportInput(const ExperimentConfig& cfg, const std::string& dir);
std::string RunDir(const std::string& dir, const Arm& arm, uint64_t seed);

// summary.md and summary.csv as they are written for `in`, and the tables
// alone (summary.md without its title and closing line).
struct ReportFiles {
  std::string summary_md, summary_csv, tables;
};
ReportFiles BuildReport(const ExperimentConfig& cfg, const std::string& dir, const ReportInput& in);

// Reads dir/base and dir/runs/<arm>/seed-<s> for the config's arms and seeds,
// writes dir/summary.md (the table every arm shares, then the sections the
// strategies register: train/report_section.h), dir/summary.csv and
// dir/plots/*, and returns the markdown.
std::string WriteReport(const ExperimentConfig& cfg, const std::string& dir);

// `r1lab table DIR...`: the summary.csv of several experiment folders as one
// table (markdown, or CSV with csv = true), with the experiment's name first.
std::string MergeTables(const std::vector<std::string>& dirs, bool csv);

}  // namespace r1lab

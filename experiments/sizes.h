// Model-size sweeps (ExperimentConfig.sizes): one complete experiment per
// size, and the sweep's summary across sizes.
//
// <output_dir>/<experiment>/
//   config.pbtxt              the sweep as resolved (its sizes)
//   <size>/                   that size's experiment folder (experiments/runner.h)
//   summary.md, summary.csv   each arm's pass@1 by size, each size's parameters
//                             and pretraining FLOPs, the ranking at each size
//   plots/                    pass@1 against parameters and against FLOPs
#pragma once

#include <map>
#include <string>
#include <vector>

#include "r1lab.pb.h"
#include "runner.h"

namespace r1lab {

// Runs each size's experiment (LoadSizes) into <output_dir>/<sweep>/<size>/,
// with bases cached in <output_dir>/.cache, then writes the sweep's summary.
// Returns its markdown.
std::string RunSizes(const ExperimentConfig& sweep, const std::vector<ExperimentConfig>& sizes,
                     const RunnerOptions& opt);

struct SizeReportFiles {
  std::string summary_md, summary_csv;
};
// The sweep's summary from each size folder's summary.csv (arms, seeds,
// FLOPs), run records (pass@1, as the size's own table computes it) and base
// done.json; IoError naming the file when a size has no finished summary.
SizeReportFiles BuildSizeReport(const ExperimentConfig& sweep, const std::string& dir);
// `order`'s arms by pass@1, best first, as "a > b = c": = between equal
// values, which keep their order in `order`.
std::string RankingText(const std::vector<std::string>& order, const std::map<std::string, double>& pass1);
// Writes dir/summary.md, dir/summary.csv and dir/plots/; returns the markdown.
std::string WriteSizeReport(const ExperimentConfig& sweep, const std::string& dir);

}  // namespace r1lab

// Report sections a strategy adds to an experiment's summary.md.
//
// The report (experiments/report.h) writes the table every arm shares; a
// strategy whose runs measure more (a learned reward's proxy, a search's
// tree) registers a section for its arms from its own file:
//   R1LAB_REGISTER_REPORT_SECTION(Arm::kPrmRl, PrmRlReport);
// A section reads the runs' records, never files, and returns markdown.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "r1lab.pb.h"
#include "stats.h"

namespace r1lab {

// A finished run as its folder records it.
struct RunRecords {
  EvalRecord final;                // eval.json
  DoneRecord done;                 // done.json
  std::vector<MetricsLine> lines;  // metrics.jsonl, in order
  // Per held-out problem, the share of its samples judged right
  // (samples.jsonl.gz's stored verdicts); empty for runs without samples.
  std::vector<double> problem_pass;
  // The lines that hold an eval point (the held-out curve), in order.
  std::vector<const MetricsLine*> EvalPoints() const { return LinesWith(&MetricsLine::has_eval); }
  // The lines that have a field (e.g. &MetricsLine::has_accept_rate), in order.
  std::vector<const MetricsLine*> LinesWith(bool (MetricsLine::*has)() const) const;
  // done.json's FLOPs in `phase` (a FlopsByPhase field name); NaN if absent.
  double PhaseFlops(const std::string& phase) const;
};

struct ArmRecords {
  const Arm* arm = nullptr;
  std::vector<RunRecords> runs;  // one per seed
};

struct ReportInput {
  const ExperimentConfig* cfg = nullptr;
  EvalRecord base;
  std::vector<ArmRecords> arms;  // in config order
};

// f(run) over an arm's runs, NaNs left out, as a mean with its interval.
template <typename F>
MeanCi OverRuns(const std::vector<RunRecords>& runs, F f) {
  std::vector<double> v;
  for (const RunRecords& r : runs) v.push_back(f(r));
  return MeanWithCi(Present(v));
}

// Held-out pass@1 at its best over the base and the run's eval points, and
// the step where it was reached (0: the base).
struct Peak {
  double pass1 = 0, step = 0;
};
Peak PeakPass1(const RunRecords& r, double base_pass1);

// A section for the arms of one strategy (`mine`, in config order); it may
// read every arm (`all`), e.g. to compare with them.
using ReportSection = std::function<std::string(const ReportInput& all, const std::vector<const ArmRecords*>& mine)>;

// One section per strategy case (a second is an InternalError). Returns
// true, for static initialisers.
bool RegisterReportSection(Arm::StrategyCase which, ReportSection section);
// Every registered section whose strategy has arms in `in`, in the order of
// the Arm.strategy oneof, concatenated.
std::string ReportSections(const ReportInput& in);

#define R1LAB_REGISTER_REPORT_SECTION(which, fn) \
  static const bool r1lab_report_section_##fn = ::r1lab::RegisterReportSection(which, fn)

}  // namespace r1lab

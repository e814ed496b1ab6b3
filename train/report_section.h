// Report sections a strategy adds to an experiment's summary.md.
//
// The report (experiments/report.h) writes the table every arm shares; a
// strategy whose runs measure more (a learned reward's proxy, a search's
// tree) registers a section for its arms from its own file:
//   R1LAB_REGISTER_REPORT_SECTION(Arm::kPrmRl, PrmRlReport);
// A section reads the runs' records, never files, and returns markdown.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "r1lab.pb.h"
#include "stats.h"

namespace r1lab {

// A finished run as its folder records it.
struct RunRecords {
  int base = 0;                    // its base: an index into ReportInput::bases
  uint64_t seed = 0;               // its RL seed
  EvalRecord final;                // eval.json
  DoneRecord done;                 // done.json
  std::vector<MetricsLine> lines;  // metrics.jsonl, in order
  // Per held-out problem, the share of its samples judged right
  // (samples.jsonl.xz's stored verdicts); empty for runs without samples.
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
  std::vector<RunRecords> runs;  // one per base and seed, base-major
  // A budget curve's point (ExperimentConfig.budgets): the configured arm's
  // name (empty: the arm's own) and the multiplier of its budget and steps
  // (0 outside a sweep).
  std::string family;
  double budget_scale = 0;
  const std::string& Family() const { return family.empty() ? arm->name() : family; }
};

struct ReportInput {
  const ExperimentConfig* cfg = nullptr;  // with budgets expanded: the arms that ran
  std::shared_ptr<const ExperimentConfig> owned;  // that expansion, when ReadReportInput made it
  std::vector<EvalRecord> bases;  // each base's eval.json (one without base_seeds)
  std::vector<ArmRecords> arms;   // in config order
  // f(base eval) over the bases, as a mean with its interval.
  template <typename F>
  MeanCi OverBases(F f) const {
    std::vector<double> v;
    for (const EvalRecord& b : bases) v.push_back(f(b));
    return MeanWithCi(Present(v));
  }
  MeanCi BasePass1() const {
    return OverBases([](const EvalRecord& e) { return e.pass1(); });
  }
  // The pass@1 of the base run `r` started from.
  double BasePass1Of(const RunRecords& r) const { return bases[static_cast<size_t>(r.base)].pass1(); }
  // An arm's per-problem outcomes, [base][seed][problem], for
  // PairedBootstrap; empty when a run lacks its samples.
  RunsByBase Outcomes(const ArmRecords& a) const {
    RunsByBase out(bases.size());
    for (const RunRecords& r : a.runs) {
      if (r.problem_pass.empty()) return {};
      out[static_cast<size_t>(r.base)].push_back(r.problem_pass);
    }
    return out;
  }
};

// f(run) over an arm's runs, NaNs left out, as a mean with its interval:
// over the runs when they share one base; over several bases, a two-level
// (cluster) estimate: each base's mean over its runs, then the mean and
// Student-t interval over those base means, so the interval covers the
// base's variance as well as the RL seeds'.
template <typename F>
MeanCi OverRuns(const std::vector<RunRecords>& runs, F f) {
  std::vector<int> bases;
  std::vector<std::vector<double>> by_base;
  for (const RunRecords& r : runs) {
    const size_t i = static_cast<size_t>(std::find(bases.begin(), bases.end(), r.base) - bases.begin());
    if (i == bases.size()) bases.push_back(r.base), by_base.emplace_back();
    by_base[i].push_back(f(r));
  }
  if (by_base.size() == 1) return MeanWithCi(Present(by_base[0]));
  std::vector<double> means;
  for (const std::vector<double>& v : by_base) {
    const MeanCi m = MeanWithCi(Present(v));
    if (m.n > 0) means.push_back(m.mean);
  }
  return MeanWithCi(means);
}

// Held-out pass@1 at its best over the base and the run's eval points, and
// the step where it was reached (0: the base).
// A table row for the bases ("base", every base's eval.json) and then one
// per arm (its runs' final evals), in config order.
void ForEachEvalRow(const ReportInput& in,
                    const std::function<void(const std::string& name, const std::vector<const EvalRecord*>& evals)>& row);

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

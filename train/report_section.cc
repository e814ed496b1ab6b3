#include "report_section.h"

#include <cmath>
#include <map>

#include "error.h"

namespace r1lab {

std::vector<const MetricsLine*> RunRecords::LinesWith(bool (MetricsLine::*has)() const) const {
  std::vector<const MetricsLine*> out;
  for (const MetricsLine& m : lines)
    if ((m.*has)()) out.push_back(&m);
  return out;
}

double RunRecords::PhaseFlops(const std::string& phase) const {
  const auto* field = FlopsByPhase::descriptor()->FindFieldByName(phase);
  if (!field) throw InternalError("FlopsByPhase has no field " + phase);
  const FlopsByPhase& f = done.flops_by_phase();
  return f.GetReflection()->HasField(f, field) ? f.GetReflection()->GetDouble(f, field) : NAN;
}

Peak PeakPass1(const RunRecords& r, double base_pass1) {
  Peak p{base_pass1, 0};
  for (const MetricsLine* m : r.EvalPoints())
    if (m->eval().pass1() > p.pass1) p = {m->eval().pass1(), static_cast<double>(m->step())};
  return p;
}

namespace {

std::map<Arm::StrategyCase, ReportSection>& Sections() {
  static std::map<Arm::StrategyCase, ReportSection> sections;
  return sections;
}

}  // namespace

bool RegisterReportSection(Arm::StrategyCase which, ReportSection section) {
  if (!Sections().emplace(which, std::move(section)).second)
    throw InternalError("two report sections for Arm strategy case " + std::to_string(which));
  return true;
}

void ForEachEvalRow(const ReportInput& in,
                    const std::function<void(const std::string& name, const std::vector<const EvalRecord*>& evals)>& row) {
  std::vector<const EvalRecord*> bases;
  for (const EvalRecord& b : in.bases) bases.push_back(&b);
  row("base", bases);
  for (const ArmRecords& a : in.arms) {
    std::vector<const EvalRecord*> evals;
    for (const RunRecords& r : a.runs) evals.push_back(&r.final);
    row(a.arm->name(), evals);
  }
}

std::string ReportSections(const ReportInput& in) {
  std::string md;
  for (const auto& [which, section] : Sections()) {  // map order: the oneof's field numbers
    std::vector<const ArmRecords*> mine;
    for (const ArmRecords& a : in.arms)
      if (a.arm->strategy_case() == which) mine.push_back(&a);
    if (!mine.empty()) md += section(in, mine);
  }
  return md;
}

}  // namespace r1lab

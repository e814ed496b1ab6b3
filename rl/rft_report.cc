// The RFT arm's section of summary.md: what the sampler's verified samples
// gave, and, for distillation from a teacher checkpoint, what the teacher
// cost beside the student's own FLOPs.
#include <cmath>
#include <sstream>

#include "config.h"
#include "report_section.h"

namespace r1lab {
namespace {

std::string RftReport(const ReportInput& in, const std::vector<const ArmRecords*>& mine) {
  std::ostringstream md;
  md << "\n## Rejection sampling and distillation\n\n"
     << "| arm | sampler | verified samples %, first → last tenth of steps | problems with a kept sample %, last tenth "
        "| examples per step, last tenth: kept + non-reasoning | teacher's generation FLOPs (charged?) | the arm's FLOPs "
        "|\n|---|---|---|---|---|---|---|\n";
  for (const ArmRecords* a : mine) {
    const RftConfig& c = a->arm->rft();
    auto win = [&](bool last, auto f) {
      return OverRuns(a->runs, [&](const RunRecords& r) {
        return WindowMean(r.LinesWith(&MetricsLine::has_accept_rate), last, f);
      });
    };
    auto accept = [](const MetricsLine* m) { return m->accept_rate(); };
    auto kept = [](const MetricsLine* m) { return m->problems_kept(); };
    auto samples = [](const MetricsLine* m) { return m->kept(); };
    auto demos = [](const MetricsLine* m) { return m->non_reasoning_examples(); };
    const MeanCi teacher = OverRuns(a->runs, [](const RunRecords& r) {
      const std::vector<const MetricsLine*> lines = r.LinesWith(&MetricsLine::has_accept_rate);
      return lines.empty() || !lines.back()->has_teacher_flops() ? NAN : lines.back()->teacher_flops();
    });
    md << "| " << a->arm->name() << " | "
       << (c.has_teacher_arm() ? "arm " + c.teacher_arm() +
                                     (CrossSizeTeacher(*a->arm, in.cfg->name()) ? " at size " + c.teacher_size() : "")
           : c.teacher_checkpoint().empty() ? std::string("the policy") : "teacher " + c.teacher_checkpoint()) << " | "
       << FmtOr(win(false, accept), 100, 1) << " → " << FmtOr(win(true, accept), 100, 1) << " | "
       << FmtOr(win(true, kept), 100, 1) << " | " << FmtOr(win(true, samples), 1, 1) << " + "
       << (c.has_non_reasoning_teacher() ? FmtOr(win(true, demos), 1, 1) : std::string("0")) << " | ";
    if (c.teacher_checkpoint().empty() && !c.has_teacher_arm()) md << "- | ";
    else md << FmtSciOr(teacher) << (c.charge_teacher() ? " (charged)" : " (not charged)") << " | ";
    md << FmtSciOr(OverRuns(a->runs, [](const RunRecords& r) { return r.done.flops(); })) << " |\n";
  }
  md << "\nVerified samples: the sampler's completions the verifier accepted (right, finished and, with "
        "require_format, well-formed). With a teacher checkpoint the arm is distillation from a model: the student "
        "fine-tunes on the teacher's verified samples, and the teacher's sampling is reported here, charged to the "
        "arm's budget only with charge_teacher. Non-reasoning examples: with rft.non_reasoning_teacher, the task "
        "teacher's demonstrations for the prompts no rule verifies (R1's stage-3 writing and QA data), fine-tuned on "
        "beside the kept samples.\n";
  return md.str();
}

}  // namespace

R1LAB_REGISTER_REPORT_SECTION(Arm::kRft, RftReport);

}  // namespace r1lab

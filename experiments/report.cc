#include "report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <sstream>

#include "error.h"
#include "io.h"
#include "json.h"
#include "machine.h"
#include "records.h"
#include "report_section.h"
#include "stats.h"
#include "strategy.h"
#include "tune.h"

namespace r1lab {

bool IsTimingKey(const std::string& key) {
  return key == "seconds" || (key.size() > 2 && key.compare(key.size() - 2, 2, "_s") == 0);
}

std::string RoundMetrics(const std::string& text) {
  return RoundJsonNumbers(text, kMetricsDigits, IsTimingKey, kTimingDigits);
}

namespace {

// One eval point of a run (or the base).
struct Point {
  double step = 0, flops = 0, pass1 = 0, maj = 0, pass_n = 0, format = 0, length = 0, reflect = 0, wait = 0;
  double language = 1;                  // language consistency (1 for one-language tasks)
  double steps_mean = NAN, repeated = NAN, no_answer = NAN;  // absent in results older than these metrics
  double aha = NAN, reflective = NAN;                        // shares of responses; absent in older results
  double checks_add = NAN;  // eval.without_checks: pass@1 with checks minus redrawn without, where measured
  std::map<int, double> pass_at;        // k -> pass@k
  std::map<int, double> level_pass1;    // level -> pass@1
  std::map<int, double> level_length;   // level -> mean length
};

Point ParseEval(const EvalRecord& e, int n) {
  Point p;
  p.pass1 = e.pass1();
  p.maj = e.maj();
  p.format = e.format_rate();
  p.length = e.mean_length();
  p.reflect = e.reflect_per_1k();
  p.wait = e.wait_per_1k();
  if (e.has_language_consistency()) p.language = e.language_consistency();
  if (e.has_steps_mean()) p.steps_mean = e.steps_mean();
  if (e.has_repeated_step_rate()) p.repeated = e.repeated_step_rate();
  if (e.has_no_answer_rate()) p.no_answer = e.no_answer_rate();
  if (e.has_aha_rate()) p.aha = e.aha_rate();
  if (e.has_reflective_rate()) p.reflective = e.reflective_rate();
  if (e.has_pass1_without_checks()) p.checks_add = e.pass1_with_check() - e.pass1_without_checks();
  for (const auto& [k, v] : e.pass_at()) p.pass_at[k] = v;
  p.pass_n = p.pass_at.count(n) ? p.pass_at[n] : 0;
  for (const LevelRecord& l : e.by_level()) {
    p.level_pass1[l.level()] = l.pass1();
    p.level_length[l.level()] = l.mean_length();
  }
  return p;
}

// Adds p / k to *m in the fields the plots show: a mean over k points.
void AddPlotted(Point* m, const Point& p, double k) {
  m->step += p.step / k, m->flops += p.flops / k, m->pass1 += p.pass1 / k;
  m->length += p.length / k, m->reflect += p.reflect / k, m->wait += p.wait / k;
  // Fields older results lack: NaN in p stays NaN in the mean.
  auto add_optional = [&](double* sum, double v) { *sum = (std::isnan(*sum) ? 0 : *sum) + v / k; };
  add_optional(&m->aha, p.aha);
  add_optional(&m->reflective, p.reflective);
  add_optional(&m->checks_add, p.checks_add);
  for (const auto& [kk, v] : p.pass_at) m->pass_at[kk] += v / k;
  for (const auto& [l, v] : p.level_pass1) m->level_pass1[l] += v / k;
  for (const auto& [l, v] : p.level_length) m->level_length[l] += v / k;
}

// Each problem's share of right samples, from the samples' stored verdicts
// (problem-major, n per problem); empty when the folder has no samples.
std::vector<double> ProblemPass(const std::string& rdir, const EvalRecord& e) {
  const std::string path = CompressedPath(rdir + "/" + kSamples);
  if (path.empty()) return {};
  const int P = e.problems(), n = e.samples_per_problem();
  const std::vector<SampleRecord> samples = ReadSamples(path);
  if (static_cast<int64_t>(samples.size()) != static_cast<int64_t>(P) * n)
    throw InputError(path + ": " + std::to_string(samples.size()) + " samples, eval.json says " + std::to_string(P) +
                     " x " + std::to_string(n));
  std::vector<double> pass(static_cast<size_t>(P), 0.0);
  for (size_t k = 0; k < samples.size(); ++k) {
    const int p = samples[k].problem();
    if (p < 0 || p >= P)
      throw InputError(path + " line " + std::to_string(k + 1) + ": problem " + std::to_string(p) +
                       " is outside eval.json's " + std::to_string(P) + " problems");
    pass[static_cast<size_t>(p)] += samples[k].correct() ? 1.0 / n : 0.0;
  }
  return pass;
}

RunRecords ReadRun(const std::string& rdir) {
  RunRecords r;
  r.final = ReadEvalJson(rdir + "/eval.json");
  r.done = ReadDoneJson(rdir + "/done.json", /*run=*/true);
  std::string path = CompressedPath(rdir + "/" + kMetrics);
  if (path.empty()) path = rdir + "/" + kMetrics;  // unfinished, or made before r1lab compressed it
  if (!FileExists(path))
    throw InputError(rdir + ": no " + kMetricsXz + " (nor metrics.jsonl); every finished run keeps its metrics");
  const std::vector<std::string> lines = ReadLines(path);
  for (size_t k = 0; k < lines.size(); ++k)
    RecordFromJson(lines[k], path + " line " + std::to_string(k + 1), &r.lines.emplace_back());
  r.problem_pass = ProblemPass(rdir, r.final);
  return r;
}

// A learned reward's training step: the proxy and the truth on the same samples.
struct ProxyPoint {
  double step = 0, proxy = 0, accuracy = 0;
};

std::vector<ProxyPoint> ProxyPoints(const RunRecords& r) {
  std::vector<ProxyPoint> out;
  for (const MetricsLine& m : r.lines)
    if (m.has_proxy_reward()) out.push_back({static_cast<double>(m.step()), m.proxy_reward(), m.true_accuracy()});
  return out;
}

// Arms whose runs log a learned reward's proxy (PRM-RL) get the proxy columns.
bool HasProxy(const ArmRecords& a) {
  for (const RunRecords& r : a.runs)
    if (!ProxyPoints(r).empty()) return true;
  return false;
}

// Updates per rollout batch (epochs x minibatches) of a policy-gradient arm; 0 otherwise.
int UpdatesPerBatch(const Arm& arm) {
  if (arm.has_grpo()) return arm.grpo().epochs() * arm.grpo().minibatches();
  if (arm.has_prm_rl()) return arm.prm_rl().grpo().epochs() * arm.prm_rl().grpo().minibatches();
  if (arm.has_ppo()) return arm.ppo().epochs() * arm.ppo().minibatches();
  return 0;
}

// The clipped surrogate at work: with one update per rollout batch the ratio
// is exactly 1 and clipping never acts (the surrogate is REINFORCE with a
// baseline); with several, the later updates are off-policy and clipping
// bounds them.
std::string PolicyUpdateSection(const ReportInput& in) {
  std::ostringstream md;
  bool any = false;
  for (const ArmRecords& a : in.arms) {
    if (UpdatesPerBatch(*a.arm) == 0) continue;
    if (!any)
      md << "\n## Policy updates: is the clip active?\n\n| arm | updates per rollout batch (epochs x minibatches) | "
            "tokens with the ratio outside the clip range %, first → last tenth of steps | gradient cut below / "
            "above %, last tenth |\n"
            "|---|---|---|---|\n";
    any = true;
    auto win = [&](bool last, auto f) {
      return OverRuns(a.runs, [&](const RunRecords& r) {
        std::vector<const MetricsLine*> steps;
        for (const MetricsLine& m : r.lines)
          if (m.has_clip_region_frac()) steps.push_back(&m);
        return WindowMean(steps, last, f);
      });
    };
    auto region = [](const MetricsLine* m) { return m->clip_region_frac(); };
    md << "| " << a.arm->name() << " | " << UpdatesPerBatch(*a.arm) << " | " << FmtOr(win(false, region), 100, 2)
       << " → " << FmtOr(win(true, region), 100, 2) << " | "
       << FmtOr(win(true, [](const MetricsLine* m) { return m->has_clip_low_frac() ? m->clip_low_frac() : NAN; }),
                100, 2)
       << " / "
       << FmtOr(win(true, [](const MetricsLine* m) { return m->has_clip_high_frac() ? m->clip_high_frac() : NAN; }),
                100, 2)
       << " |\n";
  }
  if (any)
    md << "\nShares of trained tokens: the probability ratio outside [1 - clip, 1 + clip], and the clip "
          "cutting the gradient (ratio below the range with a negative advantage, above it with a positive "
          "one). With one update per rollout batch the ratio is exactly 1 and the surrogate is REINFORCE with "
          "a baseline; R1 split each rollout batch into 16 minibatches.\n";
  return md.str();
}

// Arms some of whose runs took no training step (no metrics line past step
// 0 that is not an evaluation): their fixed costs spent the whole budget, so
// their rows measure the policy they started from, not the method.
std::string NoStepNote(const ReportInput& in) {
  std::string arms;
  for (const ArmRecords& a : in.arms) {
    size_t none = 0;
    for (const RunRecords& r : a.runs)
      none += std::none_of(r.lines.begin(), r.lines.end(),
                           [](const MetricsLine& m) { return m.step() >= 1 && !m.has_eval(); });
    if (none > 0)
      arms += (arms.empty() ? "" : ", ") + a.arm->name() + " (" + std::to_string(none) + " of " +
              std::to_string(a.runs.size()) + (a.runs.size() == 1 ? " run)" : " runs)");
  }
  if (arms.empty()) return "";
  return "\n**No training step:** " + arms +
         ". Their fixed costs (a learned reward's labels and training, a value network's pretraining, a critic's "
         "warm-up; in their FLOPs) spent the whole budget before the first step, so these rows measure the policy "
         "they started from, not the method.\n";
}

// Each arm's held-out pass@1 minus the reference arm's (paired_reference,
// else grpo; in a budget curve, the reference at the same budget), paired
// over the test problems both were evaluated on.
std::string PairedSection(const ReportInput& in) {
  const std::string ref_name = PairedReference(*in.cfg);
  auto ref_for = [&](const ArmRecords& a) -> const ArmRecords* {
    for (const ArmRecords& r : in.arms)
      if (r.Family() == ref_name && r.budget_scale == a.budget_scale) return &r;
    return nullptr;
  };
  const ArmRecords* first_ref = nullptr;
  for (const ArmRecords& a : in.arms)
    if (!first_ref && a.Family() == ref_name) first_ref = &a;
  if (!first_ref || in.arms.size() < 2) return "";
  const bool sweep = first_ref->budget_scale > 0;
  std::string md = "\n## Paired differences from " + ref_name + (sweep ? " at equal budget" : "") +
                   " (held-out pass@1)\n\n";
  const size_t nb = in.bases.size();
  const RunsByBase first = in.Outcomes(*first_ref);
  if (first.empty()) return md + "Needs every run's samples.jsonl.xz; these results predate them.\n";
  const size_t problems = first[0][0].size();
  md += "| arm | minus " + ref_name + (sweep ? " at its budget" : "") +
        ", points | 95% paired bootstrap interval | excludes 0 |\n|---|---|---|---|\n";
  for (const ArmRecords& a : in.arms) {
    const ArmRecords* ref = ref_for(a);
    if (a.Family() == ref_name || !ref) continue;
    const RunsByBase x = in.Outcomes(a), b = in.Outcomes(*ref);
    if (x.empty() || b.empty() || x[0][0].size() != b[0][0].size()) {
      md += "| " + a.arm->name() + " | - | no samples on the same problems | - |\n";
      continue;
    }
    md += "| " + a.arm->name() + " | " + PairedCells(PairedBootstrap(x, b)) + " |\n";
  }
  md += "\nThe same " + std::to_string(problems) + " test problems for every arm: each resample (2,000) draws problems "
        "with replacement, the same for both arms, ";
  if (nb == 1)
    return md + "and each arm's seeds with replacement (percentile interval). One base for all arms, so base variance "
                "is not in the interval.\n";
  return md + "and the " + std::to_string(nb) + " bases with replacement, the same for both arms (an arm's runs "
              "from a base are paired with " + ref_name + "'s from that base), then each arm's seeds within each drawn base "
              "(percentile interval): the interval covers problems, bases and RL seeds.\n";
}

// A budget curve's arms by family (the configured arm), in config order,
// each with its points in ascending budget; empty outside a sweep.
std::vector<std::pair<std::string, std::vector<const ArmRecords*>>> BudgetFamilies(const ReportInput& in) {
  std::vector<std::pair<std::string, std::vector<const ArmRecords*>>> out;
  for (const ArmRecords& a : in.arms) {
    if (a.budget_scale <= 0) continue;
    if (out.empty() || out.back().first != a.Family()) out.emplace_back(a.Family(), std::vector<const ArmRecords*>{});
    out.back().second.push_back(&a);  // ExpandBudgets orders the points
  }
  return out;
}

// The share of a run's FLOPs that went to labelling and training a learned
// reward or value model (the PRM's labels, the value network's pretraining
// and updates): the cost a larger budget dilutes when it is fixed.
double ModelShare(const RunRecords& r) {
  const double label = r.PhaseFlops("label"), train = r.PhaseFlops("reward_train");
  if (std::isnan(label) || std::isnan(train) || r.done.flops() <= 0) return NAN;
  return (label + train) / r.done.flops();
}

std::string BudgetSection(const ReportInput& in) {
  const auto families = BudgetFamilies(in);
  if (families.empty()) return "";
  std::ostringstream md;
  md << "\n## Budget curves: held-out pass@1 against FLOPs\n\n| arm |";
  for (const ArmRecords* p : families[0].second) md << " " << JsonNumber(p->budget_scale) << "x |";
  md << "\n|---|";
  for (size_t i = 0; i < families[0].second.size(); ++i) md << "---|";
  md << "\n";
  for (const auto& [family, points] : families) {
    md << "| " << family << " |";
    for (const ArmRecords* p : points) {
      const MeanCi pass1 = OverRuns(p->runs, [](const RunRecords& r) { return r.final.pass1(); });
      const MeanCi flops = OverRuns(p->runs, [](const RunRecords& r) { return r.done.flops(); });
      const MeanCi share = OverRuns(p->runs, ModelShare);
      md << " " << Fmt(pass1, 100, 1) << "% at " << FmtSci(flops);
      if (share.n > 0 && share.mean > 0) md << " (reward/value model " << Fmt(share, 100, 0) << "%)";
      md << " |";
    }
    md << "\n";
  }
  md << "\nEach configured arm run at each multiple of its flop_budget and step count (budgets); its fixed costs "
        "(a PRM's labels and training, a value network's pretraining) stay as configured, so their share of the "
        "budget falls as the budget grows. Cells: held-out pass@1 (interval as in the main table) at the arm's "
        "mean training FLOPs; in brackets, the share of those FLOPs spent labelling and training a reward or value "
        "model. The base: "
     << Fmt(in.BasePass1(), 100, 1) << "%. Plot: plots/pass1_vs_budget.\n";
  return md.str();
}

// Pipeline stages (Arm.init_from, rft.teacher_arm): each chain's arms with
// what they start from and the FLOPs from the base. "" without stages.
std::string StagesSection(const ReportInput& in) {
  std::map<std::string, const ArmRecords*> by_name;
  for (const ArmRecords& a : in.arms) by_name[a.arm->name()] = &a;
  // A teacher of another size (rft.teacher_size) is not in this folder: its
  // cost is the distillation table's teacher FLOPs.
  auto deps_here = [&](const Arm& x) {
    std::vector<std::pair<std::string, std::string>> out;
    for (const auto& dep : ArmDependencies(x))
      if (dep.first != "rft.teacher_arm" || !CrossSizeTeacher(x, in.cfg->name())) out.push_back(dep);
    return out;
  };
  std::set<std::string> staged;  // stages and the arms they start from
  for (const ArmRecords& a : in.arms)
    for (const auto& dep : deps_here(*a.arm)) staged.insert({a.arm->name(), dep.second});
  if (staged.empty()) return "";
  auto own = [](const ArmRecords& a) { return OverRuns(a.runs, [](const RunRecords& r) { return r.done.flops(); }).mean; };
  std::ostringstream md;
  md << "\n## Pipeline stages\n\nA stage starts from the final checkpoint of the arm it names (init_from), or "
        "distils that arm's verified samples (rft.teacher_arm), run from the same base with the same seed. FLOPs "
        "from the base: the stage's own and those of every arm it depends on (means over runs; a teacher's "
        "sampling for the stage is in the distillation table), excluding the base's pretraining.\n\n"
        "| arm | starts from | teacher | pass@1 % | its FLOPs | FLOPs from the base |\n|---|---|---|---|---|---|\n";
  for (const ArmRecords& a : in.arms) {
    if (!staged.count(a.arm->name())) continue;
    std::set<std::string> deps;  // every arm this one depends on, once
    std::vector<std::string> pending = {a.arm->name()};  // a walk over the dependencies
    while (!pending.empty()) {
      const Arm& x = *by_name.at(pending.back())->arm;
      pending.pop_back();
      for (const auto& dep : deps_here(x))
        if (deps.insert(dep.second).second) pending.push_back(dep.second);
    }
    double total = own(a);
    for (const std::string& d : deps) total += own(*by_name.at(d));
    md << "| " << a.arm->name() << " | " << (a.arm->has_init_from() ? a.arm->init_from() : "the base") << " | "
       << (a.arm->has_rft() && a.arm->rft().has_teacher_arm() ? a.arm->rft().teacher_arm() : "-") << " | "
       << Fmt(OverRuns(a.runs, [](const RunRecords& r) { return r.final.pass1(); }), 100, 1) << " | "
       << FmtSci(MeanWithCi({own(a)})) << " | " << FmtSci(MeanWithCi({total})) << " |\n";
  }
  return md.str();
}

// Whether prompts come in two languages: any arith or note part with Spanish.
bool TwoLanguages(const TaskConfig& t) {
  if (t.has_arith()) return t.arith().spanish_rate() > 0;
  if (t.has_note()) return t.note().spanish_rate() > 0;
  if (t.has_mix())
    for (const MixPart& part : t.mix().parts())
      if (TwoLanguages(part.task())) return true;
  return false;
}

// R1's readability against accuracy (the pipeline against R1-Zero): pass@1
// by level (a mix's levels are its parts), language consistency, the share
// of responses closing with a summary line, and length. "" unless prompts
// come in two languages and some model writes summaries.
std::string ReadabilitySection(const ReportInput& in) {
  const int n = in.cfg->eval().samples_per_problem();
  bool summaries = false;
  for (const EvalRecord& b : in.bases) summaries = summaries || b.summary_rate() > 0;
  for (const ArmRecords& a : in.arms)
    for (const RunRecords& r : a.runs) summaries = summaries || r.final.summary_rate() > 0;
  if (!summaries || !TwoLanguages(in.cfg->task())) return "";
  std::set<int> levels;
  for (const EvalRecord& b : in.bases)
    for (const auto& [level, pass1] : ParseEval(b, n).level_pass1) levels.insert(level);
  const TaskConfig& task = in.cfg->task();
  auto level_name = [&](int level) {
    if (!task.has_mix() || level < 1 || level > task.mix().parts_size()) return "level " + std::to_string(level);
    const TaskConfig& part = task.mix().parts(level - 1).task();
    const auto* oneof = TaskConfig::descriptor()->FindOneofByName("task");
    const auto* field = part.GetReflection()->GetOneofFieldDescriptor(part, oneof);
    return (field ? field->name() : std::string("part")) + " (level " + std::to_string(level) + ")";
  };
  std::ostringstream md;
  md << "\n## Readability against accuracy\n\n| arm |";
  for (int l : levels) md << " pass@1 %, " << level_name(l) << " |";
  md << " language consistency % | ends with a summary % | length |\n|---|";
  for (size_t i = 0; i < levels.size(); ++i) md << "---|";
  md << "---|---|---|\n";
  auto row = [&](const std::string& name, const std::vector<const EvalRecord*>& evals) {
    std::vector<std::pair<const EvalRecord*, Point>> parsed;
    for (const EvalRecord* e : evals) parsed.emplace_back(e, ParseEval(*e, n));
    auto col = [&](auto f) {
      std::vector<double> v;
      for (const auto& [e, p] : parsed) v.push_back(f(*e, p));
      return MeanWithCi(Present(v));
    };
    md << "| " << name << " |";
    for (int l : levels)
      md << " " << FmtOr(col([&](const EvalRecord&, const Point& p) {
              const auto it = p.level_pass1.find(l);
              return it == p.level_pass1.end() ? NAN : it->second;
            }), 100, 1) << " |";
    md << " " << FmtOr(col([](const EvalRecord&, const Point& p) { return p.language; }), 100, 1) << " | "
       << FmtOr(col([](const EvalRecord& e, const Point&) { return e.summary_rate(); }), 100, 1) << " | "
       << FmtOr(col([](const EvalRecord& e, const Point&) { return e.mean_length(); }), 1, 1) << " |\n";
  };
  ForEachEvalRow(in, row);
  md << "\nMeans over seeds with 95% Student-t intervals. Language consistency: the share of chain-of-thought "
        "words in the prompt's language; a summary line closes the chain of thought by stating the answer in the "
        "prompt's language (R1's readable format).\n";
  return md.str();
}

// Whether a run recorded aha episodes at an eval point along the way (runs
// older than the metric have them in their final eval.json only): the
// condition for plots/aha_vs_step.
bool AhaCurveRecorded(const ReportInput& in) {
  for (const ArmRecords& a : in.arms)
    for (const RunRecords& r : a.runs)
      for (const MetricsLine* m : r.EvalPoints())
        if (m->eval().has_aha_rate()) return true;
  return false;
}

// Does reflection pay, and does it grow (R1-Zero's "aha moment")? Shown
// when the evaluations record it (results written before lack it): per row,
// the share of responses with a reflective word, the pass@1 of those and of
// the others, and the share of aha episodes (a response that revises a step
// of its own and ends right), for runs from their first eval point to the
// final one.
std::string ReflectionSection(const ReportInput& in) {
  // Whether a base evaluation or a run's final one records a field.
  auto any = [&](bool (EvalRecord::*has)() const) {
    bool out = false;
    for (const EvalRecord& b : in.bases) out = out || (b.*has)();
    for (const ArmRecords& a : in.arms)
      for (const RunRecords& r : a.runs) out = out || (r.final.*has)();
    return out;
  };
  if (!any(&EvalRecord::has_aha_rate)) return "";
  std::map<std::string, const ArmRecords*> by_name;
  for (const ArmRecords& a : in.arms) by_name[a.arm->name()] = &a;
  const bool form = any(&EvalRecord::has_lines_in_form);
  std::ostringstream md;
  md << "\n## Reflection: does it pay, does it grow?\n\n| arm | responses with a reflective word % | pass@1 % "
        "of those | pass@1 % of the others | length of those / of the others | within a problem: reflective minus plain, "
        "points (problems with both %) | aha episodes %: first eval point → final |"
     << (form ? " thinking lines in the teacher's form %: all / those with a reflective word |" : "")
     << "\n|---|---|---|---|---|---|---|" << (form ? "---|" : "") << "\n";
  using Has = bool (EvalRecord::*)() const;
  using Get = double (EvalRecord::*)() const;
  auto value = [](const EvalRecord& e, Has has, Get get) { return (e.*has)() ? (e.*get)() : NAN; };
  auto row = [&](const std::string& name, const std::vector<const EvalRecord*>& evals) {
    auto col = [&](Has has, Get get, double scale = 100) {
      std::vector<double> v;
      for (const EvalRecord* e : evals) v.push_back(value(*e, has, get));
      return FmtOr(MeanWithCi(Present(v)), scale, 1);
    };
    std::string first = "";
    const auto arm = by_name.find(name);
    if (arm != by_name.end()) {
      const MeanCi m = OverRuns(arm->second->runs, [&](const RunRecords& r) {
        const std::vector<const MetricsLine*> pts = r.EvalPoints();
        return pts.empty() ? NAN : value(pts.front()->eval(), &EvalRecord::has_aha_rate, &EvalRecord::aha_rate);
      });
      first = FmtOr(m, 100, 1) + " → ";
    }
    md << "| " << name << " | " << col(&EvalRecord::has_reflective_rate, &EvalRecord::reflective_rate) << " | "
       << col(&EvalRecord::has_pass1_reflective, &EvalRecord::pass1_reflective) << " | "
       << col(&EvalRecord::has_pass1_plain, &EvalRecord::pass1_plain) << " | "
       << col(&EvalRecord::has_length_reflective, &EvalRecord::length_reflective, 1) << " / "
       << col(&EvalRecord::has_length_plain, &EvalRecord::length_plain, 1) << " | "
       << col(&EvalRecord::has_reflective_gain_within_problem, &EvalRecord::reflective_gain_within_problem) << " ("
       << col(&EvalRecord::has_reflective_mixed_problems, &EvalRecord::reflective_mixed_problems) << ") | " << first
       << col(&EvalRecord::has_aha_rate, &EvalRecord::aha_rate) << " |";
    if (form)
      md << " " << col(&EvalRecord::has_lines_in_form, &EvalRecord::lines_in_form) << " / "
         << col(&EvalRecord::has_check_lines_in_form, &EvalRecord::check_lines_in_form) << " |";
    md << "\n";
  };
  ForEachEvalRow(in, row);
  md << "\nHeld-out, final; means over seeds with 95% Student-t intervals. Reflective words: the report's (wait, "
        "mistake, however, but, retry, error, verify, evaluate, check). An aha episode: a response whose chain of "
        "thought rewrites a step of its own (a line starting \"wait\" or \"espera\" after an earlier line) and "
        "whose answer is right. Length: mean tokens of each kind, so that a change in length reads as more "
        "responses that reflect or as longer ones of either kind. The paired column compares the two kinds of "
        "response within each problem that has both (mean over those problems), since a model may reflect more on "
        "harder problems. Neither comparison "
        "says whether checking pays: a model that checks reliably retries exactly where its first attempt failed. "
        "eval.without_checks measures that, as a counterfactual."
     << (form ? " The teacher's form: a line the task's teacher could have written (its grammar, every word in one "
                "language, or the summary line); a rule reward on the answer alone leaves it free, reward.form_weight "
                "pays for it."
              : "")
     << (AhaCurveRecorded(in) ? " Plot: plots/aha_vs_step." : "") << "\n";
  if (!any(&EvalRecord::has_pass1_without_checks)) return md.str();
  md << "\n| arm | responses with a check line % | their pass@1 % as written | redrawn without check lines | "
        "what the checks add, points |\n|---|---|---|---|---|\n";
  ForEachEvalRow(in, [&](const std::string& name, const std::vector<const EvalRecord*>& evals) {
    std::vector<double> rate, with, without, gain;
    for (const EvalRecord* e : evals) {
      rate.push_back(value(*e, &EvalRecord::has_check_rate, &EvalRecord::check_rate));
      with.push_back(value(*e, &EvalRecord::has_pass1_with_check, &EvalRecord::pass1_with_check));
      without.push_back(value(*e, &EvalRecord::has_pass1_without_checks, &EvalRecord::pass1_without_checks));
      gain.push_back(with.back() - without.back());
    }
    md << "| " << name << " | " << FmtOr(MeanWithCi(Present(rate)), 100, 1) << " | "
       << FmtOr(MeanWithCi(Present(with)), 100, 1) << " | " << FmtOr(MeanWithCi(Present(without)), 100, 1) << " | "
       << FmtOr(MeanWithCi(Present(gain)), 100, 1) << " |\n";
  });
  md << "\nThe counterfactual (eval.without_checks): each response whose chain of thought has a line with a "
        "reflective word is drawn again from the same policy with check lines masked (cut before its first check "
        "line and regenerated from there while a check line comes back, up to 8 times; where one came back every "
        "time, the thinking ends there and the answer is sampled); the same responses' pass@1 as written minus "
        "redrawn is what their checks add. Plot: plots/checks_vs_step.\n";
  return md.str();
}

// Which commit and machine made each base evaluation and each run (from
// their done.json), grouped.
std::string ProvenanceSection(const std::string& dir, const ReportInput& in) {
  std::vector<std::pair<std::string, std::string>> keys;  // (commit, machine), first-seen order
  std::map<std::pair<std::string, std::string>, std::string> made;
  auto add = [&](const DoneRecord& d, const std::string& what) {
    const auto key = std::make_pair(d.commit().empty() ? "not recorded" : d.commit(),
                                    d.has_machine() ? MachineLine(d.machine()) : "not recorded");
    if (!made.count(key)) keys.push_back(key);
    std::string& list = made[key];
    list += (list.empty() ? "" : ", ") + what;
  };
  const std::vector<BaseSlot> bases = Bases(*in.cfg);
  for (const BaseSlot& b : bases) {
    const std::string base_done = dir + "/" + b.name + "/done.json";
    if (!FileExists(base_done)) continue;
    add(ReadDoneJson(base_done, /*run=*/false), b.own_folders ? b.name + " evaluation" : "base evaluation");
  }
  for (const ArmRecords& a : in.arms)
    for (const RunRecords& r : a.runs)
      add(r.done, a.arm->name() + (bases.size() > 1 ? " " + bases[static_cast<size_t>(r.base)].name : "") +
                      " seed " + std::to_string(r.seed));
  std::string md = "\n## Provenance\n\n| made | commit | machine |\n|---|---|---|\n";
  for (const auto& key : keys) md += "| " + made[key] + " | " + key.first + " | " + key.second + " |\n";
  return md + "\nTrained numbers are exact only on one machine: another CPU, BLAS or thread count trains to "
              "other numbers.\n";
}

// Writes the data files and the gnuplot script; runs gnuplot if present.
void WritePlots(const std::string& dir, const ReportInput& in, int n) {
  Point base;  // the mean over the bases
  for (const EvalRecord& b : in.bases) AddPlotted(&base, ParseEval(b, n), static_cast<double>(in.bases.size()));
  std::vector<std::string> names;
  for (const ArmRecords& a : in.arms) names.push_back(a.arm->name());
  const std::string pdir = std::filesystem::path(dir + "/plots").lexically_normal().string();  // "DIR/" too
  EnsureWritableDir(pdir);
  std::ostringstream curves, passk, levels, reflection;
  const bool reflection_recorded = AhaCurveRecorded(in);
  bool checks_recorded = false;
  // Blocks: base first, then each arm (gnuplot "index" i).
  auto curve_block = [&](const std::string& name, const std::vector<Point>& pts) {
    curves << "# " << name << "\n# step flops pass1 length reflect_per_1k wait_per_1k\n";
    for (const Point& p : pts)
      curves << p.step << " " << p.flops << " " << p.pass1 << " " << p.length << " " << p.reflect << " " << p.wait
             << "\n";
    curves << "\n\n";
    reflection << "# " << name << "\n# step aha_rate reflective_rate checks_add\n";
    for (const Point& p : pts) {
      checks_recorded = checks_recorded || !std::isnan(p.checks_add);
      auto num = [](double v) { return std::isnan(v) ? std::string("NaN") : JsonNumber(v); };  // gnuplot skips NaN
      reflection << p.step << " " << num(p.aha) << " " << num(p.reflective) << " " << num(p.checks_add) << "\n";
    }
    reflection << "\n\n";
  };
  auto final_blocks = [&](const std::string& name, const Point& p) {
    passk << "# " << name << "\n# k pass_at_k\n";
    for (const auto& [k, v] : p.pass_at) passk << k << " " << v << "\n";
    passk << "\n\n";
    levels << "# " << name << "\n# level pass1 length\n";
    for (const auto& [l, v] : p.level_pass1) levels << l << " " << v << " " << p.level_length.at(l) << "\n";
    levels << "\n\n";
  };
  curve_block("base", {base});
  final_blocks("base", base);
  for (const ArmRecords& arm : in.arms) {
    // Mean over seeds at each eval point index (seeds share eval steps).
    const double k = static_cast<double>(arm.runs.size());
    size_t len = SIZE_MAX;
    for (const RunRecords& r : arm.runs) len = std::min(len, r.EvalPoints().size());
    std::vector<Point> mean(len == SIZE_MAX ? 0 : len + 1);
    if (!mean.empty()) {
      mean[0] = base;  // every arm starts from the base at step 0
      for (const RunRecords& r : arm.runs) {
        const auto curve = r.EvalPoints();
        for (size_t i = 0; i < len; ++i) {
          Point p = ParseEval(curve[i]->eval(), n);
          p.step = static_cast<double>(curve[i]->step()), p.flops = curve[i]->flops();
          AddPlotted(&mean[i + 1], p, k);
        }
      }
    }
    curve_block(arm.arm->name(), mean);
    Point fin;
    for (const RunRecords& r : arm.runs) AddPlotted(&fin, ParseEval(r.final, n), k);
    final_blocks(arm.arm->name(), fin);
  }
  // Learned-reward arms: the proxy and the training accuracy per step (mean
  // over seeds, 5-step centred moving average), one block per such arm.
  std::ostringstream proxy_dat;
  std::vector<size_t> proxy_arms;
  for (size_t a = 0; a < in.arms.size(); ++a) {
    const auto& runs = in.arms[a].runs;
    size_t len = SIZE_MAX;
    for (const RunRecords& r : runs) len = std::min(len, ProxyPoints(r).size());
    if (len == SIZE_MAX || len == 0) continue;
    proxy_arms.push_back(a);
    std::vector<ProxyPoint> mean(len);
    const double k = static_cast<double>(runs.size());
    for (const RunRecords& r : runs) {
      const auto proxy = ProxyPoints(r);
      for (size_t i = 0; i < len; ++i) {
        mean[i].step += proxy[i].step / k, mean[i].proxy += proxy[i].proxy / k;
        mean[i].accuracy += proxy[i].accuracy / k;
      }
    }
    proxy_dat << "# " << names[a] << "\n# step proxy train_accuracy (5-step moving averages)\n";
    for (size_t i = 0; i < len; ++i) {
      const size_t lo = i >= 2 ? i - 2 : 0, hi = std::min(len, i + 3);
      double p = 0, q = 0;
      for (size_t j = lo; j < hi; ++j) p += mean[j].proxy, q += mean[j].accuracy;
      proxy_dat << mean[i].step << " " << p / static_cast<double>(hi - lo) << " " << q / static_cast<double>(hi - lo)
                << "\n";
    }
    proxy_dat << "\n\n";
  }
  if (!proxy_arms.empty()) WriteFileAtomic(pdir + "/proxy.dat", proxy_dat.str());
  // Budget curves: per configured arm, pass@1 (mean and interval) at each
  // budget point's mean FLOPs.
  const auto families = BudgetFamilies(in);
  std::string budget_series;
  if (!families.empty()) {
    std::ostringstream budget_dat;
    for (size_t f = 0; f < families.size(); ++f) {
      budget_dat << "# " << families[f].first << "\n# budget_scale flops pass1 pass1_half\n";
      for (const ArmRecords* p : families[f].second) {
        const MeanCi pass1 = OverRuns(p->runs, [](const RunRecords& r) { return r.final.pass1(); });
        budget_dat << p->budget_scale << " " << OverRuns(p->runs, [](const RunRecords& r) { return r.done.flops(); }).mean
                   << " " << pass1.mean << " " << pass1.half << "\n";
      }
      budget_dat << "\n\n";
      budget_series += "'budget.dat' index " + std::to_string(f) + " using 2:3:4 with yerrorlines linecolor " +
                       std::to_string(f + 2) + " title '" + families[f].first + "', ";
    }
    WriteFileAtomic(pdir + "/budget.dat", budget_dat.str());
    budget_series += JsonNumber(base.pass1) + " with lines dashtype 2 linecolor 1 title 'base'";
  }
  WriteFileAtomic(pdir + "/curves.dat", curves.str());
  WriteFileAtomic(pdir + "/pass_at_k.dat", passk.str());
  WriteFileAtomic(pdir + "/levels.dat", levels.str());

  std::vector<std::string> all = {"base"};
  all.insert(all.end(), names.begin(), names.end());
  auto series = [&](const std::string& file, const std::string& using_cols, const std::string& style,
                    bool skip_base, const std::string& suffix = "") {
    std::string s;
    for (size_t i = skip_base ? 1 : 0; i < all.size(); ++i) {
      s += std::string(s.empty() ? "" : ", ") + "'" + file + "' index " + std::to_string(i) + " using " + using_cols +
           " with " + style + " linecolor " + std::to_string(i + 1) + " title '" + all[i] + suffix + "'";
    }
    return s;
  };
  const std::vector<Plot> plots = {
      {"pass1_vs_flops", "held-out pass@1 against training FLOPs", "FLOPs (the arm's own)", "pass@1", "",
       series("curves.dat", "2:3", "linespoints", true)},
      {"length_vs_step", "mean response length", "step", "tokens", "", series("curves.dat", "1:4", "linespoints", true)},
      {"reflection_vs_step", "reflective words per 1,000 tokens (dashed: 'wait' alone)", "step", "per 1k tokens", "",
       series("curves.dat", "1:5", "linespoints", true) + ", " +
           series("curves.dat", "1:6", "lines dashtype 2", true, " wait")},
      {"pass_at_k", "pass@k against k (final)", "k", "pass@k", "set logscale x 2\n",
       series("pass_at_k.dat", "1:2", "linespoints", false)},
      {"accuracy_by_level", "held-out pass@1 by difficulty (final)", "level (operations)", "pass@1",
       "set xtics 1\n", series("levels.dat", "1:2", "linespoints", false)},
      {"length_by_level", "response length by difficulty (final)", "level (operations)", "tokens", "set xtics 1\n",
       series("levels.dat", "1:3", "linespoints", false)},
  };
  std::vector<Plot> all_plots = plots;
  if (reflection_recorded) {
    WriteFileAtomic(pdir + "/reflection.dat", reflection.str());
    // Titles stay under about 70 characters, what an 800-pixel plot shows
    // whole; summary.md defines each measure.
    all_plots.push_back({"aha_vs_step", "aha episodes: a step revised, then right (dashed: any reflective word)",
                         "step", "share of responses", "",
                         series("reflection.dat", "1:2", "linespoints", true) + ", " +
                             series("reflection.dat", "1:3", "lines dashtype 2", true, " reflective")});
  }
  if (checks_recorded)
    all_plots.push_back({"checks_vs_step", "what the checks add: as written minus redrawn without them", "step",
                         "pass@1 of the responses with a check", "",
                         series("reflection.dat", "1:4", "linespoints", true)});
  if (!budget_series.empty())
    all_plots.push_back({"pass1_vs_budget", "held-out pass@1 against training FLOPs, one run per budget",
                         "FLOPs (the arm's own)", "pass@1", "set logscale x\n", budget_series});
  if (!proxy_arms.empty()) {
    // One panel per learned-reward arm (a multiplot), each with its own key.
    const size_t cols = std::min<size_t>(3, proxy_arms.size()), rows = (proxy_arms.size() + cols - 1) / cols;
    std::string body;
    for (size_t i = 0; i < proxy_arms.size(); ++i) {
      const size_t a = proxy_arms[i];
      if (i > 0) body += "\nset title '" + names[a] + "'\nplot ";
      body += "'proxy.dat' index " + std::to_string(i) + " using 1:2 with lines linewidth 2 linecolor 1 title 'proxy', " +
              "'proxy.dat' index " + std::to_string(i) +
              " using 1:3 with lines dashtype 2 linecolor 2 title 'training accuracy', 'curves.dat' index " +
              std::to_string(a + 1) + " using 1:3 with points pointtype 7 linecolor 3 title 'held-out pass@1'";
    }
    body += "\nunset multiplot";
    Plot p{"proxy_vs_truth", names[proxy_arms[0]], "step", "proxy / accuracy",
           "set yrange [0:1]\nset key inside top right font ',8'\nset multiplot layout " + std::to_string(rows) + "," +
               std::to_string(cols) + " title 'learned reward (proxy) against the truth; lines: 5-step moving averages'\n",
           body};
    p.size = std::to_string(400 * cols) + "," + std::to_string(300 * rows + 40);
    all_plots.push_back(p);
  }
  WritePlotScript(pdir, "plots.gp", all_plots);
}

}  // namespace

void WritePlotScript(const std::string& pdir, const std::string& script, const std::vector<Plot>& plots) {
  std::ostringstream gp;
  gp << "# Generated by r1lab; rerun with: cd " << pdir << " && gnuplot " << script << "\n";
  for (const Plot& p : plots) {
    for (const std::string& term : {"svg size " + p.size + " dynamic noenhanced", "pngcairo size " + p.size + " noenhanced"}) {
      const std::string ext = term.rfind("svg", 0) == 0 ? ".svg" : ".png";
      // A title is centred on the canvas, not over the plot area, which a
      // wide key on the right pushes left (gnuplot's own title then loses
      // its start off the left edge); the empty title keeps its line. A
      // multiplot titles each panel with set title, so it keeps gnuplot's.
      const bool multiplot = p.extra.find("multiplot") != std::string::npos;
      const std::string title = multiplot ? "set title \"" + p.title + "\"\n"
                                          : "set title \" \"\nset label 1 \"" + p.title +
                                                "\" at screen 0.5, screen 0.955 center\n";
      gp << "reset\nset key outside right\nset grid\nset terminal " << term << "\nset output '" << p.name << ext
         << "'\n" << title << "set xlabel \"" << p.xlabel << "\"\nset ylabel \"" << p.ylabel << "\"\n" << p.extra
         << "plot " << p.body << "\nunset output\n";
    }
  }
  WriteFileAtomic(pdir + "/" + script, gp.str());
  // gnuplot runs without a shell: whatever the folder is called, it is an
  // argument, never a command.
  const int rc = RunProgram({"gnuplot", script}, pdir, pdir + "/gnuplot.log");
  if (rc == 127) {
    std::fprintf(stderr, "plots: gnuplot not found; data and %s/%s written (scripts/install_deps.sh installs "
                 "gnuplot-nox)\n", pdir.c_str(), script.c_str());
    return;
  }
  if (rc != 0)
    throw IoError("plots: gnuplot failed (exit status " + std::to_string(rc) + ") in " + pdir + "; see " + pdir +
                  "/gnuplot.log");
  for (const Plot& p : plots)
    for (const char* ext : {".svg", ".png"}) {
      const std::string out = pdir + "/" + p.name + ext;
      std::error_code ec;
      if (std::filesystem::file_size(out, ec) == 0 || ec)
        throw IoError("plots: gnuplot wrote no " + out + " (disk full?); see " + pdir + "/gnuplot.log");
    }
}

std::vector<SampleRecord> ReadSamples(const std::string& path) {
  std::vector<SampleRecord> out;
  for (const std::string& line : SplitLines(ReadText(path))) {
    const std::string where = path + " line " + std::to_string(out.size() + 1);
    RecordFromJson(line, where, &out.emplace_back());
  }
  return out;
}

std::vector<BaseSlot> Bases(const ExperimentConfig& cfg) {
  if (cfg.base_seeds_size() == 0) return {{cfg.model().init_seed(), "base", false}};
  std::vector<BaseSlot> out;
  for (uint64_t b : cfg.base_seeds()) out.push_back({b, "base-" + std::to_string(b), true});
  return out;
}

ExperimentConfig ForBase(const ExperimentConfig& cfg, const BaseSlot& base) {
  ExperimentConfig c = cfg;
  if (base.own_folders) c.mutable_model()->set_init_seed(base.init_seed);  // else cfg's, as it is
  return c;
}

std::string RunDir(const std::string& dir, const Arm& arm, const BaseSlot& base, uint64_t seed) {
  return dir + "/runs/" + arm.name() + (base.own_folders ? "/" + base.name : "") + "/seed-" + std::to_string(seed);
}

std::string BudgetArmName(const std::string& arm, double scale) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "-x%g", scale);
  return arm + buf;
}

ExperimentConfig ExpandBudgets(const ExperimentConfig& cfg, std::vector<BudgetPoint>* points) {
  if (points) points->clear();
  if (cfg.budgets_size() == 0) {
    if (points)
      for (const Arm& a : cfg.arms()) points->push_back({a.name(), 0});
    return cfg;
  }
  std::vector<double> scales(cfg.budgets().begin(), cfg.budgets().end());
  std::sort(scales.begin(), scales.end());
  ExperimentConfig out = cfg;
  out.clear_budgets();
  out.clear_arms();
  std::set<std::string> configured;
  for (const Arm& a : cfg.arms()) configured.insert(a.name());
  for (const Arm& a : cfg.arms())
    for (double m : scales) {
      Arm* x = out.add_arms();
      *x = a;
      x->set_name(BudgetArmName(a.name(), m));
      RenameDependencies(x, [m](const std::string& from) { return BudgetArmName(from, m); });  // the same point
      if (configured.count(x->name()))
        throw ConfigError(cfg.name() + ": budgets: arm '" + a.name() + "' at " + JsonNumber(m) + "x would be named '" +
                          x->name() + "', the name of another arm; rename that arm");
      x->set_flop_budget(a.flop_budget() * m);
      ScaleArmSteps(x, m);
      if (points) points->push_back({a.name(), m});
    }
  return out;
}

ReportInput ReadReportInput(const ExperimentConfig& configured, const std::string& dir) {
  ReportInput in;
  std::vector<BudgetPoint> points;
  in.owned = std::make_shared<const ExperimentConfig>(ExpandBudgets(configured, &points));
  const ExperimentConfig& cfg = *in.owned;
  in.cfg = &cfg;
  const std::vector<BaseSlot> bases = Bases(cfg);
  for (const BaseSlot& b : bases) {
    in.bases.push_back(ReadEvalJson(dir + "/" + b.name + "/eval.json"));
  }
  for (int i = 0; i < cfg.arms_size(); ++i) {
    const Arm& arm = cfg.arms(i);
    ArmRecords& a = in.arms.emplace_back();
    a.arm = &arm;
    a.family = points[static_cast<size_t>(i)].family;
    a.budget_scale = points[static_cast<size_t>(i)].scale;
    for (size_t b = 0; b < bases.size(); ++b)
      for (uint64_t seed : cfg.seeds()) {
        RunRecords& r = a.runs.emplace_back(ReadRun(RunDir(dir, arm, bases[b], seed)));
        r.base = static_cast<int>(b);
        r.seed = seed;
      }
  }
  return in;
}

ReportFiles BuildReport(const ExperimentConfig& cfg, const std::string& dir, const ReportInput& in) {
  const int n = cfg.eval().samples_per_problem();
  std::vector<bool> learned;
  for (const ArmRecords& a : in.arms) learned.push_back(HasProxy(a));
  const bool any_learned = std::find(learned.begin(), learned.end(), true) != learned.end();
  // Language consistency is a column when prompts come in two languages.
  const bool languages = TwoLanguages(cfg.task());
  std::ostringstream md, csv;
  md << "| arm | seeds | pass@1 % | maj@" << n << " % | pass@" << n << " % | format % | length | reflective/1k"
     << (languages ? " | language % " : " ") << (any_learned ? "| proxy − true " : "")
     << "| FLOPs | oracle calls | wall s |\n|---|---|---|---|---|---|---|---|" << (languages ? "---|" : "")
     << (any_learned ? "---|" : "") << "---|---|---|\n";
  csv << "arm,seeds,pass1,pass1_ci,maj,maj_ci,pass_n,pass_n_ci,format_rate,format_rate_ci,mean_length,"
         "mean_length_ci,reflect_per_1k,reflect_per_1k_ci,flops,wall_s,language,language_ci,proxy,proxy_ci,"
         "proxy_gap,proxy_gap_ci,steps_mean,repeated_step_rate,no_answer_rate,oracle_calls\n";
  const size_t nb = in.bases.size();
  // One row: the bases (`runs` empty) or an arm's runs.
  auto row = [&](const std::string& name, const std::vector<RunRecords>& runs, bool is_learned) {
    const bool only = runs.empty();
    auto get = [&](auto f) {
      return only ? in.OverBases([&](const EvalRecord& e) { return f(ParseEval(e, n)); })
                  : OverRuns(runs, [&](const RunRecords& r) { return f(ParseEval(r.final, n)); });
    };
    const size_t count = only ? nb : runs.size();
    const MeanCi pass1 = get([](const Point& p) { return p.pass1; });
    const MeanCi maj = get([](const Point& p) { return p.maj; });
    const MeanCi pn = get([](const Point& p) { return p.pass_n; });
    const MeanCi fmt = get([](const Point& p) { return p.format; });
    const MeanCi len = get([](const Point& p) { return p.length; });
    const MeanCi refl = get([](const Point& p) { return p.reflect; });
    const MeanCi lang = get([](const Point& p) { return p.language; });
    const MeanCi flops = only ? MeanCi{} : OverRuns(runs, [](const RunRecords& r) { return r.done.flops(); });
    const MeanCi wall = only ? MeanCi{} : OverRuns(runs, [](const RunRecords& r) { return r.done.wall_s(); });
    // Absent (NaN) in runs recorded before oracle calls were counted.
    const MeanCi oracle = only ? MeanWithCi({0.0}) : OverRuns(runs, [](const RunRecords& r) {
      return r.done.has_oracle_calls() ? static_cast<double>(r.done.oracle_calls()) : std::nan("");
    });
    // The proxy and its gap to the truth over the last tenth of training.
    MeanCi proxy, gap;
    if (is_learned) {
      proxy = OverRuns(runs, [](const RunRecords& r) {
        return WindowMean(ProxyPoints(r), true, [](const ProxyPoint& q) { return q.proxy; });
      });
      gap = OverRuns(runs, [](const RunRecords& r) {
        return WindowMean(ProxyPoints(r), true, [](const ProxyPoint& q) { return q.proxy - q.accuracy; });
      });
    }
    // Absent (NaN, left out) in results older than these metrics.
    const MeanCi steps = get([](const Point& p) { return p.steps_mean; });
    const MeanCi rep = get([](const Point& p) { return p.repeated; });
    const MeanCi noans = get([](const Point& p) { return p.no_answer; });
    md << "| " << name << " | "
       << (only || nb == 1 ? std::to_string(count) : std::to_string(nb) + " x " + std::to_string(count / nb)) << " | " << Fmt(pass1, 100, 1) << " | " << Fmt(maj, 100, 1)
       << " | " << Fmt(pn, 100, 1) << " | " << Fmt(fmt, 100, 1) << " | " << Fmt(len, 1, 1) << " | "
       << Fmt(refl, 1, 2) << (languages ? " | " + Fmt(lang, 100, 1) : "")
       << (any_learned ? " | " + FmtOr(gap, 1, 3) : "") << " | " << FmtSci(flops) << " | " << FmtSciOr(oracle)
       << " | " << Fmt(wall, 1, 0)
       << " |\n";
    auto cell = [](const MeanCi& m, bool half) {
      if (m.n == 0) return std::string();
      char b[48];
      std::snprintf(b, sizeof b, "%.6f", half ? m.half : m.mean);
      return std::string(b);
    };
    char buf[512];
    std::snprintf(buf, sizeof buf,
                  "%s,%zu,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f,%.4f,%.4f,%.4f,%.4f,%.6g,%.2f,%.6f,%.6f,",
                  name.c_str(), count, pass1.mean, pass1.half, maj.mean, maj.half, pn.mean, pn.half, fmt.mean,
                  fmt.half, len.mean, len.half, refl.mean, refl.half, flops.mean, wall.mean, lang.mean, lang.half);
    csv << buf << cell(proxy, false) << "," << cell(proxy, true) << "," << cell(gap, false) << "," << cell(gap, true)
        << "," << cell(steps, false) << "," << cell(rep, false) << "," << cell(noans, false) << ","
        << (oracle.n == 0 ? std::string() : std::to_string(std::llround(oracle.mean))) << "\n";
  };
  row("base", {}, false);
  for (size_t a = 0; a < in.arms.size(); ++a) row(in.arms[a].arm->name(), in.arms[a].runs, learned[a]);
  if (nb == 1)
    md << "\nMean ± half-width of the 95% Student-t interval over seeds (n-1 degrees of freedom; no interval for a "
          "single value).";
  else
    md << "\n" << nb << " bases (base_seeds: each pretrained from its own seed), each arm run from each with "
       << cfg.seeds_size() << (cfg.seeds_size() == 1 ? " RL seed" : " RL seeds")
       << " (seeds: bases x RL seeds). Mean ± half-width of the 95% Student-t interval over the bases' means, each "
          "the mean over its RL seeds ("
       << nb - 1 << (nb == 2 ? " degree" : " degrees") << " of freedom): the interval covers the base's variance and the RL seeds'; the base row's is over "
          "the bases.";
  md << " Held-out eval: "
     << cfg.eval().num_problems() << (cfg.eval().split() == VALIDATION ? " validation" : "") << " problems x " << n
     << " samples. FLOPs: the arm's own training and generation, excluding the shared base and evaluation"
     << (any_learned ? ", including every cost of a learned reward. proxy − true: the learned reward minus the "
                       "verifier's accuracy on the same training samples, last tenth of the steps"
                     : "")
     << ". Oracle calls: verdicts against the gold answer (or the exact per-step truth) the arm's training "
        "used, per run: one per rule-rewarded sample, per Monte Carlo or labelled completion, per line a "
        "search verifies ('-': not recorded).\n";
  md << NoStepNote(in) << PairedSection(in) << BudgetSection(in) << StagesSection(in) << ReadabilitySection(in) << ReflectionSection(in) << TuningSection(cfg) << PolicyUpdateSection(in) << ReportSections(in) << ProvenanceSection(dir, in);
  return {"# " + cfg.name() + "\n\n" + md.str() + "\nPlots: plots/*.svg, plots/*.png\n", csv.str(), md.str()};
}

std::string WriteReport(const ExperimentConfig& cfg, const std::string& dir) {
  const ReportInput in = ReadReportInput(cfg, dir);
  const ReportFiles files = BuildReport(cfg, dir, in);
  WriteFileAtomic(dir + "/summary.md", files.summary_md);
  WriteFileAtomic(dir + "/summary.csv", files.summary_csv);
  WritePlots(dir, in, cfg.eval().samples_per_problem());
  return files.tables;
}

std::string MergeTables(const std::vector<std::string>& dirs, bool csv) {
  if (dirs.empty()) throw ConfigError("table: give at least one experiment folder");
  auto split = [](const std::string& line) {  // getline drops a trailing empty cell
    std::vector<std::string> cells;
    std::stringstream ss(line);
    for (std::string c; std::getline(ss, c, ',');) cells.push_back(c);
    return cells;
  };
  std::string header;
  std::vector<std::string> cols = {"experiment"};  // then the header's columns
  std::vector<std::vector<std::string>> rows;
  for (const std::string& d : dirs) {
    const std::string path = d + "/summary.csv";
    if (!FileExists(path)) throw IoError(path + ": no summary.csv (has `r1lab run` finished in " + d + "?)");
    const std::vector<std::string> lines = ReadLines(path);
    if (lines.empty()) throw IoError(path + ": empty");
    if (header.empty()) {
      header = lines[0];
      for (const std::string& c : split(header)) cols.push_back(c);
      if (std::find(cols.begin(), cols.end(), "arm") == cols.end() ||
          std::find(cols.begin(), cols.end(), "pass1") == cols.end())
        throw IoError(path + " line 1: expected the header r1lab writes (its columns include arm and pass1)");
    } else if (header != lines[0]) {
      throw IoError(path + ": columns differ from " + dirs[0] + "/summary.csv");
    }
    const std::string name = std::filesystem::path(d).lexically_normal().filename().string();
    for (size_t i = 1; i < lines.size(); ++i) {
      const std::string where = path + " line " + std::to_string(i + 1);
      std::vector<std::string> cells = split(lines[i]);
      cells.insert(cells.begin(), name.empty() ? d : name);
      // A row of an arm and numbers, one per column.
      if (cells.size() > cols.size() || cells.size() + 1 < cols.size())
        throw IoError(where + ": " + std::to_string(cells.size() - 1) + " cells; expected " +
                      std::to_string(cols.size() - 1) + ", one per column of line 1");
      for (size_t c = 1; c < cells.size(); ++c) {
        if (cols[c] == "arm" || cols[c] == "size") continue;  // the names; the rest are numbers
        char* end = nullptr;
        const std::string& v = cells[c];
        if (!v.empty() && (std::strtod(v.c_str(), &end), *end != '\0'))
          throw IoError(where + ": " + cols[c] + " is '" + v + "'; expected a number or nothing");
      }
      cells.resize(cols.size());
      rows.push_back(cells);
    }
  }
  std::ostringstream out;
  const std::string sep = csv ? "," : " | ";
  auto line = [&](const std::vector<std::string>& cells) {
    out << (csv ? "" : "| ");
    for (size_t i = 0; i < cells.size(); ++i) out << (i ? sep : "") << cells[i];
    out << (csv ? "\n" : " |\n");
  };
  line(cols);
  if (!csv) line(std::vector<std::string>(cols.size(), "---"));
  for (const auto& r : rows) line(r);
  return out.str();
}

std::string PairedReference(const ExperimentConfig& cfg) {
  return cfg.has_paired_reference() ? cfg.paired_reference() : "grpo";
}

std::string PairedCells(const PairedDiff& d) {
  char buf[96];
  std::snprintf(buf, sizeof buf, "%+.1f | [%+.1f, %+.1f] | %s", 100 * d.mean, 100 * d.lo, 100 * d.hi,
                d.ExcludesZero() ? "yes" : "no");
  return buf;
}

}  // namespace r1lab

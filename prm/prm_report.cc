// PRM-RL's sections of summary.md: the learned reward (proxy) against the
// truth, degeneration signs, and the reward model's labels, shift and cost.
#include <algorithm>
#include <cmath>
#include <map>
#include <sstream>

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include "json.h"
#include "report_section.h"

namespace r1lab {
namespace {

double Proxy(const MetricsLine* m) { return m->proxy_reward(); }
double Accuracy(const MetricsLine* m) { return m->true_accuracy(); }

// The hacking onset: the eval step where held-out pass@1 peaks (step 0 is
// the base), if the training proxy averages higher after it than over the
// tenth of the run leading up to it, and the peak is not the last eval
// point. -1: no onset (the truth kept up, or the proxy did not rise).
double HackingOnset(const RunRecords& r, double base_pass1) {
  const auto proxy = r.LinesWith(&MetricsLine::has_proxy_reward);
  const auto curve = r.EvalPoints();
  if (proxy.empty() || curve.empty()) return -1;
  const double peak = PeakPass1(r, base_pass1).step;
  if (peak >= curve.back()->step()) return -1;
  const size_t w = std::max<size_t>(1, proxy.size() / 10);
  double before = 0, after = 0;
  int nb = 0, na = 0;
  for (const MetricsLine* q : proxy) {
    if (q->step() > peak) after += q->proxy_reward(), ++na;
    else if (q->step() > peak - static_cast<double>(w)) before += q->proxy_reward(), ++nb;
  }
  if (nb == 0)  // the peak is the base: compare with the run's first tenth
    before = WindowMean(proxy, false, Proxy), nb = 1;
  return na > 0 && after / na > before / nb ? peak : -1;
}

// The last reward_model line's label F1 (NaN when labels had no truth to compare with).
double LabelF1(const RunRecords& r) {
  double f1 = NAN;
  for (const MetricsLine& m : r.lines)
    if (m.has_reward_model() && m.reward_model().has_label_f1()) f1 = m.reward_model().label_f1();
  return f1;
}

// The shift line's measurement on the base's (policy = false) or the final policy's samples.
const RewardOnSamples* Shift(const RunRecords& r, bool policy) {
  for (const MetricsLine& m : r.lines)
    if (m.has_shift()) return policy ? &m.shift().policy() : &m.shift().base();
  return nullptr;
}

double ShiftOutcomeAuc(const RunRecords& r, bool policy) {
  const RewardOnSamples* s = Shift(r, policy);
  return s ? s->outcome_auc() : NAN;
}

double ShiftStepAuc(const RunRecords& r, bool policy) {
  const RewardOnSamples* s = Shift(r, policy);
  return s && s->has_step_auc() ? s->step_auc() : NAN;
}

double ShiftFirstErrorF1(const RunRecords& r, bool policy) {
  const RewardOnSamples* s = Shift(r, policy);
  return s && s->has_first_error_f1() ? s->first_error_f1() : NAN;
}

// What a PRM arm spent on its reward model before and during RL: labelling
// and training (NaN for results that predate the phases).
double RewardModelCost(const RunRecords& r) { return r.PhaseFlops("label") + r.PhaseFlops("reward_train"); }

std::string LabelSource(const RewardModelConfig& rm) {
  return rm.step_labels() == TRUTH ? "step truth" : "Monte Carlo, N = " + std::to_string(rm.label_n());
}

// An arm's PRM-RL config less how its reward model was labelled and trained
// (and whether that was charged): arms alike in this differ only in their labels.
std::string RlSetting(const PrmRlConfig& c) {
  PrmRlConfig rest = c;
  RewardModelConfig* rm = rest.mutable_reward_model();
  for (auto clear : {&RewardModelConfig::clear_label_traces, &RewardModelConfig::clear_label_n,
                     &RewardModelConfig::clear_step_labels, &RewardModelConfig::clear_train_steps,
                     &RewardModelConfig::clear_optim})
    (rm->*clear)();
  rest.clear_reward_model_outside_budget();
  std::string out;
  {
    google::protobuf::io::StringOutputStream stream(&out);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    rest.SerializeToCodedStream(&coded);
  }  // flushed into `out`
  return out;
}

// A label-budget sweep: the largest set of PRM arms that differ only in how
// their reward model was labelled and trained, ordered by what the reward
// model cost. Empty when there is no sweep (no two such arms with different
// labels).
std::string LabelBudgetTable(const ReportInput& in, const std::vector<const ArmRecords*>& mine) {
  std::map<std::string, std::vector<const ArmRecords*>> groups;
  for (const ArmRecords* a : mine)
    if (a->arm->prm_rl().reward_model().kind() == PRM) groups[RlSetting(a->arm->prm_rl())].push_back(a);
  std::vector<const ArmRecords*> prms;
  for (const auto& [setting, arms] : groups)
    if (arms.size() > prms.size()) prms = arms;
  std::vector<std::string> labels;
  for (const ArmRecords* a : prms) {
    const RewardModelConfig& rm = a->arm->prm_rl().reward_model();
    labels.push_back(LabelSource(rm) + " " + std::to_string(rm.label_traces()) + " " +
                     std::to_string(rm.train_steps()) + " " + JsonNumber(rm.optim().lr()));
  }
  std::sort(labels.begin(), labels.end());
  if (std::unique(labels.begin(), labels.end()) - labels.begin() < 2) return "";
  std::vector<std::pair<double, const ArmRecords*>> order;
  for (const ArmRecords* a : prms) order.emplace_back(OverRuns(a->runs, RewardModelCost).mean, a);
  std::stable_sort(order.begin(), order.end(), [](const auto& x, const auto& y) {
    return std::isnan(y.first) ? !std::isnan(x.first) : x.first < y.first;
  });
  std::ostringstream md;
  md << "\n## PRM label budget: quality against cost against the RL outcome\n\n"
     << "| arm | labels | labelled samples x RM training steps | FLOPs: labelling + RM training | charged to the "
        "budget | RM step AUC (held-out, base samples) | first-error F1 | held-out pass@1: base → final |\n"
        "|---|---|---|---|---|---|---|---|\n";
  for (const auto& [cost, a] : order) {
    const PrmRlConfig& c = a->arm->prm_rl();
    const RewardModelConfig& rm = c.reward_model();
    const MeanCi final = OverRuns(a->runs, [](const RunRecords& r) { return r.final.pass1(); });
    md << "| " << a->arm->name() << " | " << LabelSource(rm) << " | " << rm.label_traces() << " x "
       << rm.train_steps() << " | " << FmtSciOr(OverRuns(a->runs, RewardModelCost)) << " | "
       << (c.reward_model_outside_budget() ? "no" : "yes") << " | "
       << FmtOr(OverRuns(a->runs, [](const RunRecords& r) { return ShiftStepAuc(r, false); }), 1, 2) << " | "
       << FmtOr(OverRuns(a->runs, [](const RunRecords& r) { return ShiftFirstErrorF1(r, false); }), 1, 2) << " | "
       << Fmt(in.BasePass1(), 100, 1) << "% → " << FmtOr(final, 100, 1) << "% |\n";
  }
  md << "\nThe PRM arms that differ only in their reward model's labels and training, cheapest reward model first. Step AUC and first-error F1 (ProcessBench-style: the "
        "first step scored below 0.5 is the predicted first error; F1 of exact hits on traces with an error and of "
        "\"none\" on clean traces) are measured against the task's exact step truth on held-out samples of the "
        "base. \"Charged: no\" (reward_model_outside_budget) gives every label budget the same RL compute.\n";
  return md.str();
}

std::string ProxyTable(const ReportInput& in, const std::vector<const ArmRecords*>& mine) {
  std::ostringstream md;
  md << "\n## Learned reward: proxy against truth\n\n"
     << "| arm | proxy, first → last tenth of steps | training accuracy, same samples | gap (proxy − accuracy), last "
        "tenth | proxy AUC (right vs wrong), first → last | held-out pass@1: base → peak (step) → final | hacking "
        "onset (step) |\n|---|---|---|---|---|---|---|\n";
  for (const ArmRecords* a : mine) {
    auto win = [&](bool last, auto f) {
      return OverRuns(a->runs, [&](const RunRecords& r) {
        return WindowMean(r.LinesWith(&MetricsLine::has_proxy_reward), last, f);
      });
    };
    auto auc = [](const MetricsLine* m) { return m->proxy_auc(); };
    auto gap = [](const MetricsLine* m) { return m->proxy_reward() - m->true_accuracy(); };
    const MeanCi peak = OverRuns(a->runs, [&](const RunRecords& r) { return PeakPass1(r, in.BasePass1Of(r)).pass1; });
    const MeanCi peak_step =
        OverRuns(a->runs, [&](const RunRecords& r) { return PeakPass1(r, in.BasePass1Of(r)).step; });
    const MeanCi final = OverRuns(a->runs, [](const RunRecords& r) { return r.final.pass1(); });
    std::string onsets;
    for (const RunRecords& r : a->runs) {
      const double o = HackingOnset(r, in.BasePass1Of(r));
      onsets += (onsets.empty() ? "" : ", ") + (o < 0 ? std::string("none") : std::to_string(static_cast<long>(o)));
    }
    md << "| " << a->arm->name() << " | " << FmtOr(win(false, Proxy), 1, 3) << " → " << FmtOr(win(true, Proxy), 1, 3)
       << " | " << FmtOr(win(false, Accuracy), 100, 1) << "% → " << FmtOr(win(true, Accuracy), 100, 1) << "% | "
       << FmtOr(win(true, gap), 1, 3) << " | " << FmtOr(win(false, auc), 1, 2) << " → " << FmtOr(win(true, auc), 1, 2)
       << " | " << Fmt(in.BasePass1(), 100, 1) << "% → " << FmtOr(peak, 100, 1) << "% ("
       << FmtOr(peak_step, 1, 0) << ") → " << FmtOr(final, 100, 1) << "% | " << onsets << " |\n";
  }
  md << "\nThe proxy is the learned reward the policy maximises (in [0, 1]); training accuracy is the rule verifier "
        "on the very same samples. Hacking onset, per seed: the eval step where held-out pass@1 peaked, when the "
        "proxy then kept rising (its mean after the peak exceeds its mean over the tenth of the run before it); "
        "none otherwise.\n";
  return md.str();
}

// Every arm's final held-out degeneration signs, beside the base's.
std::string DegenerationTable(const ReportInput& in) {
  std::ostringstream md;
  md << "\n## Degeneration signs (held-out, final)\n\n"
     << "| arm | steps per response | repeated steps % | no valid answer % | length |\n|---|---|---|---|---|\n";
  auto row = [&](const std::string& name, const std::vector<const EvalRecord*>& evals) {
    auto col = [&](auto f) {
      std::vector<double> v;
      for (const EvalRecord* e : evals) v.push_back(f(*e));
      return MeanWithCi(Present(v));
    };
    md << "| " << name << " | "
       << FmtOr(col([](const EvalRecord& e) { return e.has_steps_mean() ? e.steps_mean() : NAN; }), 1, 2) << " | "
       << FmtOr(col([](const EvalRecord& e) { return e.has_repeated_step_rate() ? e.repeated_step_rate() : NAN; }),
                100, 1)
       << " | "
       << FmtOr(col([](const EvalRecord& e) { return e.has_no_answer_rate() ? e.no_answer_rate() : NAN; }), 100, 1)
       << " | " << FmtOr(col([](const EvalRecord& e) { return e.mean_length(); }), 1, 1) << " |\n";
  };
  ForEachEvalRow(in, row);
  return md.str();
}

std::string RewardModelTable(const std::vector<const ArmRecords*>& mine) {
  std::ostringstream md;
  md << "\n## Reward model: labels, distribution shift, cost\n\n"
     << "| arm | step-label F1 against the truth | RM outcome AUC: base samples → final policy's | RM step AUC: "
        "base → final policy | FLOPs: labelling / RM training / RM scoring | RM share of the arm's FLOPs |\n"
        "|---|---|---|---|---|---|\n";
  for (const ArmRecords* a : mine) {
    const auto& runs = a->runs;
    auto phase = [&](const char* name) { return OverRuns(runs, [&](const RunRecords& r) { return r.PhaseFlops(name); }); };
    const MeanCi share = OverRuns(runs, [](const RunRecords& r) -> double {
      if (r.done.flops() <= 0) return NAN;  // NaN too when the phases are absent (older results)
      return (r.PhaseFlops("label") + r.PhaseFlops("reward_train") + r.PhaseFlops("reward_score")) / r.done.flops();
    });
    md << "| " << a->arm->name() << " | " << FmtOr(OverRuns(runs, LabelF1), 1, 2) << " | "
       << FmtOr(OverRuns(runs, [](const RunRecords& r) { return ShiftOutcomeAuc(r, false); }), 1, 2) << " → "
       << FmtOr(OverRuns(runs, [](const RunRecords& r) { return ShiftOutcomeAuc(r, true); }), 1, 2) << " | "
       << FmtOr(OverRuns(runs, [](const RunRecords& r) { return ShiftStepAuc(r, false); }), 1, 2) << " → "
       << FmtOr(OverRuns(runs, [](const RunRecords& r) { return ShiftStepAuc(r, true); }), 1, 2) << " | "
       << FmtSciOr(phase("label")) << " / " << FmtSciOr(phase("reward_train")) << " / "
       << FmtSciOr(phase("reward_score")) << " | " << (share.n ? Fmt(share, 100, 1) + "%" : "-") << " |\n";
  }
  md << "\nStep-label F1: the reward model's training labels (Monte Carlo, or the truth) against the per-step "
        "ground truth, for \"this step is wrong\" (PRMs on tasks with step truth). AUCs: the reward model's score for "
        "telling right from wrong answers (outcome) and right from wrong steps, on held-out samples of the base and "
        "of the final policy (0.5 is chance). GRPO's rule reward costs none of these FLOPs.\n";
  return md.str();
}

// Preference reward models (the RLHF case): how well each orders held-out
// pairs, and whether the policy's gain in the proxy is a gain in the
// task's quality (the note task's hidden rubric) or gaming. Empty without a
// PREFERENCE arm.
std::string PreferenceTable(const std::vector<const ArmRecords*>& mine) {
  std::ostringstream md;
  bool any = false;
  for (const ArmRecords* a : mine) {
    if (a->arm->prm_rl().reward_model().kind() != PREFERENCE) continue;
    if (!any)
      md << "\n## Preference reward model: pair accuracy and gaming\n\n"
         << "| arm | labelled pairs | RM pair accuracy: base samples → final policy's | RM score: base → final "
            "policy | quality (hidden): base → final policy |\n|---|---|---|---|---|\n";
    any = true;
    auto shift = [&](bool policy, double (RewardOnSamples::*f)() const) {
      return OverRuns(a->runs, [&](const RunRecords& r) {
        const RewardOnSamples* s = Shift(r, policy);
        return s ? (s->*f)() : NAN;
      });
    };
    const MeanCi pairs = OverRuns(a->runs, [](const RunRecords& r) -> double {
      for (const MetricsLine& m : r.lines)
        if (m.has_reward_model()) return static_cast<double>(m.reward_model().examples());
      return NAN;
    });
    md << "| " << a->arm->name() << " | " << FmtOr(pairs, 1, 0) << " | "
       << FmtOr(shift(false, &RewardOnSamples::pair_accuracy), 100, 1) << "% → "
       << FmtOr(shift(true, &RewardOnSamples::pair_accuracy), 100, 1) << "% | "
       << FmtOr(shift(false, &RewardOnSamples::proxy_mean), 1, 3) << " → "
       << FmtOr(shift(true, &RewardOnSamples::proxy_mean), 1, 3) << " | "
       << FmtOr(shift(false, &RewardOnSamples::quality_mean), 1, 3) << " → "
       << FmtOr(shift(true, &RewardOnSamples::quality_mean), 1, 3) << " |\n";
  }
  if (!any) return "";
  md << "\nPairs: two base samples of one training problem, the one the task's quality prefers chosen (ties "
        "dropped). Pair accuracy: of the pairs among each held-out problem's 4 samples whose quality differs, the "
        "share the reward model orders alike (50% is chance). The policy games the reward model when its score "
        "rises from base to final policy while the hidden quality does not.\n";
  return md.str();
}

std::string PrmRlReport(const ReportInput& in, const std::vector<const ArmRecords*>& mine) {
  return ProxyTable(in, mine) + DegenerationTable(in) + RewardModelTable(mine) + LabelBudgetTable(in, mine) +
         PreferenceTable(mine);
}

}  // namespace

R1LAB_REGISTER_REPORT_SECTION(Arm::kPrmRl, PrmRlReport);

}  // namespace r1lab

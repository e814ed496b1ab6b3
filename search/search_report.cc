// The MCTS arm's section of summary.md: what the search found, how the
// value network did, what the search cost.
#include <cmath>
#include <initializer_list>
#include <sstream>

#include "report_section.h"

namespace r1lab {
namespace {

// The value network's held-out measurement at the start or the end; null if none.
const ValueHeldout* HeldoutValue(const RunRecords& r, const char* when) {
  const ValueHeldout* v = nullptr;
  for (const MetricsLine& m : r.lines)
    if (m.has_value_heldout() && m.value_heldout().when() == when) v = &m.value_heldout();
  return v;
}

std::string SearchTable(const ReportInput& in, const std::vector<const ArmRecords*>& mine) {
  std::ostringstream md;
  md << "\n## MCTS self-search: the search, the value network, the cost\n\n"
     << "| arm | training problems solved by the search, first → last tenth | a right line in the tree | sound "
        "fine-tuning traces, first → last tenth | visited nodes per problem | branching | value training lines: right share, last tenth | value MAE on search outcomes, first → last tenth (best constant, last) | "
        "value MAE held-out: start → end (best constant) | held-out success: predicted / realised, start → end | held-out pass@1: base → final | FLOPs: search / "
        "fine-tuning / value network |\n|---|---|---|---|---|---|---|---|---|---|---|---|\n";
  for (const ArmRecords* a : mine) {
    const auto& runs = a->runs;
    auto win = [&](bool last, auto f) {
      return OverRuns(runs, [&](const RunRecords& r) {
        return WindowMean(r.LinesWith(&MetricsLine::has_search_solved), last, f);
      });
    };
    auto phase = [&](std::initializer_list<const char*> ps) {
      return OverRuns(runs, [&](const RunRecords& r) {
        double sum = 0;
        for (const char* p : ps) sum += std::isnan(r.PhaseFlops(p)) ? 0 : r.PhaseFlops(p);
        return r.done.flops() > 0 ? sum / r.done.flops() : NAN;
      });
    };
    // A value measurement, NaN where the run had none.
    auto held = [&](const char* when, auto get) {
      return OverRuns(runs, [&](const RunRecords& r) {
        const ValueHeldout* v = HeldoutValue(r, when);
        return v ? get(*v) : NAN;
      });
    };
    auto mae = [](const ValueHeldout& v) { return v.mae(); };
    auto constant = [](const ValueHeldout& v) { return v.mae_constant(); };
    // (absent in results older than the calibration measurement)
    auto prediction = [](const ValueHeldout& v) { return v.has_mean_prediction() ? v.mean_prediction() : NAN; };
    auto target = [](const ValueHeldout& v) { return v.has_mean_target() ? v.mean_target() : NAN; };
    auto value_mae = [](const MetricsLine* m) { return m->value().has_mae() ? m->value().mae() : NAN; };
    auto value_constant = [](const MetricsLine* m) {
      return m->value().has_mae_constant() ? m->value().mae_constant() : NAN;
    };
    auto sound = [](const MetricsLine* m) { return m->has_traces_sound() ? m->traces_sound() : NAN; };
    auto right_share = [](const MetricsLine* m) {
      return m->value().has_mean_target() ? m->value().mean_target() : NAN;
    };
    const MeanCi value_first = win(false, value_mae);
    md << "| " << a->arm->name() << " | " << FmtOr(win(false, [](const MetricsLine* m) { return m->search_solved(); }), 100, 1)
       << "% → " << FmtOr(win(true, [](const MetricsLine* m) { return m->search_solved(); }), 100, 1) << "% | "
       << FmtOr(win(true, [](const MetricsLine* m) { return m->search_found(); }), 100, 1) << "% | "
       << FmtOr(win(false, sound), 100, 1) << "% → " << FmtOr(win(true, sound), 100, 1) << "% | "
       << FmtOr(win(true, [](const MetricsLine* m) { return m->nodes_visited(); }), 1, 0) << " | "
       << FmtOr(win(true, [](const MetricsLine* m) { return m->branching(); }), 1, 2) << " | ";
    if (value_first.n == 0) {
      md << "- | - | - | - | ";
    } else {
      const MeanCi right = win(true, right_share);  // absent from results before value.outcomes
      md << FmtOr(right, 100, 1) << (right.n > 0 ? "% | " : " | ") << FmtOr(value_first, 1, 3) << " → " << FmtOr(win(true, value_mae), 1, 3) << " ("
         << FmtOr(win(true, value_constant), 1, 3) << ") | " << FmtOr(held("start", mae), 1, 3) << " ("
         << FmtOr(held("start", constant), 1, 3) << ") → "
         << FmtOr(held("end", mae), 1, 3) << " ("
         << FmtOr(held("end", constant), 1, 3) << ") | "
         << FmtOr(held("start", prediction), 1, 2) << " / "
         << FmtOr(held("start", target), 1, 2) << " → "
         << FmtOr(held("end", prediction), 1, 2) << " / "
         << FmtOr(held("end", target), 1, 2) << " | ";
    }
    md << Fmt(in.BasePass1(), 100, 1) << "% → "
       << FmtOr(OverRuns(runs, [](const RunRecords& r) { return r.final.pass1(); }), 100, 1) << "% | "
       << FmtOr(phase({"generate", "score"}), 100, 0) << "% / " << FmtOr(phase({"train"}), 100, 0) << "% / "
       << FmtOr(phase({"label", "reward_train"}), 100, 0) << "% |\n";
  }
  md << "\nEach iteration searches fresh training problems (search as play; a finished line is scored by the "
        "verifier), fine-tunes the policy on the best right line found per problem (or, with policy_target VISIT_COUNTS, "
        "toward the search's visit counts), and trains the value network on the search's outcomes (value.outcomes: by "
        "default every finished line the search visited, right and wrong, over a replay buffer of the last "
        "value.replay_iterations iterations; PLAYED_LINES: the played lines only, nearly all right). \"A right line in the tree\": some finished line the search visited is right. "
        "Sound traces: fine-tuning traces whose every reasoning line the task judges right (a right answer after a "
        "malformed or wrong line is a lucky guess the search found by trying answers against the verifier). "
        "Value training lines: the share of this iteration's outcome lines that are right (a network trained on "
        "nearly all right lines learns to predict success everywhere). Value MAE on search outcomes: the network's "
        "error at every 4-token prefix of those lines, before it trains on them; the best constant is their mean outcome. Held-out: the network against Monte Carlo targets "
        "(4 completions per prefix) on value.heldout_problems held-out problems, sampled by the base at the start and by the final "
        "policy at the end; a network no better than the constant gives the search no signal. FLOPs: shares of the "
        "arm's budget (search: the policy and value forwards at the leaves and the rollouts; value network: its "
        "labelling and training).\n";
  return md.str();
}

}  // namespace

R1LAB_REGISTER_REPORT_SECTION(Arm::kMcts, SearchTable);

}  // namespace r1lab

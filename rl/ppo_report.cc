// The PPO arm's section of summary.md: can its critic score partial
// responses? The warm-up's held-out error, explained variance over training,
// and the error by position in the response, each next to the best constant.
#include <cmath>
#include <sstream>

#include "report_section.h"

namespace r1lab {
namespace {

const CriticWarmup* Warmup(const RunRecords& r) {
  for (const MetricsLine& m : r.lines)
    if (m.has_critic_warmup()) return &m.critic_warmup();
  return nullptr;
}

std::string PpoReport(const ReportInput&, const std::vector<const ArmRecords*>& mine) {
  std::ostringstream md;
  md << "\n## PPO's critic: can it score partial responses?\n\n"
     << "| arm | warm-up: rollouts, updates | warm-up, held-out squared error: start → end (best constant) | "
        "explained variance, first → last tenth of steps | critic squared error by part of the response, first "
        "to last, last tenth of steps (best constant) |\n|---|---|---|---|---|\n";
  for (const ArmRecords* a : mine) {
    const auto& runs = a->runs;
    auto warm = [&](auto f) {
      return OverRuns(runs, [&](const RunRecords& r) {
        const CriticWarmup* w = Warmup(r);
        return w ? f(*w) : NAN;
      });
    };
    auto win = [&](bool last, auto f) {
      return OverRuns(runs, [&](const RunRecords& r) {
        return WindowMean(r.LinesWith(&MetricsLine::has_explained_variance), last, f);
      });
    };
    md << "| " << a->arm->name() << " | ";
    if (warm([](const CriticWarmup& w) { return static_cast<double>(w.updates()); }).n == 0) {
      md << "none | - | ";
    } else {
      md << FmtOr(warm([](const CriticWarmup& w) { return static_cast<double>(w.rollouts()); }), 1, 0) << ", "
         << FmtOr(warm([](const CriticWarmup& w) { return static_cast<double>(w.updates()); }), 1, 0) << " | "
         << FmtOr(warm([](const CriticWarmup& w) { return w.mse_start(); }), 1, 3) << " → "
         << FmtOr(warm([](const CriticWarmup& w) { return w.mse_end(); }), 1, 3) << " ("
         << FmtOr(warm([](const CriticWarmup& w) { return w.mse_constant(); }), 1, 3) << ") | ";
    }
    auto ev = [](const MetricsLine* m) { return m->explained_variance(); };
    md << FmtOr(win(false, ev), 1, 2) << " → " << FmtOr(win(true, ev), 1, 2) << " | ";
    for (int b = 0; b < a->arm->ppo().value_error_bins(); ++b) {
      // (absent in results older than the squared error's measurement)
      auto err = [b](const MetricsLine* m) {
        return b < m->value_mse_by_position_size() ? m->value_mse_by_position(b) : NAN;
      };
      auto constant = [b](const MetricsLine* m) {
        return b < m->value_mse_constant_by_position_size() ? m->value_mse_constant_by_position(b) : NAN;
      };
      md << (b ? ", " : "") << FmtOr(win(true, err), 1, 3) << " (" << FmtOr(win(true, constant), 1, 3) << ")";
    }
    md << " |\n";
  }
  md << "\nSquared error (the critic's loss) of its value against the realised return at each completion "
        "token; the best constant predicts the mean return of the same tokens, so a critic no better than it "
        "carries no information about how a partial response will end. The warm-up's error is on one batch "
        "of base rollouts it never trained on. Explained variance: 1 - Var(return - value) / Var(return) over "
        "each step's tokens.\n";
  return md.str();
}

}  // namespace

R1LAB_REGISTER_REPORT_SECTION(Arm::kPpo, PpoReport);

}  // namespace r1lab

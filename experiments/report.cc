#include "report.h"

#include <boost/math/distributions/students_t.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <sstream>

#include "error.h"
#include "io.h"
#include "json.h"
#include "records.h"

namespace r1lab {

namespace {

// One eval point of a run (or the base).
struct Point {
  double step = 0, flops = 0, pass1 = 0, maj = 0, pass_n = 0, format = 0, length = 0, reflect = 0, wait = 0;
  double language = 1;                  // language consistency (1 for one-language tasks)
  double steps_mean = NAN, repeated = NAN, no_answer = NAN;  // absent in results older than these metrics
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
  for (const auto& [k, v] : e.pass_at()) p.pass_at[k] = v;
  p.pass_n = p.pass_at.count(n) ? p.pass_at[n] : 0;
  for (const LevelRecord& l : e.by_level()) {
    p.level_pass1[l.level()] = l.pass1();
    p.level_length[l.level()] = l.mean_length();
  }
  return p;
}

Point ReadEvalFile(const std::string& path, int n) {
  EvalRecord e;
  RecordFromJson(ReadFile(path), path, &e);
  return ParseEval(e, n);
}

// A learned-reward arm's training step: the proxy and the truth on the same samples.
struct ProxyPoint {
  double step = 0, proxy = 0, accuracy = 0, auc = 0;
};

// The reward model on one model's held-out samples (the shift line).
struct RmView {
  double outcome_auc = NAN, step_auc = NAN;
};

// A self-search iteration (MCTS arms).
struct SearchPoint {
  double step = 0, solved = 0, found = 0, visited = 0, branching = 0;
  double value_mae = NAN, value_constant = NAN;  // on this iteration's search outcomes, before training on them
  double sound = NAN;  // share of the fine-tuning traces whose every reasoning line is right (tasks with step truth)
};

// The value network on held-out samples against Monte Carlo targets.
struct ValueView {
  double mae = NAN, constant = NAN;
  double target = NAN, prediction = NAN;  // mean success and mean predicted success (calibration)
};

struct Run {
  Point final;
  std::vector<Point> curve;  // eval points in step order
  double flops = 0, wall = 0;
  std::map<std::string, double> phase_flops;  // FLOPs by phase (done.json; absent in older results)
  // Learned-reward arms only:
  std::vector<ProxyPoint> proxy;
  double label_f1 = NAN;
  RmView rm_base, rm_policy;
  // MCTS arms only:
  std::vector<SearchPoint> search;
  ValueView value_start, value_end;
};

Run ReadRun(const std::string& rdir, int n) {
  Run r;
  r.final = ReadEvalFile(rdir + "/eval.json", n);
  DoneRecord done;
  RecordFromJson(ReadFile(rdir + "/done.json"), rdir + "/done.json", &done);
  r.flops = done.flops();
  r.wall = done.wall_s();
  if (done.has_flops_by_phase()) {
    const FlopsByPhase& ph = done.flops_by_phase();
    const auto* d = FlopsByPhase::descriptor();
    for (int f = 0; f < d->field_count(); ++f)
      if (ph.GetReflection()->HasField(ph, d->field(f)))
        r.phase_flops[d->field(f)->name()] = ph.GetReflection()->GetDouble(ph, d->field(f));
  }
  auto view = [](const JsonValue& v) {
    RmView out;
    out.outcome_auc = v.num("outcome_auc");
    if (const JsonValue* a = v.find("step_auc")) out.step_auc = a->number();
    return out;
  };
  for (const std::string& line : ReadLines(rdir + "/metrics.jsonl")) {
    const JsonValue j = JsonValue::Parse(line);
    if (j.find("eval")) {
      EvalLine e;
      RecordFromJson(line, rdir + "/metrics.jsonl", &e);
      Point p = ParseEval(e.eval(), n);
      p.step = e.step();
      p.flops = e.flops();
      r.curve.push_back(p);
    } else if (const JsonValue* rm = j.find("reward_model")) {
      if (const JsonValue* f1 = rm->find("label_f1")) r.label_f1 = f1->number();
    } else if (const JsonValue* sh = j.find("shift")) {
      r.rm_base = view(sh->at("base"));
      r.rm_policy = view(sh->at("policy"));
    } else if (const JsonValue* vh = j.find("value_heldout")) {
      ValueView v;
      v.mae = vh->num("mae");
      v.constant = vh->num("mae_constant");
      if (vh->find("mean_target")) v.target = vh->num("mean_target"), v.prediction = vh->num("mean_prediction");
      if (vh->at("when").string() == "start") r.value_start = v;
      else r.value_end = v;
    } else if (const JsonValue* ss = j.find("search_solved")) {
      SearchPoint q{j.num("step"), ss->number(), j.num("search_found"), j.num("nodes_visited"), j.num("branching")};
      if (const JsonValue* v = j.find("value"))
        if (v->find("mae")) q.value_mae = v->num("mae"), q.value_constant = v->num("mae_constant");
      if (const JsonValue* v = j.find("traces_sound"))
        if (v->kind() == JsonValue::kNumber) q.sound = v->number();
      r.search.push_back(q);
    } else if (const JsonValue* px = j.find("proxy_reward")) {
      r.proxy.push_back({j.num("step"), px->number(), j.num("true_accuracy"), j.num("proxy_auc")});
    }
  }
  return r;
}

// Mean of f over the first (or last) tenth of a run's proxy points.
template <typename P, typename F>
double WindowMean(const std::vector<P>& v, bool last, F f) {
  if (v.empty()) return NAN;
  const size_t w = std::max<size_t>(1, v.size() / 10);
  double sum = 0;
  for (size_t i = 0; i < w; ++i) sum += f(v[last ? v.size() - w + i : i]);
  return sum / static_cast<double>(w);
}

// The hacking onset: the eval step where held-out pass@1 peaks (step 0 is
// the base), if the training proxy averages higher after it than over the
// tenth of the run leading up to it, and the peak is not the last eval
// point. -1: no onset (the truth kept up, or the proxy did not rise).
double HackingOnset(const Run& r, double base_pass1) {
  if (r.proxy.empty() || r.curve.empty()) return -1;
  double best = base_pass1, peak = 0;
  for (const Point& p : r.curve)
    if (p.pass1 > best) best = p.pass1, peak = p.step;
  if (peak >= r.curve.back().step) return -1;
  const size_t w = std::max<size_t>(1, r.proxy.size() / 10);
  double before = 0, after = 0;
  int nb = 0, na = 0;
  for (const ProxyPoint& q : r.proxy) {
    if (q.step > peak) after += q.proxy, ++na;
    else if (q.step > peak - static_cast<double>(w)) before += q.proxy, ++nb;
  }
  if (nb == 0)  // the peak is the base: compare with the run's first tenth
    before = WindowMean(r.proxy, false, [](const ProxyPoint& q) { return q.proxy; }), nb = 1;
  return na > 0 && after / na > before / nb ? peak : -1;
}

std::string Fmt(const MeanCi& m, double scale, int decimals) {
  char buf[64];
  if (m.n >= 2)
    std::snprintf(buf, sizeof buf, "%.*f ± %.*f", decimals, m.mean * scale, decimals, m.half * scale);
  else
    std::snprintf(buf, sizeof buf, "%.*f", decimals, m.mean * scale);
  return buf;
}

std::string FmtSci(const MeanCi& m) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.3g", m.mean);
  return buf;
}

template <typename F>
std::vector<double> Collect(const std::vector<Run>& runs, F f) {
  std::vector<double> v;
  for (const Run& r : runs) v.push_back(f(r));
  return v;
}

// Writes the data files and the gnuplot script; runs gnuplot if present.
void WritePlots(const std::string& dir, const Point& base, const std::vector<std::string>& names,
                const std::vector<std::vector<Run>>& arms, const std::vector<bool>& learned, int n) {
  const std::string pdir = dir + "/plots";
  EnsureWritableDir(pdir);
  std::ostringstream curves, passk, levels;
  // Blocks: base first, then each arm (gnuplot "index" i).
  auto curve_block = [&](const std::string& name, const std::vector<Point>& pts) {
    curves << "# " << name << "\n# step flops pass1 length reflect_per_1k wait_per_1k\n";
    for (const Point& p : pts)
      curves << p.step << " " << p.flops << " " << p.pass1 << " " << p.length << " " << p.reflect << " " << p.wait
             << "\n";
    curves << "\n\n";
  };
  auto final_blocks = [&](const std::string& name, const Point& p) {
    passk << "# " << name << "\n# k pass_at_k\n";
    for (const auto& [k, v] : p.pass_at) passk << k << " " << v << "\n";
    passk << "\n\n";
    levels << "# " << name << "\n# level pass1 length\n";
    for (const auto& [l, v] : p.level_pass1) levels << l << " " << v << " " << p.level_length.at(l) << "\n";
    levels << "\n\n";
  };
  Point b0 = base;
  curve_block("base", {b0});
  final_blocks("base", base);
  for (size_t a = 0; a < arms.size(); ++a) {
    // Mean over seeds at each eval point index (seeds share eval steps).
    size_t len = SIZE_MAX;
    for (const Run& r : arms[a]) len = std::min(len, r.curve.size());
    std::vector<Point> mean(len == SIZE_MAX ? 0 : len + 1);
    if (!mean.empty()) {
      mean[0] = base;  // every arm starts from the base at step 0
      for (size_t i = 0; i < len; ++i) {
        Point& m = mean[i + 1];
        const double k = static_cast<double>(arms[a].size());
        for (const Run& r : arms[a]) {
          const Point& p = r.curve[i];
          m.step += p.step / k, m.flops += p.flops / k, m.pass1 += p.pass1 / k, m.length += p.length / k;
          m.reflect += p.reflect / k, m.wait += p.wait / k;
        }
      }
    }
    curve_block(names[a], mean);
    Point fin;
    const double k = static_cast<double>(arms[a].size());
    for (const Run& r : arms[a]) {
      for (const auto& [kk, v] : r.final.pass_at) fin.pass_at[kk] += v / k;
      for (const auto& [l, v] : r.final.level_pass1) fin.level_pass1[l] += v / k;
      for (const auto& [l, v] : r.final.level_length) fin.level_length[l] += v / k;
    }
    final_blocks(names[a], fin);
  }
  // Learned-reward arms: the proxy and the training accuracy per step (mean
  // over seeds, 5-step centred moving average), one block per such arm.
  std::ostringstream proxy_dat;
  std::vector<size_t> proxy_arms;
  for (size_t a = 0; a < arms.size(); ++a) {
    if (!learned[a]) continue;
    size_t len = SIZE_MAX;
    for (const Run& r : arms[a]) len = std::min(len, r.proxy.size());
    if (len == SIZE_MAX || len == 0) continue;
    proxy_arms.push_back(a);
    std::vector<ProxyPoint> mean(len);
    for (const Run& r : arms[a])
      for (size_t i = 0; i < len; ++i) {
        const double k = static_cast<double>(arms[a].size());
        mean[i].step += r.proxy[i].step / k, mean[i].proxy += r.proxy[i].proxy / k;
        mean[i].accuracy += r.proxy[i].accuracy / k;
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
      gp << "reset\nset key outside right\nset grid\nset terminal " << term << "\nset output '" << p.name << ext
         << "'\nset title \"" << p.title << "\"\nset xlabel \"" << p.xlabel << "\"\nset ylabel \"" << p.ylabel
         << "\"\n" << p.extra << "plot " << p.body << "\nunset output\n";
    }
  }
  WriteFileAtomic(pdir + "/" + script, gp.str());
  if (std::system("command -v gnuplot > /dev/null 2>&1") != 0) {
    std::fprintf(stderr, "plots: gnuplot not found; data and %s/%s written (scripts/install_deps.sh installs "
                 "gnuplot-nox)\n", pdir.c_str(), script.c_str());
    return;
  }
  const std::string cmd = "cd '" + pdir + "' && gnuplot '" + script + "' > gnuplot.log 2>&1";
  if (std::system(cmd.c_str()) != 0)
    std::fprintf(stderr, "plots: gnuplot failed; see %s/gnuplot.log\n", pdir.c_str());
}

double TCritical95(int df) {
  if (df < 1) return 0;
  return boost::math::quantile(boost::math::students_t(df), 0.975);
}

MeanCi MeanWithCi(const std::vector<double>& xs) {
  MeanCi m;
  m.n = static_cast<int>(xs.size());
  if (xs.empty()) return m;
  for (double x : xs) m.mean += x / m.n;
  if (m.n < 2) return m;
  double var = 0;
  for (double x : xs) var += (x - m.mean) * (x - m.mean);
  var /= m.n - 1;
  m.half = TCritical95(m.n - 1) * std::sqrt(var / m.n);
  return m;
}

namespace {

std::string FmtOr(const MeanCi& m, double scale, int decimals) { return m.n == 0 ? "-" : Fmt(m, scale, decimals); }
std::string SciOr(const MeanCi& m) { return m.n == 0 ? "-" : FmtSci(m); }

// Values that are present (not NaN) only.
std::vector<double> Present(const std::vector<double>& xs) {
  std::vector<double> out;
  for (double x : xs)
    if (!std::isnan(x)) out.push_back(x);
  return out;
}

// The learned-reward sections of summary.md: proxy against truth,
// degeneration, and the reward model's labels, shift and cost.
std::string LearnedRewardSections(const std::vector<std::string>& names, const std::vector<std::vector<Run>>& arms,
                                  const std::vector<bool>& learned, const Point& base) {
  std::ostringstream md;
  auto over = [](const std::vector<Run>& runs, auto f) { return MeanWithCi(Present(Collect(runs, f))); };
  md << "\n## Learned reward: proxy against truth\n\n"
     << "| arm | proxy, first → last tenth of steps | training accuracy, same samples | gap (proxy − accuracy), last "
        "tenth | proxy AUC (right vs wrong), first → last | held-out pass@1: base → peak (step) → final | hacking "
        "onset (step) |\n|---|---|---|---|---|---|---|\n";
  for (size_t a = 0; a < arms.size(); ++a) {
    if (!learned[a]) continue;
    const auto& runs = arms[a];
    auto win = [&](bool last, auto f) { return over(runs, [&](const Run& r) { return WindowMean(r.proxy, last, f); }); };
    auto proxy = [](const ProxyPoint& q) { return q.proxy; };
    auto acc = [](const ProxyPoint& q) { return q.accuracy; };
    auto auc = [](const ProxyPoint& q) { return q.auc; };
    auto gap = [](const ProxyPoint& q) { return q.proxy - q.accuracy; };
    const MeanCi peak = over(runs, [&](const Run& r) {
      double best = base.pass1;
      for (const Point& p : r.curve) best = std::max(best, p.pass1);
      return best;
    });
    const MeanCi peak_step = over(runs, [&](const Run& r) {
      double best = base.pass1, at = 0;
      for (const Point& p : r.curve)
        if (p.pass1 > best) best = p.pass1, at = p.step;
      return at;
    });
    const MeanCi final = over(runs, [](const Run& r) { return r.final.pass1; });
    std::string onsets;
    for (const Run& r : runs) {
      const double o = HackingOnset(r, base.pass1);
      onsets += (onsets.empty() ? "" : ", ") + (o < 0 ? std::string("none") : std::to_string(static_cast<long>(o)));
    }
    md << "| " << names[a] << " | " << FmtOr(win(false, proxy), 1, 3) << " → " << FmtOr(win(true, proxy), 1, 3)
       << " | " << FmtOr(win(false, acc), 100, 1) << "% → " << FmtOr(win(true, acc), 100, 1) << "% | "
       << FmtOr(win(true, gap), 1, 3) << " | " << FmtOr(win(false, auc), 1, 2) << " → " << FmtOr(win(true, auc), 1, 2)
       << " | " << Fmt(MeanWithCi({base.pass1}), 100, 1) << "% → " << FmtOr(peak, 100, 1) << "% ("
       << FmtOr(peak_step, 1, 0) << ") → " << FmtOr(final, 100, 1) << "% | " << onsets << " |\n";
  }
  md << "\nThe proxy is the learned reward the policy maximises (in [0, 1]); training accuracy is the rule verifier "
        "on the very same samples. Hacking onset, per seed: the eval step where held-out pass@1 peaked, when the "
        "proxy then kept rising (its mean after the peak exceeds its mean over the tenth of the run before it); "
        "none otherwise.\n";

  md << "\n## Degeneration signs (held-out, final)\n\n"
     << "| arm | steps per response | repeated steps % | no valid answer % | length |\n|---|---|---|---|---|\n";
  auto degen_row = [&](const std::string& name, const std::vector<Point>& pts) {
    auto col = [&](auto f) {
      std::vector<double> v;
      for (const Point& p : pts) v.push_back(f(p));
      return MeanWithCi(Present(v));
    };
    md << "| " << name << " | " << FmtOr(col([](const Point& p) { return p.steps_mean; }), 1, 2) << " | "
       << FmtOr(col([](const Point& p) { return p.repeated; }), 100, 1) << " | "
       << FmtOr(col([](const Point& p) { return p.no_answer; }), 100, 1) << " | "
       << FmtOr(col([](const Point& p) { return p.length; }), 1, 1) << " |\n";
  };
  degen_row("base", {base});
  for (size_t a = 0; a < arms.size(); ++a) {
    std::vector<Point> pts;
    for (const Run& r : arms[a]) pts.push_back(r.final);
    degen_row(names[a], pts);
  }

  md << "\n## Reward model: labels, distribution shift, cost\n\n"
     << "| arm | step-label F1 against the truth | RM outcome AUC: base samples → final policy's | RM step AUC: "
        "base → final policy | FLOPs: labelling / RM training / RM scoring | RM share of the arm's FLOPs |\n"
        "|---|---|---|---|---|---|\n";
  for (size_t a = 0; a < arms.size(); ++a) {
    if (!learned[a]) continue;
    const auto& runs = arms[a];
    auto phase = [&](const char* name) {
      return over(runs, [&](const Run& r) -> double { return r.phase_flops.count(name) ? r.phase_flops.at(name) : NAN; });
    };
    const MeanCi share = over(runs, [](const Run& r) -> double {
      if (!r.phase_flops.count("label") || r.flops <= 0) return NAN;
      return (r.phase_flops.at("label") + r.phase_flops.at("reward_train") + r.phase_flops.at("reward_score")) /
             r.flops;
    });
    md << "| " << names[a] << " | " << FmtOr(over(runs, [](const Run& r) { return r.label_f1; }), 1, 2) << " | "
       << FmtOr(over(runs, [](const Run& r) { return r.rm_base.outcome_auc; }), 1, 2) << " → "
       << FmtOr(over(runs, [](const Run& r) { return r.rm_policy.outcome_auc; }), 1, 2) << " | "
       << FmtOr(over(runs, [](const Run& r) { return r.rm_base.step_auc; }), 1, 2) << " → "
       << FmtOr(over(runs, [](const Run& r) { return r.rm_policy.step_auc; }), 1, 2) << " | "
       << SciOr(phase("label")) << " / " << SciOr(phase("reward_train")) << " / " << SciOr(phase("reward_score"))
       << " | " << (share.n ? Fmt(share, 100, 1) + "%" : "-") << " |\n";
  }
  md << "\nStep-label F1: the reward model's training labels (Monte Carlo, or the truth) against the per-step "
        "ground truth, for \"this step is wrong\" (PRMs on tasks with step truth). AUCs: the reward model's score for "
        "telling right from wrong answers (outcome) and right from wrong steps, on held-out samples of the base and "
        "of the final policy (0.5 is chance). GRPO's rule reward costs none of these FLOPs.\n";
  return md.str();
}

// The MCTS self-search section: what the search found, how the value
// network did, what the search cost.
std::string SelfSearchSection(const std::vector<std::string>& names, const std::vector<std::vector<Run>>& arms,
                              const std::vector<bool>& mcts, const Point& base) {
  std::ostringstream md;
  auto over = [](const std::vector<Run>& runs, auto f) { return MeanWithCi(Present(Collect(runs, f))); };
  md << "\n## MCTS self-search: the search, the value network, the cost\n\n"
     << "| arm | training problems solved by the search, first → last tenth | a right line in the tree | sound "
        "fine-tuning traces, first → last tenth | visited nodes per problem | branching | value MAE on search outcomes, first → last tenth (best constant, last) | "
        "value MAE held-out: start → end (best constant) | held-out success: predicted / realised, start → end | held-out pass@1: base → final | FLOPs: search / "
        "fine-tuning / value network |\n|---|---|---|---|---|---|---|---|---|---|---|\n";
  for (size_t a = 0; a < arms.size(); ++a) {
    if (!mcts[a]) continue;
    const auto& runs = arms[a];
    auto win = [&](bool last, auto f) { return over(runs, [&](const Run& r) { return WindowMean(r.search, last, f); }); };
    auto phase = [&](std::initializer_list<const char*> ps) {
      return over(runs, [&](const Run& r) -> double {
        double sum = 0;
        for (const char* p : ps) sum += r.phase_flops.count(p) ? r.phase_flops.at(p) : 0;
        return r.flops > 0 ? sum / r.flops : NAN;
      });
    };
    const MeanCi value_first = win(false, [](const SearchPoint& q) { return q.value_mae; });
    md << "| " << names[a] << " | " << FmtOr(win(false, [](const SearchPoint& q) { return q.solved; }), 100, 1)
       << "% → " << FmtOr(win(true, [](const SearchPoint& q) { return q.solved; }), 100, 1) << "% | "
       << FmtOr(win(true, [](const SearchPoint& q) { return q.found; }), 100, 1) << "% | "
       << FmtOr(win(false, [](const SearchPoint& q) { return q.sound; }), 100, 1) << "% → "
       << FmtOr(win(true, [](const SearchPoint& q) { return q.sound; }), 100, 1) << "% | "
       << FmtOr(win(true, [](const SearchPoint& q) { return q.visited; }), 1, 0) << " | "
       << FmtOr(win(true, [](const SearchPoint& q) { return q.branching; }), 1, 2) << " | ";
    if (value_first.n == 0) {
      md << "- | - | - | ";
    } else {
      md << FmtOr(value_first, 1, 3) << " → " << FmtOr(win(true, [](const SearchPoint& q) { return q.value_mae; }), 1, 3)
         << " (" << FmtOr(win(true, [](const SearchPoint& q) { return q.value_constant; }), 1, 3) << ") | "
         << FmtOr(over(runs, [](const Run& r) { return r.value_start.mae; }), 1, 3) << " ("
         << FmtOr(over(runs, [](const Run& r) { return r.value_start.constant; }), 1, 3) << ") → "
         << FmtOr(over(runs, [](const Run& r) { return r.value_end.mae; }), 1, 3) << " ("
         << FmtOr(over(runs, [](const Run& r) { return r.value_end.constant; }), 1, 3) << ") | "
         << FmtOr(over(runs, [](const Run& r) { return r.value_start.prediction; }), 1, 2) << " / "
         << FmtOr(over(runs, [](const Run& r) { return r.value_start.target; }), 1, 2) << " → "
         << FmtOr(over(runs, [](const Run& r) { return r.value_end.prediction; }), 1, 2) << " / "
         << FmtOr(over(runs, [](const Run& r) { return r.value_end.target; }), 1, 2) << " | ";
    }
    md << Fmt(MeanWithCi({base.pass1}), 100, 1) << "% → "
       << FmtOr(over(runs, [](const Run& r) { return r.final.pass1; }), 100, 1) << "% | "
       << FmtOr(phase({"generate", "score"}), 100, 0) << "% / " << FmtOr(phase({"train"}), 100, 0) << "% / "
       << FmtOr(phase({"label", "reward_train"}), 100, 0) << "% |\n";
  }
  md << "\nEach iteration searches fresh training problems (search as play; a finished line is scored by the "
        "verifier), fine-tunes the policy on the best right line found per problem, and trains the value network on "
        "the played lines' outcomes. \"A right line in the tree\": some finished line the search visited is right. "
        "Sound traces: fine-tuning traces whose every reasoning line the task judges right (a right answer after a "
        "malformed or wrong line is a lucky guess the search found by trying answers against the verifier). "
        "Value MAE on search outcomes: the network's error at every 4-token prefix of the played lines, before it "
        "trains on them; the best constant is their mean outcome. Held-out: the network against Monte Carlo targets "
        "(4 completions per prefix) on value.heldout_problems held-out problems, sampled by the base at the start and by the final "
        "policy at the end; a network no better than the constant gives the search no signal. FLOPs: shares of the "
        "arm's budget (search: the policy and value forwards at the leaves and the rollouts; value network: its "
        "labelling and training).\n";
  return md.str();
}

}  // namespace

std::string WriteReport(const ExperimentConfig& cfg, const std::string& dir) {
  const int n = cfg.eval().samples_per_problem();
  const Point base = ReadEvalFile(dir + "/base/eval.json", n);
  std::vector<std::string> names;
  std::vector<std::vector<Run>> arms;
  std::vector<bool> learned, mcts;
  for (const Arm& arm : cfg.arms()) {
    names.push_back(arm.name());
    learned.push_back(arm.has_prm_rl());
    mcts.push_back(arm.has_mcts());
    arms.emplace_back();
    for (uint64_t seed : cfg.seeds())
      arms.back().push_back(ReadRun(dir + "/runs/" + arm.name() + "/seed-" + std::to_string(seed), n));
  }
  const bool any_learned = std::find(learned.begin(), learned.end(), true) != learned.end();
  // Language consistency is a column when prompts come in two languages.
  const bool languages = cfg.task().has_arith() && cfg.task().arith().spanish_rate() > 0;
  std::ostringstream md, csv;
  md << "| arm | seeds | pass@1 % | maj@" << n << " % | pass@" << n << " % | format % | length | reflective/1k"
     << (languages ? " | language % " : " ") << (any_learned ? "| proxy − true " : "")
     << "| FLOPs | wall s |\n|---|---|---|---|---|---|---|---|" << (languages ? "---|" : "")
     << (any_learned ? "---|" : "") << "---|---|\n";
  csv << "arm,seeds,pass1,pass1_ci,maj,maj_ci,pass_n,pass_n_ci,format_rate,format_rate_ci,mean_length,"
         "mean_length_ci,reflect_per_1k,reflect_per_1k_ci,flops,wall_s,language,language_ci,proxy,proxy_ci,"
         "proxy_gap,proxy_gap_ci,steps_mean,repeated_step_rate,no_answer_rate\n";
  auto row = [&](const std::string& name, const std::vector<Run>& runs, const Point* only, bool is_learned) {
    auto get = [&](auto f) {
      return only ? MeanWithCi({f(*only)}) : MeanWithCi(Collect(runs, [&](const Run& r) { return f(r.final); }));
    };
    const MeanCi pass1 = get([](const Point& p) { return p.pass1; });
    const MeanCi maj = get([](const Point& p) { return p.maj; });
    const MeanCi pn = get([](const Point& p) { return p.pass_n; });
    const MeanCi fmt = get([](const Point& p) { return p.format; });
    const MeanCi len = get([](const Point& p) { return p.length; });
    const MeanCi refl = get([](const Point& p) { return p.reflect; });
    const MeanCi lang = get([](const Point& p) { return p.language; });
    const MeanCi flops = only ? MeanCi{} : MeanWithCi(Collect(runs, [](const Run& r) { return r.flops; }));
    const MeanCi wall = only ? MeanCi{} : MeanWithCi(Collect(runs, [](const Run& r) { return r.wall; }));
    // The proxy and its gap to the truth over the last tenth of training.
    MeanCi proxy, gap;
    if (is_learned) {
      proxy = MeanWithCi(Present(Collect(runs, [](const Run& r) {
        return WindowMean(r.proxy, true, [](const ProxyPoint& q) { return q.proxy; });
      })));
      gap = MeanWithCi(Present(Collect(runs, [](const Run& r) {
        return WindowMean(r.proxy, true, [](const ProxyPoint& q) { return q.proxy - q.accuracy; });
      })));
    }
    const MeanCi steps = MeanWithCi(Present({get([](const Point& p) { return p.steps_mean; }).mean}));
    const MeanCi rep = MeanWithCi(Present({get([](const Point& p) { return p.repeated; }).mean}));
    const MeanCi noans = MeanWithCi(Present({get([](const Point& p) { return p.no_answer; }).mean}));
    md << "| " << name << " | " << (only ? 1 : runs.size()) << " | " << Fmt(pass1, 100, 1) << " | "
       << Fmt(maj, 100, 1) << " | " << Fmt(pn, 100, 1) << " | " << Fmt(fmt, 100, 1) << " | " << Fmt(len, 1, 1)
       << " | " << Fmt(refl, 1, 2) << (languages ? " | " + Fmt(lang, 100, 1) : "")
       << (any_learned ? " | " + FmtOr(gap, 1, 3) : "") << " | " << FmtSci(flops) << " | " << Fmt(wall, 1, 0)
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
                  name.c_str(), only ? size_t{1} : runs.size(), pass1.mean, pass1.half, maj.mean, maj.half, pn.mean,
                  pn.half, fmt.mean, fmt.half, len.mean, len.half, refl.mean, refl.half, flops.mean, wall.mean,
                  lang.mean, lang.half);
    csv << buf << cell(proxy, false) << "," << cell(proxy, true) << "," << cell(gap, false) << "," << cell(gap, true)
        << "," << cell(steps, false) << "," << cell(rep, false) << "," << cell(noans, false) << "\n";
  };
  row("base", {}, &base, false);
  for (size_t a = 0; a < arms.size(); ++a) row(names[a], arms[a], nullptr, learned[a]);
  md << "\nMean ± half-width of the 95% Student-t interval over seeds (n-1 degrees of freedom; no interval for a "
        "single value). Held-out eval: "
     << cfg.eval().num_problems() << " problems x " << n
     << " samples. FLOPs: the arm's own training and generation, excluding the shared base and evaluation"
     << (any_learned ? ", including every cost of a learned reward. proxy − true: the learned reward minus the "
                       "verifier's accuracy on the same training samples, last tenth of the steps"
                     : "")
     << ".\n";
  if (any_learned) md << LearnedRewardSections(names, arms, learned, base);
  if (std::find(mcts.begin(), mcts.end(), true) != mcts.end()) md << SelfSearchSection(names, arms, mcts, base);
  WriteFileAtomic(dir + "/summary.md", "# " + cfg.name() + "\n\n" + md.str() + "\nPlots: plots/*.svg, plots/*.png\n");
  WriteFileAtomic(dir + "/summary.csv", csv.str());
  WritePlots(dir, base, names, arms, learned, n);
  return md.str();
}

std::string MergeTables(const std::vector<std::string>& dirs, bool csv) {
  if (dirs.empty()) throw ConfigError("table: give at least one experiment folder");
  std::string header;
  std::vector<std::vector<std::string>> rows;
  for (const std::string& d : dirs) {
    const std::string path = d + "/summary.csv";
    if (!FileExists(path)) throw IoError(path + ": no summary.csv (has `r1lab run` finished in " + d + "?)");
    const std::vector<std::string> lines = ReadLines(path);
    if (lines.empty()) throw IoError(path + ": empty");
    if (header.empty()) header = lines[0];
    else if (header != lines[0]) throw IoError(path + ": columns differ from " + dirs[0] + "/summary.csv");
    const std::string name = std::filesystem::path(d).lexically_normal().filename().string();
    for (size_t i = 1; i < lines.size(); ++i) {
      std::vector<std::string> cells = {name.empty() ? d : name};
      std::stringstream ss(lines[i]);
      for (std::string c; std::getline(ss, c, ',');) cells.push_back(c);
      rows.push_back(cells);
    }
  }
  std::vector<std::string> cols = {"experiment"};
  std::stringstream hs(header);
  for (std::string c; std::getline(hs, c, ',');) cols.push_back(c);
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

}  // namespace r1lab

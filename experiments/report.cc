#include "report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <sstream>

#include "error.h"
#include "io.h"
#include "machine.h"
#include "records.h"
#include "report_section.h"
#include "stats.h"

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

// Each problem's share of right samples, from the samples' stored verdicts
// (problem-major, n per problem); empty when the folder has no samples.
std::vector<double> ProblemPass(const std::string& rdir, const EvalRecord& e) {
  const std::string path = rdir + "/samples.jsonl.gz";
  if (!FileExists(path)) return {};
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
  RecordFromJson(ReadFile(rdir + "/eval.json"), rdir + "/eval.json", &r.final);
  RecordFromJson(ReadFile(rdir + "/done.json"), rdir + "/done.json", &r.done);
  const std::string path = rdir + "/metrics.jsonl";
  for (const std::string& line : ReadLines(path)) RecordFromJson(line, path, &r.lines.emplace_back());
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

// Which commit and machine made the base evaluation and each run (from their
// done.json), grouped.
// Each arm's held-out pass@1 minus the reference arm's (grpo), paired over
// the test problems both were evaluated on.
std::string PairedSection(const ReportInput& in) {
  const ArmRecords* ref = nullptr;
  for (const ArmRecords& a : in.arms)
    if (a.arm->name() == "grpo") ref = &a;
  if (!ref || in.arms.size() < 2) return "";
  std::string md = "\n## Paired differences from grpo (held-out pass@1)\n\n";
  auto outcomes = [](const ArmRecords& a) {
    std::vector<std::vector<double>> out;
    for (const RunRecords& r : a.runs) {
      if (r.problem_pass.empty()) return std::vector<std::vector<double>>{};
      out.push_back(r.problem_pass);
    }
    return out;
  };
  const auto b = outcomes(*ref);
  if (b.empty())
    return md + "Needs every run's samples.jsonl.gz; these results predate them.\n";
  md += "| arm | minus grpo, points | 95% paired bootstrap interval | excludes 0 |\n|---|---|---|---|\n";
  for (const ArmRecords& a : in.arms) {
    if (&a == ref) continue;
    const auto x = outcomes(a);
    if (x.empty() || x[0].size() != b[0].size()) {
      md += "| " + a.arm->name() + " | - | no samples on the same problems | - |\n";
      continue;
    }
    const PairedDiff d = PairedBootstrap(x, b);
    char buf[160];
    std::snprintf(buf, sizeof buf, "| %s | %+.1f | [%+.1f, %+.1f] | %s |\n", a.arm->name().c_str(), 100 * d.mean,
                  100 * d.lo, 100 * d.hi, d.ExcludesZero() ? "yes" : "no");
    md += buf;
  }
  return md + "\nThe same " + std::to_string(b[0].size()) + " test problems for every arm: each resample (2,000) "
              "draws problems with replacement, the same for both arms, and each arm's seeds with replacement "
              "(percentile interval). One base for all arms, so base variance is not in the interval.\n";
}

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
  const std::string base_done = dir + "/base/done.json";
  if (FileExists(base_done)) {
    DoneRecord d;
    RecordFromJson(ReadFile(base_done), base_done, &d);
    add(d, "base evaluation");
  }
  for (const ArmRecords& a : in.arms)
    for (size_t i = 0; i < a.runs.size(); ++i)
      add(a.runs[i].done, a.arm->name() + " seed " + std::to_string(in.cfg->seeds(static_cast<int>(i))));
  std::string md = "\n## Provenance\n\n| made | commit | machine |\n|---|---|---|\n";
  for (const auto& key : keys) md += "| " + made[key] + " | " + key.first + " | " + key.second + " |\n";
  return md + "\nTrained numbers are exact only on one machine: another CPU, BLAS or thread count trains to "
              "other numbers.\n";
}

// Writes the data files and the gnuplot script; runs gnuplot if present.
void WritePlots(const std::string& dir, const ReportInput& in, int n) {
  const Point base = ParseEval(in.base, n);
  std::vector<std::string> names;
  for (const ArmRecords& a : in.arms) names.push_back(a.arm->name());
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
          const Point p = ParseEval(curve[i]->eval(), n);
          Point& m = mean[i + 1];
          m.step += curve[i]->step() / k, m.flops += curve[i]->flops() / k, m.pass1 += p.pass1 / k;
          m.length += p.length / k, m.reflect += p.reflect / k, m.wait += p.wait / k;
        }
      }
    }
    curve_block(arm.arm->name(), mean);
    Point fin;
    for (const RunRecords& r : arm.runs) {
      const Point p = ParseEval(r.final, n);
      for (const auto& [kk, v] : p.pass_at) fin.pass_at[kk] += v / k;
      for (const auto& [l, v] : p.level_pass1) fin.level_pass1[l] += v / k;
      for (const auto& [l, v] : p.level_length) fin.level_length[l] += v / k;
    }
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
  std::istringstream in(Gunzip(ReadFile(path), path));
  for (std::string line; std::getline(in, line);)
    RecordFromJson(line, path + " line " + std::to_string(out.size() + 1), &out.emplace_back());
  return out;
}

ReportInput ReadReportInput(const ExperimentConfig& cfg, const std::string& dir) {
  ReportInput in;
  in.cfg = &cfg;
  RecordFromJson(ReadFile(dir + "/base/eval.json"), dir + "/base/eval.json", &in.base);
  for (const Arm& arm : cfg.arms()) {
    ArmRecords& a = in.arms.emplace_back();
    a.arm = &arm;
    for (uint64_t seed : cfg.seeds()) a.runs.push_back(ReadRun(RunDir(dir, arm, seed)));
  }
  return in;
}

std::string RunDir(const std::string& dir, const Arm& arm, uint64_t seed) {
  return dir + "/runs/" + arm.name() + "/seed-" + std::to_string(seed);
}

ReportFiles BuildReport(const ExperimentConfig& cfg, const std::string& dir, const ReportInput& in) {
  const int n = cfg.eval().samples_per_problem();
  std::vector<bool> learned;
  for (const ArmRecords& a : in.arms) learned.push_back(HasProxy(a));
  const bool any_learned = std::find(learned.begin(), learned.end(), true) != learned.end();
  // Language consistency is a column when prompts come in two languages.
  const bool languages = cfg.task().has_arith() && cfg.task().arith().spanish_rate() > 0;
  std::ostringstream md, csv;
  md << "| arm | seeds | pass@1 % | maj@" << n << " % | pass@" << n << " % | format % | length | reflective/1k"
     << (languages ? " | language % " : " ") << (any_learned ? "| proxy − true " : "")
     << "| FLOPs | oracle calls | wall s |\n|---|---|---|---|---|---|---|---|" << (languages ? "---|" : "")
     << (any_learned ? "---|" : "") << "---|---|---|\n";
  csv << "arm,seeds,pass1,pass1_ci,maj,maj_ci,pass_n,pass_n_ci,format_rate,format_rate_ci,mean_length,"
         "mean_length_ci,reflect_per_1k,reflect_per_1k_ci,flops,wall_s,language,language_ci,proxy,proxy_ci,"
         "proxy_gap,proxy_gap_ci,steps_mean,repeated_step_rate,no_answer_rate,oracle_calls\n";
  // One row: the base (`runs` empty, `only` its eval) or an arm's runs.
  auto row = [&](const std::string& name, const std::vector<RunRecords>& runs, const Point* only, bool is_learned) {
    std::vector<Point> finals;
    for (const RunRecords& r : runs) finals.push_back(ParseEval(r.final, n));
    if (only) finals = {*only};
    auto get = [&](auto f) {
      std::vector<double> v;
      for (const Point& p : finals) v.push_back(f(p));
      return MeanWithCi(v);
    };
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
    const MeanCi steps = MeanWithCi(Present({get([](const Point& p) { return p.steps_mean; }).mean}));
    const MeanCi rep = MeanWithCi(Present({get([](const Point& p) { return p.repeated; }).mean}));
    const MeanCi noans = MeanWithCi(Present({get([](const Point& p) { return p.no_answer; }).mean}));
    md << "| " << name << " | " << finals.size() << " | " << Fmt(pass1, 100, 1) << " | " << Fmt(maj, 100, 1)
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
                  name.c_str(), finals.size(), pass1.mean, pass1.half, maj.mean, maj.half, pn.mean, pn.half, fmt.mean,
                  fmt.half, len.mean, len.half, refl.mean, refl.half, flops.mean, wall.mean, lang.mean, lang.half);
    csv << buf << cell(proxy, false) << "," << cell(proxy, true) << "," << cell(gap, false) << "," << cell(gap, true)
        << "," << cell(steps, false) << "," << cell(rep, false) << "," << cell(noans, false) << ","
        << (oracle.n == 0 ? std::string() : std::to_string(std::llround(oracle.mean))) << "\n";
  };
  const Point base = ParseEval(in.base, n);
  row("base", {}, &base, false);
  for (size_t a = 0; a < in.arms.size(); ++a) row(in.arms[a].arm->name(), in.arms[a].runs, nullptr, learned[a]);
  md << "\nMean ± half-width of the 95% Student-t interval over seeds (n-1 degrees of freedom; no interval for a "
        "single value). Held-out eval: "
     << cfg.eval().num_problems() << " problems x " << n
     << " samples. FLOPs: the arm's own training and generation, excluding the shared base and evaluation"
     << (any_learned ? ", including every cost of a learned reward. proxy − true: the learned reward minus the "
                       "verifier's accuracy on the same training samples, last tenth of the steps"
                     : "")
     << ". Oracle calls: verdicts against the gold answer (or the exact per-step truth) the arm's training "
        "used, per run: one per rule-rewarded sample, per Monte Carlo or labelled completion, per line a "
        "search verifies ('-': not recorded).\n";
  md << PairedSection(in) << PolicyUpdateSection(in) << ReportSections(in) << ProvenanceSection(dir, in);
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
  for (auto& r : rows) {
    r.resize(cols.size());  // getline drops a trailing empty cell
    line(r);
  }
  return out.str();
}

}  // namespace r1lab

#include "report.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <sstream>

#include "error.h"
#include "io.h"
#include "json.h"

namespace r1lab {

namespace {

// One eval point of a run (or the base).
struct Point {
  double step = 0, flops = 0, pass1 = 0, maj = 0, pass_n = 0, format = 0, length = 0, reflect = 0, wait = 0;
  double language = 1;                  // language consistency (1 for one-language tasks)
  std::map<int, double> pass_at;        // k -> pass@k
  std::map<int, double> level_pass1;    // level -> pass@1
  std::map<int, double> level_length;   // level -> mean length
};

Point ParseEval(const JsonValue& e, int n) {
  Point p;
  p.pass1 = e.num("pass1");
  p.maj = e.num("maj");
  p.format = e.num("format_rate");
  p.length = e.num("mean_length");
  p.reflect = e.num("reflect_per_1k");
  p.wait = e.num("wait_per_1k");
  if (const JsonValue* l = e.find("language_consistency")) p.language = l->number();
  for (const auto& [k, v] : e.at("pass_at").members()) p.pass_at[std::stoi(k)] = v.number();
  p.pass_n = p.pass_at.count(n) ? p.pass_at[n] : 0;
  for (const JsonValue& l : e.at("by_level").array()) {
    const int level = static_cast<int>(l.num("level"));
    p.level_pass1[level] = l.num("pass1");
    p.level_length[level] = l.num("mean_length");
  }
  return p;
}

Point ReadEvalFile(const std::string& path, int n) {
  try {
    return ParseEval(JsonValue::Parse(ReadFile(path)), n);
  } catch (const InputError& e) {
    throw IoError(path + ": " + e.what());
  }
}

struct Run {
  Point final;
  std::vector<Point> curve;  // eval points in step order
  double flops = 0, wall = 0;
};

Run ReadRun(const std::string& rdir, int n) {
  Run r;
  r.final = ReadEvalFile(rdir + "/eval.json", n);
  const JsonValue done = JsonValue::Parse(ReadFile(rdir + "/done.json"));
  r.flops = done.num("flops");
  r.wall = done.num("wall_s");
  for (const std::string& line : ReadLines(rdir + "/metrics.jsonl")) {
    if (line.find("\"eval\"") == std::string::npos) continue;
    const JsonValue j = JsonValue::Parse(line);
    Point p = ParseEval(j.at("eval"), n);
    p.step = j.num("step");
    p.flops = j.num("flops");
    r.curve.push_back(p);
  }
  return r;
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
                const std::vector<std::vector<Run>>& arms, int n) {
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
  std::ostringstream gp;
  gp << "# Generated by r1lab; rerun with: cd " << pdir << " && gnuplot plots.gp\n"
     << "set key outside right\nset grid\n";
  struct Plot {
    std::string name, title, xlabel, ylabel, extra, body;
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
  for (const Plot& p : plots) {
    for (const char* term : {"svg size 800,480 dynamic noenhanced", "pngcairo size 800,480 noenhanced"}) {
      const std::string ext = std::string(term).rfind("svg", 0) == 0 ? ".svg" : ".png";
      gp << "reset\nset key outside right\nset grid\nset terminal " << term << "\nset output '" << p.name << ext
         << "'\nset title \"" << p.title << "\"\nset xlabel \"" << p.xlabel << "\"\nset ylabel \"" << p.ylabel
         << "\"\n" << p.extra << "plot " << p.body << "\nunset output\n";
    }
  }
  WriteFileAtomic(pdir + "/plots.gp", gp.str());
  if (std::system("command -v gnuplot > /dev/null 2>&1") != 0) {
    std::fprintf(stderr, "plots: gnuplot not found; data and %s/plots.gp written (scripts/install_deps.sh installs "
                 "gnuplot-nox)\n", pdir.c_str());
    return;
  }
  const std::string cmd = "cd '" + pdir + "' && gnuplot plots.gp > gnuplot.log 2>&1";
  if (std::system(cmd.c_str()) != 0)
    std::fprintf(stderr, "plots: gnuplot failed; see %s/gnuplot.log\n", pdir.c_str());
}

}  // namespace

double TCritical95(int df) {
  static const double t[] = {0,      12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
                             2.201,  2.179,  2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080,
                             2.074,  2.069,  2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042};
  if (df < 1) return 0;
  if (df <= 30) return t[df];
  return df <= 60 ? 2.000 : df <= 120 ? 1.980 : 1.960;
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

std::string WriteReport(const ExperimentConfig& cfg, const std::string& dir) {
  const int n = cfg.eval().samples_per_problem();
  const Point base = ReadEvalFile(dir + "/base/eval.json", n);
  std::vector<std::string> names;
  std::vector<std::vector<Run>> arms;
  for (const Arm& arm : cfg.arms()) {
    names.push_back(arm.name());
    arms.emplace_back();
    for (uint64_t seed : cfg.seeds())
      arms.back().push_back(ReadRun(dir + "/runs/" + arm.name() + "/seed-" + std::to_string(seed), n));
  }
  // Language consistency is a column when prompts come in two languages.
  const bool languages = cfg.task().has_arith() && cfg.task().arith().spanish_rate() > 0;
  std::ostringstream md, csv;
  md << "| arm | seeds | pass@1 % | maj@" << n << " % | pass@" << n << " % | format % | length | reflective/1k"
     << (languages ? " | language % " : " ") << "| FLOPs | wall s |\n|---|---|---|---|---|---|---|---|"
     << (languages ? "---|" : "") << "---|---|\n";
  csv << "arm,seeds,pass1,pass1_ci,maj,maj_ci,pass_n,pass_n_ci,format_rate,format_rate_ci,mean_length,"
         "mean_length_ci,reflect_per_1k,reflect_per_1k_ci,flops,wall_s,language,language_ci\n";
  auto row = [&](const std::string& name, const std::vector<Run>& runs, const Point* only) {
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
    md << "| " << name << " | " << (only ? 1 : runs.size()) << " | " << Fmt(pass1, 100, 1) << " | "
       << Fmt(maj, 100, 1) << " | " << Fmt(pn, 100, 1) << " | " << Fmt(fmt, 100, 1) << " | " << Fmt(len, 1, 1)
       << " | " << Fmt(refl, 1, 2) << (languages ? " | " + Fmt(lang, 100, 1) : "") << " | " << FmtSci(flops) << " | "
       << Fmt(wall, 1, 0) << " |\n";
    char buf[512];
    std::snprintf(buf, sizeof buf,
                  "%s,%zu,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f,%.4f,%.4f,%.4f,%.4f,%.6g,%.2f,%.6f,%.6f\n",
                  name.c_str(), only ? size_t{1} : runs.size(), pass1.mean, pass1.half, maj.mean, maj.half, pn.mean,
                  pn.half, fmt.mean, fmt.half, len.mean, len.half, refl.mean, refl.half, flops.mean, wall.mean,
                  lang.mean, lang.half);
    csv << buf;
  };
  row("base", {}, &base);
  for (size_t a = 0; a < arms.size(); ++a) row(names[a], arms[a], nullptr);
  md << "\nMean ± half-width of the 95% Student-t interval over seeds (n-1 degrees of freedom; no interval for a "
        "single value). Held-out eval: "
     << cfg.eval().num_problems() << " problems x " << n
     << " samples. FLOPs: the arm's own training and generation, excluding the shared base and evaluation.\n";
  WriteFileAtomic(dir + "/summary.md", "# " + cfg.name() + "\n\n" + md.str() + "\nPlots: plots/*.svg, plots/*.png\n");
  WriteFileAtomic(dir + "/summary.csv", csv.str());
  WritePlots(dir, base, names, arms, n);
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

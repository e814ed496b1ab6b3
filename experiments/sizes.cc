#include "sizes.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <sstream>

#include "config.h"
#include "dist.h"
#include "error.h"
#include "io.h"
#include "json.h"
#include "records.h"
#include "report.h"
#include "stats.h"

namespace r1lab {

namespace {

// One row of a size's summary.csv: an arm (or the base) at that size.
struct SizeCell {
  double pass1 = 0, pass1_ci = 0, flops = 0;
  int seeds = 0;
};

struct SizeColumn {
  std::string name;
  double params = NAN, pretrain_flops = NAN, budget_scale = 1;
  std::string shape;  // "d_model x layers"
  std::map<std::string, SizeCell> cells;
  std::vector<std::string> order;  // the arms as the size's summary lists them
  // Each arm distilling another size's model (rft.teacher_size), minus the
  // paired reference at this size, paired over the test problems.
  std::map<std::string, PairedDiff> distil_minus_ref;
};

// The sweep's arms that distil a model of its first size (rft.teacher_size).
std::vector<const Arm*> DistilArms(const ExperimentConfig& sweep) {
  std::vector<const Arm*> out;
  for (const Arm& a : sweep.arms())
    if (a.has_rft() && a.rft().has_teacher_size()) out.push_back(&a);
  return out;
}

double CsvNumber(const std::string& cell, const std::string& where) {
  try {
    size_t used = 0;
    const double v = std::stod(cell, &used);
    if (used == cell.size()) return v;
  } catch (const std::exception&) {
  }
  throw IoError(where + ": '" + cell + "' is not a number");
}

SizeColumn ReadSize(const ExperimentConfig& sweep, const ModelSize& size, const std::string& dir) {
  SizeColumn col;
  col.name = size.name();
  if (size.has_budget_scale()) col.budget_scale = size.budget_scale();
  const std::string sdir = dir + "/" + size.name();
  ExperimentConfig cfg;
  LoadValidConfigFile(sdir + "/config.pbtxt", &cfg);
  col.shape = std::to_string(cfg.model().d_model()) + " x " + std::to_string(cfg.model().n_layers());
  const std::string done = sdir + "/" + Bases(cfg)[0].name + "/done.json";
  if (FileExists(done)) {
    const DoneRecord d = ReadDoneJson(done, /*run=*/false);
    if (d.has_params()) col.params = d.params();
    if (d.has_flops()) col.pretrain_flops = d.flops();
  }
  const std::string csv = sdir + "/summary.csv";
  if (!FileExists(csv)) throw IoError(csv + ": no summary (has size " + size.name() + " finished?)");
  const std::vector<std::string> lines = ReadLines(csv);
  if (lines.empty()) throw IoError(csv + ": empty");
  std::vector<std::string> header;
  std::stringstream hs(lines[0]);
  for (std::string c; std::getline(hs, c, ',');) header.push_back(c);
  auto column = [&](const std::string& name) {
    const auto it = std::find(header.begin(), header.end(), name);
    if (it == header.end()) throw IoError(csv + ": no column '" + name + "'");
    return static_cast<size_t>(it - header.begin());
  };
  const size_t arm = column("arm"), seeds = column("seeds"), pass1 = column("pass1"), ci = column("pass1_ci"),
               flops = column("flops");
  for (size_t i = 1; i < lines.size(); ++i) {
    std::vector<std::string> cells;
    std::stringstream ss(lines[i]);
    for (std::string c; std::getline(ss, c, ',');) cells.push_back(c);
    cells.resize(header.size());
    const std::string where = csv + " line " + std::to_string(i + 1);
    SizeCell cell;
    cell.pass1 = CsvNumber(cells[pass1], where);
    cell.pass1_ci = CsvNumber(cells[ci], where);
    cell.flops = CsvNumber(cells[flops], where);
    cell.seeds = static_cast<int>(CsvNumber(cells[seeds], where));
    col.order.push_back(cells[arm]);
    col.cells[cells[arm]] = cell;
  }
  // pass@1 as the size's own table computes it, from the run records: the
  // csv's six decimals round a tie the other way (0.6285000000000001 printed
  // 62.9 there; read back as 0.628500, 62.8 here).
  const ReportInput in = ReadReportInput(cfg, sdir);
  auto set_pass1 = [&](const std::string& name, const MeanCi& m) {
    const auto it = col.cells.find(name);
    if (it == col.cells.end() || m.n == 0) return;
    it->second.pass1 = m.mean;
    it->second.pass1_ci = m.half;
  };
  set_pass1("base", in.BasePass1());
  for (const ArmRecords& a : in.arms)
    set_pass1(a.arm->name(), OverRuns(a.runs, [](const RunRecords& r) { return r.final.pass1(); }));
  // Each distilling arm minus the paired reference, over the test problems.
  const std::string ref = PairedReference(sweep);
  const std::vector<const Arm*> distil = DistilArms(sweep);
  const ArmRecords* r = nullptr;
  for (const ArmRecords& a : in.arms)
    if (a.arm->name() == ref) r = &a;
  if (!r) return col;
  const RunsByBase b = in.Outcomes(*r);
  for (const ArmRecords& a : in.arms) {
    if (&a == r || std::none_of(distil.begin(), distil.end(), [&](const Arm* d) { return d->name() == a.arm->name(); }))
      continue;
    const RunsByBase x = in.Outcomes(a);
    if (!x.empty() && !b.empty() && x[0][0].size() == b[0][0].size())
      col.distil_minus_ref[a.arm->name()] = PairedBootstrap(x, b);
  }
  return col;
}

std::string Params(double p) {
  if (std::isnan(p)) return "-";
  char buf[32];
  if (p >= 1e6) std::snprintf(buf, sizeof buf, "%.2fM", p / 1e6);
  else std::snprintf(buf, sizeof buf, p >= 1e5 ? "%.0fk" : "%.1fk", p / 1e3);
  return buf;
}

std::string Sci(double v) {
  if (std::isnan(v)) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3g", v);
  return buf;
}

std::string Pass1(const SizeCell& c) {
  MeanCi m;
  m.mean = c.pass1;
  m.half = c.pass1_ci;
  m.n = c.seeds;
  return Fmt(m, 100, 1);
}

std::vector<SizeColumn> ReadSweep(const ExperimentConfig& sweep, const std::string& dir) {
  if (sweep.sizes_size() == 0) throw ConfigError(dir + "/config.pbtxt: no sizes; not a size sweep");
  std::vector<SizeColumn> cols;
  for (const ModelSize& s : sweep.sizes()) cols.push_back(ReadSize(sweep, s, dir));
  return cols;
}

// Arms in the first size's order, then any that only later sizes have.
std::vector<std::string> ArmOrder(const std::vector<SizeColumn>& cols) {
  std::vector<std::string> arms;
  for (const SizeColumn& c : cols)
    for (const std::string& a : c.order)
      if (std::find(arms.begin(), arms.end(), a) == arms.end()) arms.push_back(a);
  return arms;
}

// The report's small-model claim: the largest size's RL model distilled
// into each size, against RL on that size at the same FLOPs.
std::string DistillationSection(const ExperimentConfig& sweep, const std::vector<SizeColumn>& cols) {
  std::ostringstream md;
  const std::string ref = PairedReference(sweep);
  for (const Arm* d : DistilArms(sweep)) {
    const auto teacher = std::find_if(cols.begin(), cols.end(),
                                      [&](const SizeColumn& c) { return c.name == d->rft().teacher_size(); });
    const bool compared = std::any_of(cols.begin(), cols.end(), [&](const SizeColumn& c) {
      return c.cells.count(d->name()) && c.cells.count(ref);
    });
    if (teacher == cols.end() || !compared) continue;
    const auto t = teacher->cells.find(d->rft().teacher_arm());
    md << "\n## Distillation against RL, by size: " << d->name() << "\n\n"
       << "Each size's base fine-tuned on the verified samples of " << d->rft().teacher_arm() << " at "
       << teacher->name << " (" << Params(teacher->params) << " parameters";
    if (t != teacher->cells.end())
      md << "; pass@1 " << Pass1(t->second) << "%, trained with " << Sci(t->second.flops) << " FLOPs after "
         << Sci(teacher->pretrain_flops) << " of pretraining";
    md << "), against " << ref << " on that size, both at the size's FLOP budget. The teacher's training and its "
       << "sampling (each size's distillation table) are not in the student's budget.\n\n"
       << "| size | parameters | " << d->name() << " pass@1 % | " << ref << " pass@1 % | minus " << ref
       << ", points | 95% paired bootstrap interval | excludes 0 |\n|---|---|---|---|---|---|---|\n";
    for (const SizeColumn& c : cols) {
      const auto x = c.cells.find(d->name()), r = c.cells.find(ref);
      const auto p = c.distil_minus_ref.find(d->name());
      if (x == c.cells.end() || r == c.cells.end()) continue;
      md << "| " << c.name << " | " << Params(c.params) << " | " << Pass1(x->second) << " | " << Pass1(r->second)
         << " | ";
      if (p == c.distil_minus_ref.end()) {
        md << "- | no samples on the same problems | - |\n";
        continue;
      }
      md << PairedCells(p->second) << " |\n";
    }
  }
  return md.str();
}

SizeReportFiles BuildFrom(const ExperimentConfig& sweep, const std::vector<SizeColumn>& cols) {
  const std::vector<std::string> arms = ArmOrder(cols);
  std::ostringstream md, csv;
  md << "# " << sweep.name() << ": model sizes\n\n"
     << cols.size() << " sizes of one experiment, each with its own base (pretrained at that size) and its own "
        "tuning; every arm runs at its configured FLOP budget times the size's budget scale. Each size's full "
        "tables (paired intervals, tuning, provenance): <size>/summary.md.\n\n"
     << "| size | parameters | d_model x layers | pretraining FLOPs | budget scale |\n|---|---|---|---|---|\n";
  for (const SizeColumn& c : cols)
    md << "| " << c.name << " | " << Params(c.params) << " | " << c.shape << " | " << Sci(c.pretrain_flops) << " | "
       << JsonNumber(c.budget_scale) << " |\n";
  md << "\nHeld-out pass@1 %, mean ± 95% interval over seeds (as in each size's table):\n\n| arm |";
  for (const SizeColumn& c : cols) md << " " << c.name << " (" << Params(c.params) << ") |";
  md << "\n|---|";
  for (size_t i = 0; i < cols.size(); ++i) md << "---|";
  md << "\n";
  csv << "size,params,pretrain_flops,arm,seeds,pass1,pass1_ci,flops\n";
  for (const std::string& a : arms) {
    md << "| " << a << " |";
    for (const SizeColumn& c : cols) {
      const auto it = c.cells.find(a);
      md << " " << (it == c.cells.end() ? "-" : Pass1(it->second)) << " |";
    }
    md << "\n";
  }
  for (const SizeColumn& c : cols)
    for (const std::string& a : c.order) {
      const SizeCell& x = c.cells.at(a);
      csv << c.name << "," << JsonNumber(c.params) << "," << JsonNumber(c.pretrain_flops) << "," << a << ","
          << x.seeds << "," << JsonNumber(x.pass1) << "," << JsonNumber(x.pass1_ci) << "," << JsonNumber(x.flops)
          << "\n";
    }
  md << "\nRanking at each size, by mean pass@1 (= between equal means):\n\n| size | ranking |\n|---|---|\n";
  for (const SizeColumn& c : cols) {
    std::map<std::string, double> pass1;
    for (const auto& [arm, cell] : c.cells) pass1[arm] = cell.pass1;
    md << "| " << c.name << " | " << RankingText(c.order, pass1) << " |\n";
  }
  md << DistillationSection(sweep, cols);
  md << "\nPlots: plots/pass1_vs_params, plots/pass1_vs_flops (pretraining plus the arm's training FLOPs).\n";
  return {md.str(), csv.str()};
}

}  // namespace

SizeReportFiles BuildSizeReport(const ExperimentConfig& sweep, const std::string& dir) {
  return BuildFrom(sweep, ReadSweep(sweep, dir));
}

std::string WriteSizeReport(const ExperimentConfig& sweep, const std::string& dir) {
  const std::vector<SizeColumn> cols = ReadSweep(sweep, dir);
  const SizeReportFiles files = BuildFrom(sweep, cols);
  const std::vector<std::string> arms = ArmOrder(cols);
  const std::string pdir = dir + "/plots";
  EnsureWritableDir(pdir);
  // One block per arm (gnuplot "index" i): params, total FLOPs, pass@1, its half-interval.
  std::ostringstream dat;
  std::string by_params, by_flops;
  for (size_t i = 0; i < arms.size(); ++i) {
    dat << "# " << arms[i] << "\n# params flops pass1 pass1_ci\n";
    for (const SizeColumn& c : cols) {
      const auto it = c.cells.find(arms[i]);
      if (it == c.cells.end() || std::isnan(c.params)) continue;
      const double pre = std::isnan(c.pretrain_flops) ? 0 : c.pretrain_flops;
      dat << JsonNumber(c.params) << " " << JsonNumber(pre + it->second.flops) << " " << JsonNumber(it->second.pass1)
          << " " << JsonNumber(it->second.pass1_ci) << "\n";
    }
    dat << "\n\n";
    const std::string head = std::string(i ? ", " : "") + "'sizes.dat' index " + std::to_string(i) + " using ";
    const std::string tail = " with yerrorlines linecolor " + std::to_string(i + 1) + " title '" + arms[i] + "'";
    by_params += head + "1:3:4" + tail;
    by_flops += head + "2:3:4" + tail;
  }
  WriteFileAtomic(pdir + "/sizes.dat", dat.str());
  WritePlotScript(pdir, "plots.gp",
                  {{"pass1_vs_params", "held-out pass@1 against model size", "parameters", "pass@1",
                    "set logscale x\n", by_params},
                   {"pass1_vs_flops", "held-out pass@1 against compute", "FLOPs (pretraining + the arm's training)",
                    "pass@1", "set logscale x\n", by_flops}});
  WriteFileAtomic(dir + "/summary.md", files.summary_md);
  WriteFileAtomic(dir + "/summary.csv", files.summary_csv);
  return files.summary_md;
}

std::string RankingText(const std::vector<std::string>& order, const std::map<std::string, double>& pass1) {
  std::vector<std::string> rank = order;
  std::stable_sort(rank.begin(), rank.end(),
                   [&](const std::string& x, const std::string& y) { return pass1.at(x) > pass1.at(y); });
  std::string out;
  for (size_t i = 0; i < rank.size(); ++i)
    out += (i == 0 ? "" : pass1.at(rank[i - 1]) == pass1.at(rank[i]) ? " = " : " > ") + rank[i];
  return out;
}

std::string RunSizes(const ExperimentConfig& sweep, const std::vector<ExperimentConfig>& sizes,
                     const RunnerOptions& opt) {
  const std::string root = opt.output_dir.empty() ? sweep.output_dir() : opt.output_dir;
  const std::string dir = root + "/" + sweep.name();
  const bool lead = !opt.dist || opt.dist->rank() == 0;
  EnsureWritableDir(dir);
  if (lead) WriteFileAtomic(dir + "/config.pbtxt", ConfigToText(sweep));
  RunnerOptions each = opt;
  each.output_dir = dir;
  each.cache_dir = opt.cache_dir.empty() ? root + "/.cache" : opt.cache_dir;
  size_t num_bases = 0;
  for (const ExperimentConfig& size : sizes) num_bases += Bases(size).size();
  if (DealsBases(opt, num_bases)) MakeBases(sizes, dir, each);  // every size's, before the first size's runs
  for (const ExperimentConfig& size : sizes) {
    std::fprintf(stderr, "%s: size %s\n", sweep.name().c_str(), size.name().c_str());
    RunExperiment(size, each);  // every rank done with the size when it returns
  }
  return lead ? WriteSizeReport(sweep, dir) : std::string();
}

}  // namespace r1lab

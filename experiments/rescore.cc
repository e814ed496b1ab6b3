#include "rescore.h"

#include <google/protobuf/util/message_differencer.h>

#include <filesystem>
#include <memory>
#include <vector>

#include "config.h"
#include "error.h"
#include "evaluator.h"
#include "io.h"
#include "records.h"
#include "report.h"
#include "sizes.h"
#include "task.h"

namespace r1lab {
namespace {

using google::protobuf::util::MessageDifferencer;

constexpr int kShownPerFolder = 5;  // sample-level findings printed per folder

// `rescored` less the singular fields `committed` lacks (results written
// before a field existed): what the committed record would hold. *cleared
// gets the names of those `rescored` has (metrics newer than the record).
EvalRecord LikeCommitted(const EvalRecord& rescored, const EvalRecord& committed, std::string* cleared) {
  EvalRecord m = rescored;
  const auto* d = EvalRecord::descriptor();
  const auto* refl = EvalRecord::GetReflection();
  for (int i = 0; i < d->field_count(); ++i) {
    const auto* f = d->field(i);
    if (f->is_repeated() || refl->HasField(committed, f)) continue;
    if (refl->HasField(m, f)) *cleared += (cleared->empty() ? "" : ", ") + f->name();
    refl->ClearField(&m, f);
  }
  return m;
}

class Rescorer {
 public:
  Rescorer(const std::string& dir, const Task& task, EvalSplit split, bool update)
      : dir_(dir), split_(split), test_(task.Split(split)), task_(task), update_(update) {}

  // Rescores the folder `rel` (relative to dir) whose committed eval record
  // is *record; on success *record becomes the rescored one (its committed
  // FLOPs and seconds kept: they are not in the samples), and
  // *problem_pass (if given) each problem's rescored share of right samples.
  void Folder(const std::string& rel, EvalRecord* record, std::vector<double>* problem_pass) {
    const std::string folder = dir_ + "/" + rel;
    const std::string path = CompressedPath(folder + "/" + kSamples);
    if (path.empty()) {
      Finding(rel + ": no samples.jsonl.xz, nothing to rescore (results made before samples were kept)");
      return;
    }
    const std::string shown_path = rel + "/" + std::filesystem::path(path).filename().string();  // as found: .xz or .gz
    const std::vector<SampleRecord> lines = ReadSamples(path);
    const int P = record->problems(), n = record->samples_per_problem();  // at least 1 each: ReadEvalJson
    if (static_cast<int64_t>(lines.size()) != static_cast<int64_t>(P) * n) {
      Finding(shown_path + ": " + std::to_string(lines.size()) + " lines, eval.json says " +
              std::to_string(P) + " problems x " + std::to_string(n) + " samples");
      return;
    }
    if (P > static_cast<int>(test_.size())) {
      Finding(rel + ": eval.json counts " + std::to_string(P) + " problems, the task's test split has " +
              std::to_string(test_.size()));
      return;
    }
    EvalResult r;
    r.split = split_;
    r.num_problems = P;
    r.n = n;
    r.samples.resize(lines.size());
    int shown = 0, found = 0;
    auto sample_finding = [&](size_t k, const std::string& what) {
      ++found;
      if (shown++ < kShownPerFolder) Finding(shown_path + " line " + std::to_string(k + 1) + ": " + what);
      else ++differences_;
    };
    for (size_t k = 0; k < lines.size(); ++k) {
      const SampleRecord& rec = lines[k];
      const int p = static_cast<int>(k) / n, j = static_cast<int>(k) % n;
      if (rec.problem() != p || rec.sample() != j) {
        sample_finding(k, "problem " + std::to_string(rec.problem()) + " sample " + std::to_string(rec.sample()) +
                              ", expected problem " + std::to_string(p) + " sample " + std::to_string(j) +
                              " (samples are problem-major)");
        continue;
      }
      const Problem& problem = test_[static_cast<size_t>(p)];
      if (rec.prompt() != problem.prompt || rec.gold() != problem.gold)
        sample_finding(k, "its prompt or gold is not the task's test problem " + std::to_string(p));
      EvalSample& s = r.samples[k];
      s.problem = p;
      s.index = j;
      s.completion = rec.completion();
      s.verdict = task_.Verify(s.completion, problem);
      s.tokens = rec.tokens();
      s.truncated = rec.truncated();
      if (rec.has_without_checks()) {
        s.without_checks = rec.without_checks();
        s.without_checks_ended = rec.without_checks_ended();
        s.without_checks_verdict = task_.Verify(s.without_checks, problem);
      }
      if (s.verdict.correct != rec.correct() || s.verdict.format_ok != rec.format_ok() ||
          s.verdict.extracted != rec.extracted())
        sample_finding(k, std::string("stored verdict (correct ") + (rec.correct() ? "true" : "false") +
                              ", format_ok " + (rec.format_ok() ? "true" : "false") + ", extracted \"" +
                              rec.extracted() + "\") is not the verifier's (correct " +
                              (s.verdict.correct ? "true" : "false") + ", format_ok " +
                              (s.verdict.format_ok ? "true" : "false") + ", extracted \"" + s.verdict.extracted +
                              "\")");
    }
    if (shown > kShownPerFolder)
      report_ += "  ... and " + std::to_string(shown - kShownPerFolder) + " more in " + rel + "\n";
    SummarizeSamples(test_, &r, [this](const std::string& l, const Problem& p) { return LineInForm(task_, l, p); });
    EvalRecord rescored = EvalToRecord(r);
    if (record->has_flops()) rescored.set_flops(record->flops());
    if (record->has_seconds()) rescored.set_seconds(record->seconds());
    const EvalRecord full = rescored;
    std::string added;  // metrics added to r1lab after the record was written: the samples give them
    rescored = LikeCommitted(rescored, *record, &added);
    // With --update, a folder whose every sample the verifier still judges
    // as stored gets eval.json rewritten, with the metrics added since: it is
    // then a function of samples anyone can check. A folder with sample
    // findings keeps it.
    const bool rewrite = update_ && found == 0;
    MessageDifferencer diff;
    std::string why;
    diff.ReportDifferencesToString(&why);
    const bool differs = !diff.Compare(*record, rescored);
    if (differs) {
      const std::string head = rel + "/eval.json differs from its rescored samples (committed → rescored)";
      if (rewrite) Note(head + "; rewritten:");
      else Finding(head + ":");
      for (const std::string& l : SplitLines(why)) report_ += "    " + l + "\n";
    } else {
      report_ += rel + ": " + std::to_string(lines.size()) + " samples rescored, eval.json reproduced" +
                 (found ? " (with the sample findings above)" : "") + "\n";
      if (rewrite && !added.empty()) Note(rel + "/eval.json: added from the samples (metrics newer than it): " + added);
    }
    if (rewrite && (differs || !added.empty()))
      WriteFileAtomic(folder + "/eval.json", RecordToJson(full) + "\n");
    *record = rewrite ? full : rescored;
    if (problem_pass) {
      problem_pass->assign(static_cast<size_t>(P), 0.0);
      for (const EvalSample& s : r.samples) (*problem_pass)[static_cast<size_t>(s.problem)] += s.verdict.correct ? 1.0 / n : 0.0;
    }
  }

  // Compares a rebuilt file with the committed one, line by line.
  void CompareFile(const std::string& name, const std::string& rebuilt, const std::string& what) {
    const std::string path = dir_ + "/" + name;
    if (!FileExists(path)) {
      Finding(name + ": missing; " + what + " would write it");
      return;
    }
    const std::vector<std::string> a = ReadLines(path), b = SplitLines(rebuilt);
    if (a == b) {
      report_ += name + ": " + what + " reproduced\n";
      return;
    }
    int differing = 0;
    std::string first;
    for (size_t i = 0; i < std::max(a.size(), b.size()); ++i) {
      const std::string x = i < a.size() ? a[i] : "(none)", y = i < b.size() ? b[i] : "(none)";
      if (x == y) continue;
      if (differing++ == 0) first = "line " + std::to_string(i + 1) + ":\n    committed: " + x + "\n    rebuilt:   " + y;
    }
    Finding(name + ": " + std::to_string(differing) + " lines differ from " + what + "; first, " + first);
  }

  void Finding(const std::string& line) {
    report_ += line + "\n";
    ++differences_;
  }

  RescoreResult Result() const { return {report_, differences_}; }
  void Note(const std::string& line) { report_ += line + "\n"; }

 private:
  const std::string dir_;
  const EvalSplit split_;
  const std::vector<Problem>& test_;
  const Task& task_;
  const bool update_;
  std::string report_;
  int differences_ = 0;
};

}  // namespace

RescoreResult Rescore(const std::string& dir, bool update) {
  ExperimentConfig cfg;
  const std::string config_path = dir + "/config.pbtxt";
  LoadValidConfigFile(config_path, &cfg);
  std::unique_ptr<Task> task;
  try {
    task = MakeTask(cfg.task());
  } catch (const ConfigError& e) {
    throw ConfigError(config_path + ": " + e.what());
  }
  Rescorer r(dir, *task, cfg.eval().split() == VALIDATION ? EvalSplit::kValidation : EvalSplit::kTest, update);
  if (cfg.sizes_size() > 0) {  // a size sweep: each size's folder, then the sweep's tables from theirs
    RescoreResult sizes;
    for (const ModelSize& s : cfg.sizes()) {
      const RescoreResult one = Rescore(dir + "/" + s.name(), update);
      sizes.report += one.report;
      sizes.differences += one.differences;
    }
    if (update) {
      WriteSizeReport(cfg, dir);
      r.Note("the sweep's summary.md, summary.csv and plots/ rewritten from its sizes'");
    }
    const SizeReportFiles rebuilt = BuildSizeReport(cfg, dir);
    r.CompareFile("summary.md", rebuilt.summary_md, "the sweep's tables rebuilt from its sizes' tables");
    r.CompareFile("summary.csv", rebuilt.summary_csv, "the sweep's table rebuilt from its sizes' tables");
    const RescoreResult own = r.Result();
    return {sizes.report + own.report, sizes.differences + own.differences};
  }
  r.Note("rescoring " + dir + " with this r1lab's verifier (task from config.pbtxt)");
  const ReportInput committed = ReadReportInput(cfg, dir);
  // The tables as this r1lab writes them from the committed records: if
  // they differ from the files, the summary is stale, whatever the samples say.
  const ReportFiles as_committed = BuildReport(cfg, dir, committed);
  if (!update) {
    r.CompareFile("summary.md", as_committed.summary_md, "the tables rebuilt from the committed records");
    r.CompareFile("summary.csv", as_committed.summary_csv, "the table rebuilt from the committed records");
  }
  ReportInput rescored = committed;
  const std::vector<BaseSlot> bases = Bases(cfg);
  for (size_t b = 0; b < bases.size(); ++b) r.Folder(bases[b].name, &rescored.bases[b], nullptr);
  // A tuning folder's pretraining trials (tune.pretrain): p0, p1, ..., each a base's evaluation.
  for (int k = 0; FileExists(dir + "/pretrain/p" + std::to_string(k) + "/eval.json"); ++k) {
    const std::string rel = "pretrain/p" + std::to_string(k);
    EvalRecord e = ReadEvalJson(dir + "/" + rel + "/eval.json");
    r.Folder(rel, &e, nullptr);
  }
  for (ArmRecords& a : rescored.arms)
    for (RunRecords& run : a.runs) {
      const std::string rdir = RunDir(dir, *a.arm, bases[static_cast<size_t>(run.base)], run.seed);
      r.Folder(rdir.substr(dir.size() + 1), &run.final, &run.problem_pass);
    }
  if (update) {
    RewriteReport(dir);
    r.Note("summary.md, summary.csv and plots/ rewritten from the records");
  }
  const ReportFiles from_samples = BuildReport(cfg, dir, rescored);
  r.CompareFile("summary.md", from_samples.summary_md, "the tables rebuilt from the rescored samples");
  r.CompareFile("summary.csv", from_samples.summary_csv, "the table rebuilt from the rescored samples");
  return r.Result();
}

}  // namespace r1lab

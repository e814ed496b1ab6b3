// The experiment runner: base model, then arms x seeds, then summary.
//
// <output_dir>/<experiment>/  (output_dir: "runs" unless the config or --out
// says otherwise; the committed reference results live in results/)
//   config.pbtxt                      resolved config
//   base/eval.json, samples.jsonl.xz  the shared base, evaluated once per base
//   base/done.json                    its checkpoint's fnv64, commit and machine
//   runs/<arm>/seed-<s>/              metrics.jsonl (.xz once done), eval.json, samples.jsonl.xz,
//                                     checkpoint.pt, run_config.pbtxt (config and
//                                     base hash), done.json (finished marker with
//                                     the commit and machine that made the run)
//   summary.md, summary.csv           one row per arm: mean and 95% CI over seeds;
//                                     the commits and machines the runs came from
//   plots/                            SVG and PNG plots, their data and gnuplot script
// The base checkpoint is cached in <output_dir>/.cache by a hash of the
// model, task and pretrain configs, so arms, experiments and reruns share it
// (one process pretrains it; another waits). A run folder or base evaluation
// made from another base checkpoint is refused or redone, never reused.
// Finished runs are skipped on rerun; an interrupted one resumes from its
// checkpoint. A second runner on the same folder is refused.
#pragma once

#include <string>
#include <vector>

#include "r1lab.pb.h"
#include "task.h"

namespace r1lab {

class Dist;

const char* DefaultExperimentText();  // experiments/r1_zero_vs_failures.pbtxt, embedded
const char* DefaultTunedText();       // its .tuned.pbtxt, embedded ("" if none)
// Loads, resolves and validates; "" = the embedded default.
// `overrides`: "path.to.field=value" (--set), applied in order after the
// file (and its extends chain) and before arm_defaults and defaults. With
// `tuned`, the values `r1lab tune` chose (<path>.tuned.pbtxt beside the
// file, experiments/tune.h; for the embedded default, its embedded tuning)
// are then applied to their arms, if there are any. Overrides that change
// the task, model or pretraining a tuning was made on are an error with
// `strict` (what `run` uses: the same edit in the file is refused), else a
// warning on stderr (commands that use only the task and model).
ExperimentConfig LoadExperiment(const std::string& path, const std::vector<std::string>& overrides = {},
                                bool tuned = true, bool strict = false);
// A size sweep (ExperimentConfig.sizes): each size's experiment, named by
// the size, with the size's model and pretraining merged over the file's and
// its own tuning (<path>.<size>.tuned.pbtxt) when `tuned`. Overrides of
// "sizes..." change the sweep; the others apply to every size.
std::vector<ExperimentConfig> LoadSizes(const std::string& path, const std::vector<std::string>& overrides = {},
                                        bool tuned = true, bool strict = false);
// The same from config text (`source` names it in errors; no `extends`).
ExperimentConfig LoadExperimentText(const std::string& text, const std::string& source,
                                    const std::vector<std::string>& overrides = {});

// A first-look variant of an experiment: "<name>_quick", the first seed and
// the first base seed only, no budget curve, at most 500 pretraining steps, a
// third of each arm's FLOP budget (and of its step count), 100 eval problems
// x 4 samples. Same arms, same code.
ExperimentConfig QuickVariant(const ExperimentConfig& cfg);

struct RunnerOptions {
  std::string output_dir;  // overrides the config's output_dir if set
  std::string cache_dir;   // where bases are cached; "" = <output_dir>/.cache
  // Several ranks (dist/dist.h) sharing the output folder: rank 0 takes the
  // folder's lock and evaluates the bases; the bases are pretrained by rank
  // 0, or dealt out (DealsBases); then the runs are dealt out (run k of the
  // experiment to rank k mod world), a dependency round at a time (pipeline
  // stages wait for the arms they start from), each rank running whole runs
  // with the usual checkpoints; rank 0 writes the summary once every rank
  // is done. A rank that fails ends the others with an error at the next
  // round; rerunning resumes.
  Dist* dist = nullptr;
  // With `dist`: every run is shared by all ranks instead. Its steps are
  // data-parallel (train/data_parallel.h: each rank samples its share of
  // the prompts or problems, or takes its rows of the batch; the gradients
  // are summed), and so are the base's pretraining and every evaluation;
  // rank 0 writes the files and checkpoints. For one run too big or too
  // slow for one process.
  bool data_parallel = false;
  // Threads rank 0 uses for the bases, while the other ranks of its machine
  // wait for them (0: the rank's own).
  int base_threads = 0;
};

// Returns the summary table (markdown; "" on ranks other than 0).
std::string RunExperiment(const ExperimentConfig& cfg, const RunnerOptions& opt);

// Whether the ranks of `opt` deal `num_bases` bases out (MakeBases) rather
// than wait for rank 0 to make each: with several ranks, several bases, and
// each rank at the threads it runs with (no opt.base_threads lending it the
// machine's cores), so that every base is what one process at those threads
// makes. Data-parallel ranks pretrain each base together instead.
bool DealsBases(const RunnerOptions& opt, size_t num_bases);
// Pretrains (EnsureBase) every base of `cfgs`, the k-th over all of them by
// rank k mod world, then meets the other ranks at a barrier. Rank 0 still
// evaluates each, after checking that no run folder holds a run of another
// base.
void MakeBases(const std::vector<ExperimentConfig>& cfgs, const std::string& root, const RunnerOptions& opt);

// Path of the cached base checkpoint; pretrains it first if missing
// (resuming an interrupted pretraining). Writes <path minus .pt>.json with
// the pretraining cost.
// `label` begins its progress lines. With `dp` (several ranks, every one
// calling), the ranks pretrain it together, data-parallel (SftRun), rank 0
// writing; such a base is cached apart from one process's, by rank count.
std::string EnsureBase(const ExperimentConfig& cfg, const Task& task, const std::string& cache_dir,
                       const std::string& label = "pretrain base", Dist* dp = nullptr);
// EnsureBase's path of a base another rank has pretrained (MakeBases, or
// rank 0 alone): waits (WaitForFile, core/io.h) until it and its record show
// in this rank's view of the cache, which a shared folder's file system may
// give late; never pretrains.
std::string BaseMadeElsewhere(const ExperimentConfig& cfg, const std::string& cache_dir);

// A base checkpoint's held-out evaluation (bcfg.eval, bcfg one base's
// config; `base_hash` the checkpoint's fnv64, HexHash of its bytes) in `bdir`: eval.json, samples.jsonl.xz and done.json (checkpoint,
// fnv64, parameters, pretraining FLOPs from EnsureBase's record), evaluated
// only when `bdir` holds no evaluation of this checkpoint; else read back.
// With `shard`, every rank of it calls: rank 0's view of `bdir` decides,
// the ranks share the sampling (Evaluate), and rank 0 writes and returns
// the evaluation (the others' result is not to be used).
struct BaseEvaluation {
  EvalRecord eval;
  DoneRecord done;
};
BaseEvaluation EvaluateBase(const ExperimentConfig& bcfg, const Task& task, const std::string& base_path,
                            const std::string& base_hash, const std::string& bdir, const std::string& label,
                            Dist* shard = nullptr);

// Rewrites summary.md, summary.csv and plots/ of an experiment folder from
// its config.pbtxt and run files (after an update, or to restyle), under
// the folder's lock. Returns the markdown table.
std::string RewriteReport(const std::string& dir);
// Rounds every finished metrics file (.xz, or .gz) under `dir` (any depth: runs, trials, a
// sweep's sizes) as finished runs write them (RoundMetrics: kMetricsDigits,
// timings kTimingDigits since 2026-12-07); a file already rounded is left
// untouched. Returns how many files changed.
int RoundMetricsFiles(const std::string& dir);

}  // namespace r1lab

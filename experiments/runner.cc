#include "runner.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <optional>
#include <sstream>

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>
#include <google/protobuf/text_format.h>

#include "checkpoint.h"
#include "config.h"
#include "data_parallel.h"
#include "dist.h"
#include "error.h"
#include "evaluator.h"
#include "io.h"
#include "json.h"
#include "loop.h"
#include "machine.h"
#include "memory.h"
#include "progress.h"
#include "records.h"
#include "text.h"
#include "report.h"
#include "sft.h"
#include "sizes.h"
#include "strategy.h"
#include "threads.h"
#include "tokenizer.h"
#include "tune.h"

namespace r1lab {

const char* GitCommit();


namespace {

// Holds an exclusive lock on a run folder for the runner's lifetime: a flock
// on the folder itself, which no file deleted inside it can release (a lock
// on <dir>/.lock let a second runner in once that file was removed under the
// first). Where the file system refuses locks on directories (NFS emulates
// flock with byte-range locks, which need a file open for writing), the lock
// is on <dir>/.lock, checked after locking to still be the file at that path.
class DirLock {
 public:
  explicit DirLock(const std::string& dir) {
    fd_ = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd_ < 0) throw IoError(dir + ": cannot open the folder to lock it");
    if (::flock(fd_, LOCK_EX | LOCK_NB) == 0) return;
    const int err = errno;
    ::close(fd_);
    fd_ = -1;
    if (err == EWOULDBLOCK) throw Busy(dir, dir);
    const std::string path = dir + "/.lock";
    for (;;) {  // the file lock: retried if the file was replaced between open and lock
      fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
      if (fd_ < 0) throw IoError(path + ": cannot create lock file");
      if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
        ::close(fd_);
        throw Busy(dir, path);
      }
      struct stat held {}, named {};
      if (::fstat(fd_, &held) == 0 && ::stat(path.c_str(), &named) == 0 && held.st_dev == named.st_dev &&
          held.st_ino == named.st_ino)
        return;
      ::close(fd_);
    }
  }
  // Waits for the lock on `path` (saying so on stderr when it has to wait).
  struct Wait {};
  DirLock(const std::string& path, Wait) {
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0) throw IoError(path + ": cannot create lock file");
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      std::fprintf(stderr, "waiting for another r1lab process holding %s\n", path.c_str());
      if (::flock(fd_, LOCK_EX) != 0) {
        ::close(fd_);
        throw IoError(path + ": cannot lock");
      }
    }
  }
  ~DirLock() {
    ::flock(fd_, LOCK_UN);
    ::close(fd_);
  }

 private:
  static IoError Busy(const std::string& dir, const std::string& locked) {
    return IoError(dir + ": another r1lab run is writing into this folder (" + locked +
                   " is locked); wait for it or choose another output_dir");
  }

  int fd_ = -1;
};

// Drops metrics lines past the checkpoint step, so a resumed run does not
// repeat them. A last line without its newline is a write the kill cut
// short and is dropped; any other line that is not a metrics record is an
// error naming the file and line, before training (not a report failure after).
void TrimMetrics(const std::string& metrics_path, int64_t step) {
  std::string kept;
  int line_no = 0;
  MetricsLine m;
  std::string text = FileExists(metrics_path) ? ReadFile(metrics_path) : "";
  text.erase(text.rfind('\n') == std::string::npos ? 0 : text.rfind('\n') + 1);  // drop a cut-short last line
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    ++line_no;
    RecordFromJson(line, metrics_path + " line " + std::to_string(line_no), &m);
    if (m.step() > step) continue;
    kept += line + "\n";
  }
  WriteFileAtomic(metrics_path, kept);
}

// Resuming from `ckpt`: its metrics file loses the lines past the checkpoint,
// and the wall seconds the checkpoint had spent are returned.
double ResumeFromCheckpoint(const std::string& ckpt, const std::string& metrics_path) {
  const CheckpointMeta meta = ReadCheckpointMeta(ckpt);
  TrimMetrics(metrics_path, meta.step);
  return CheckpointWallSeconds(meta, ckpt);
}

}  // namespace

namespace {

// The paths of the fields `a` sets and `b` leaves unset, field by field
// into messages; a repeated field counts as one; a oneof where `b` chose
// another member is `b`'s choice, not a gap.
void SetOnlyIn(const google::protobuf::Message& a, const google::protobuf::Message& b, const std::string& prefix,
               std::vector<std::string>* out) {
  using google::protobuf::FieldDescriptor;
  const auto* ra = a.GetReflection();
  const auto* rb = b.GetReflection();
  std::vector<const FieldDescriptor*> fields;
  ra->ListFields(a, &fields);
  for (const FieldDescriptor* f : fields) {
    const std::string path = prefix + f->name();
    if (f->is_repeated()) {
      if (rb->FieldSize(b, f) == 0) out->push_back(path);
    } else if (rb->HasField(b, f)) {
      if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE)
        SetOnlyIn(ra->GetMessage(a, f), rb->GetMessage(b, f), path + ".", out);
    } else if (!f->containing_oneof() || !rb->HasOneof(b, f->containing_oneof())) {
      out->push_back(path);
    }
  }
}

// Prints a config warning once per job: every rank reads the config, and only
// rank 0 (or a process outside a job) says what it found.
void ConfigWarning(const std::string& what) {
  const char* rank = std::getenv("RANK");
  if (rank != nullptr && std::string(rank) != "0") return;
  std::fprintf(stderr, "warning: %s\n", what.c_str());
}

// Reads `path` and, recursively, the files it extends.
ExperimentConfig LoadWithParents(const std::string& path, std::vector<std::string>* chain) {
  // Compared as canonical paths: "./a.pbtxt" extending "a.pbtxt" is a cycle too.
  std::error_code ec;
  std::string canonical = std::filesystem::weakly_canonical(path, ec).string();
  if (ec) canonical = path;
  if (std::find(chain->begin(), chain->end(), canonical) != chain->end())
    throw ConfigError(path + ": 'extends' forms a cycle (" + chain->front() + " ... " + path + ")");
  if (chain->size() >= 8) throw ConfigError(path + ": 'extends' chain is deeper than 8 files");
  chain->push_back(canonical);
  ExperimentConfig child;
  LoadConfigFile(path, &child);
  if (!child.has_extends()) return child;
  if (child.extends().empty())
    throw ConfigError(path + ": extends: \"\"; expected the path of the config this file extends (relative to it)");
  const size_t slash = path.rfind('/');
  const std::string parent_path =
      (child.extends().rfind('/', 0) == 0 || slash == std::string::npos) ? child.extends()
                                                                         : path.substr(0, slash + 1) + child.extends();
  ExperimentConfig merged;
  try {
    merged = LoadWithParents(parent_path, chain);
  } catch (const ConfigError& e) {
    throw ConfigError(path + ": extends: " + e.what());
  }
  if (child.seeds_size() > 0) merged.clear_seeds();
  if (child.base_seeds_size() > 0) merged.clear_base_seeds();
  // A child's arms replace the parent's whole, so an arm written to adjust
  // the parent's arm of its name runs without what it leaves out, unless
  // the child's own arm_defaults sets it: say so.
  for (const Arm& arm : child.arms())
    for (const Arm& inherited : merged.arms()) {
      if (inherited.name() != arm.name()) continue;
      Arm effective = child.arm_defaults();
      effective.MergeFrom(arm);
      std::vector<std::string> dropped;
      SetOnlyIn(inherited, effective, "", &dropped);
      if (dropped.empty()) continue;
      std::string list;
      for (const std::string& d : dropped) list += (list.empty() ? "" : ", ") + d;
      ConfigWarning(path + ": arms[" + arm.name() + "] replaces the arm of that name in " + parent_path +
                    " whole (a file's arms replace its parent's), so these fields set there fall to arm_defaults "
                    "or their defaults: " + list);
    }
  if (child.arms_size() > 0) merged.clear_arms();
  if (child.sizes_size() > 0) merged.clear_sizes();
  merged.MergeFrom(child);
  merged.clear_extends();
  return merged;
}

}  // namespace

namespace {

// rft.teacher_size: only in a size sweep, naming its first size (checked on
// the sweep; a size's own experiment, `size_of_sweep`, has no sizes).
void CheckTeacherSizes(const ExperimentConfig& cfg, const std::string& source, bool size_of_sweep) {
  for (int i = 0; i < cfg.arms_size(); ++i) {
    const Arm& a = cfg.arms(i);
    if (!a.has_rft() || !a.rft().has_teacher_size()) continue;
    const std::string field = "arms[" + std::to_string(i) + "] (" + a.name() + ").rft.teacher_size";
    if (!a.rft().has_teacher_arm())
      ConfigFail(source, field, "set without rft.teacher_arm; expected the arm whose run at that size is the teacher");
    if (size_of_sweep) continue;
    if (cfg.sizes_size() == 0)
      ConfigFail(source, field, "'" + a.rft().teacher_size() + "', but the experiment has no sizes; expected a size "
                                "sweep (ExperimentConfig.sizes)");
    if (a.rft().teacher_size() != cfg.sizes(0).name())
      ConfigFail(source, field, "'" + a.rft().teacher_size() + "'; expected the sweep's first size, '" +
                                    cfg.sizes(0).name() + "' (sizes run in order and every size runs every arm)");
  }
}

// A Hugging Face model's shape, from its config.json, before the .proto's
// defaults are written (they are the character GPT's).
void ResolveShape(ExperimentConfig* cfg, const std::string& source) {
  try {
    *cfg->mutable_model() = ResolveModelShape(cfg->model());
  } catch (const ConfigError& e) {
    throw ConfigError(source + ": " + e.what());
  }
}

// The experiment with its arm defaults, model shape and defaults resolved,
// validated (errors name `source`).
ExperimentConfig Resolved(ExperimentConfig cfg, const std::string& source) {
  ApplyArmDefaults(&cfg);
  ResolveShape(&cfg, source);
  ResolveDefaults(&cfg);
  ValidateConfig(cfg, source);
  return cfg;
}

// `tuned_text`: a TuneRecord (from `tuned_source`) to apply; none if absent.
// It is checked against the experiment as tuned (no overrides) and its values
// set on the arms before the overrides, so --set still wins over a tuned value;
// overrides that change the task, model or pretraining it was tuned on are
// refused, as the same edit in the file would be.
ExperimentConfig FinishLoading(ExperimentConfig cfg, const std::string& source, const std::vector<std::string>& overrides,
                               const std::optional<std::string>& tuned_text = std::nullopt,
                               const std::string& tuned_source = "", bool size_of_sweep = false,
                               bool strict = false) {
  TuneRecord rec;
  std::string with = source;  // errors of the resolved config name the file, and the overrides it was given
  for (size_t i = 0; i < overrides.size(); ++i) with += (i ? " --set " : " with --set ") + overrides[i];
  if (tuned_text) {
    ExperimentConfig as_tuned = Resolved(cfg, source);  // errors in the experiment name the experiment's file
    if (!overrides.empty()) {
      ExperimentConfig overridden = cfg;
      for (const std::string& o : overrides) ApplyOverride(o, source, &overridden);
      if (TunedBaseIdentity(Resolved(overridden, with)) != TunedBaseIdentity(as_tuned)) {
        const std::string what = with + ": the overrides change the task, model or pretraining that " +
                                 tuned_source + " was tuned on";
        if (strict) throw ConfigError(what + "; run with --untuned, or make the change in the file and tune again");
        ConfigWarning(what + "; its chosen values are applied as they are");
      }
    }
    ParseConfigText(*tuned_text, tuned_source, &rec);
    if (rec.arms_size() == 0 && !rec.has_pretrain())
      throw ConfigError(tuned_source + ": holds no tuning (no arms, no pretraining); expected the record r1lab tune "
                        "writes: rerun r1lab tune, delete the file, or run with --untuned");
    if (rec.has_experiment() && rec.experiment() != cfg.name())
      throw ConfigError(tuned_source + ": experiment: \"" + rec.experiment() + "\" is another experiment's tuning; "
                        "expected \"" + cfg.name() + "\": rerun r1lab tune, or run with --untuned");
    ApplyTuning(rec, tuned_source, &cfg, &as_tuned);
    Resolved(cfg, tuned_source);  // a chosen value out of range names the tuning's file
    std::fprintf(stderr, "%s: the values r1lab tune chose, from %s (--untuned: as configured)\n", cfg.name().c_str(),
                 tuned_source.c_str());
  }
  for (const std::string& o : overrides) ApplyOverride(o, source, &cfg);
  cfg = Resolved(cfg, with);
  CheckTeacherSizes(cfg, with, size_of_sweep);
  return cfg;
}

}  // namespace

ExperimentConfig LoadExperimentText(const std::string& text, const std::string& source,
                                    const std::vector<std::string>& overrides) {
  ExperimentConfig cfg;
  ParseConfigText(text, source, &cfg);
  return FinishLoading(cfg, source, overrides);
}

ExperimentConfig LoadExperiment(const std::string& path, const std::vector<std::string>& overrides, bool tuned,
                                bool strict) {
  if (path.empty()) {
    const std::string source = "<embedded experiments/r1_zero_vs_failures.pbtxt>";
    ExperimentConfig cfg;
    ParseConfigText(DefaultExperimentText(), source, &cfg);
    return FinishLoading(cfg, source, overrides,
                         tuned ? std::optional<std::string>(DefaultTunedText()) : std::nullopt,
                         "<embedded experiments/r1_zero_vs_failures.tuned.pbtxt>", false, strict);
  }
  std::vector<std::string> chain;
  const ExperimentConfig raw = LoadWithParents(path, &chain);
  const std::string tuned_path = TunedPath(path);
  // A size sweep's tunings are per size (LoadSizes).
  const bool has_tuning = tuned && raw.sizes_size() == 0 && FileExists(tuned_path);
  return FinishLoading(raw, path, overrides,
                       has_tuning ? std::optional<std::string>(ReadFile(tuned_path)) : std::nullopt, tuned_path, false,
                       strict);
}

std::vector<ExperimentConfig> LoadSizes(const std::string& path, const std::vector<std::string>& overrides,
                                        bool tuned, bool strict) {
  LoadExperiment(path, overrides, false);  // validates the sweep as a whole
  std::vector<std::string> chain;
  ExperimentConfig raw = LoadWithParents(path, &chain);
  std::vector<std::string> rest;  // overrides of the sizes go into the sweep, the others into each size
  for (const std::string& o : overrides)
    if (o.rfind("sizes", 0) == 0) ApplyOverride(o, path, &raw);
    else rest.push_back(o);
  std::vector<ExperimentConfig> out;
  for (int i = 0; i < raw.sizes_size(); ++i) {
    const ModelSize& size = raw.sizes(i);  // as written: a resolved size would set every field
    ExperimentConfig sub = raw;
    sub.clear_sizes();
    sub.set_name(size.name());
    sub.mutable_model()->MergeFrom(size.model());
    sub.mutable_pretrain()->MergeFrom(size.pretrain());
    const std::string source = path + " (size " + size.name() + ")";
    if (size.budget_scale() != 1) {
      ApplyArmDefaults(&sub);
      for (Arm& arm : *sub.mutable_arms()) {
        if (arm.flop_budget() <= 0)
          throw ConfigError(path + ": sizes[" + std::to_string(i) + "].budget_scale: arm '" + arm.name() +
                            "' has no flop_budget to scale; give it one or leave budget_scale at 1");
        arm.set_flop_budget(arm.flop_budget() * size.budget_scale());
      }
    }
    const std::string tuned_path = TunedPath(path, size.name());
    const bool has_tuning = tuned && FileExists(tuned_path);
    out.push_back(FinishLoading(sub, source, rest,
                                has_tuning ? std::optional<std::string>(ReadFile(tuned_path)) : std::nullopt,
                                tuned_path, true, strict));
  }
  return out;
}

ExperimentConfig QuickVariant(const ExperimentConfig& cfg) {
  ExperimentConfig q = cfg;
  q.set_name(cfg.name() + "_quick");
  q.clear_seeds();
  q.add_seeds(cfg.seeds(0));
  q.clear_budgets();  // one point: the arms as configured
  q.clear_base_seeds();
  if (cfg.base_seeds_size() > 0) q.add_base_seeds(cfg.base_seeds(0));
  q.mutable_pretrain()->set_steps(std::min(cfg.pretrain().steps(), 500));
  EvalConfig* ev = q.mutable_eval();
  ev->set_num_problems(std::min(ev->num_problems(), 100));
  ev->set_samples_per_problem(std::min(ev->samples_per_problem(), 4));
  for (Arm& arm : *q.mutable_arms()) {
    arm.set_flop_budget(arm.flop_budget() / 3);
    QuickenArm(&arm);
  }
  ev->set_eval_every(std::max(1, ev->eval_every() / 3));
  ValidateConfig(q, "<quick variant of " + cfg.name() + ">");
  return q;
}

namespace {

// What a base's pretraining depends on.
ExperimentConfig BaseKey(const ExperimentConfig& cfg) {
  ExperimentConfig key;
  *key.mutable_model() = cfg.model();
  *key.mutable_task() = cfg.task();
  *key.mutable_pretrain() = cfg.pretrain();
  return key;
}

// The cached base's path without ".pt". A Hugging Face model's base is keyed
// by its folder's content too, and a data-parallel base by its rank count
// (`dp_world` > 1: its gradients are summed in another order, so its
// weights are not one process's).
std::string BaseStem(const ExperimentConfig& cfg, const std::string& cache_dir, int dp_world) {
  return cache_dir + "/base-" + HexHash(ConfigHash(BaseKey(cfg))) +
         (cfg.model().hf_folder().empty() ? "" : "-" + HexHash(HfFolderHash(cfg.model().hf_folder()))) +
         (dp_world > 1 ? "-dp" + std::to_string(dp_world) : "");
}

}  // namespace

std::string BaseMadeElsewhere(const ExperimentConfig& cfg, const std::string& cache_dir) {
  const std::string stem = BaseStem(cfg, cache_dir, 1);
  WaitForFile(stem + ".json", "a base another rank pretrained");  // written after the checkpoint
  WaitForFile(stem + ".pt", "a base another rank pretrained");
  return stem + ".pt";
}

std::string EnsureBase(const ExperimentConfig& cfg, const Task& task, const std::string& cache_dir,
                       const std::string& label, Dist* dp) {
  const ExperimentConfig key = BaseKey(cfg);
  const bool shared = dp && dp->world_size() > 1, lead = !shared || dp->rank() == 0;
  const std::string stem = BaseStem(cfg, cache_dir, shared ? dp->world_size() : 1);
  const std::string path = stem + ".pt", partial = stem + ".partial.pt";
  auto made = [&] { return FileExists(path) && FileExists(stem + ".json"); };
  if (!shared && made()) {
    std::remove(partial.c_str());  // left by a stop just before its removal below
    std::fprintf(stderr, "base: cached %s\n", path.c_str());
    return path;
  }
  // Two experiments sharing the cache pretrain one base once: the second
  // waits. Data-parallel ranks wait for rank 0's lock, then agree.
  std::optional<DirLock> lock;
  bool have = false;
  if (lead) {
    EnsureWritableDir(cache_dir);
    lock.emplace(stem + ".lock", DirLock::Wait{});
    have = made();
  }
  if (shared) {
    dp->RoundBarrier();  // rank 0 may have waited long for the lock
    have = ShareRankZerosFile(*dp, path, have);
    if (have) {
      if (lead) std::remove(partial.c_str());
      std::fprintf(stderr, "%s: cached %s\n", label.c_str(), path.c_str());
    }
  }
  if (have) return path;
  if (lead)
    WriteFileAtomic(stem + ".pbtxt", ConfigToText(key) + (shared ? "# pretrained data-parallel over " +
                                                                       std::to_string(dp->world_size()) + " ranks\n"
                                                                 : ""));
  const auto t0 = Clock::now();
  Transformer model = MakeModel(cfg.model());
  FlopCounter flops;
  SftRun run;
  run.cfg = cfg.pretrain();
  run.teacher = EffectiveTeacher(cfg.task(), cfg.pretrain());
  run.seed = cfg.model().init_seed() + 0x5eed;
  run.checkpoint_path = partial;
  run.checkpoint_every = 250;
  run.label = label;
  run.data_parallel = shared ? dp : nullptr;
  run.read_only_checkpoint = !lead;  // rank 0 writes it; the others resume from it
  const double wall_before =
      lead && FileExists(partial) ? ResumeFromCheckpoint(partial, stem + ".metrics.jsonl") : 0;
  std::optional<JsonlWriter> metrics;
  if (lead) metrics.emplace(stem + ".metrics.jsonl");
  run.metrics = metrics ? &*metrics : nullptr;
  RunSft(model, task, run, &flops);
  if (lead) {
    SaveCheckpoint(path, model, nullptr, {cfg.pretrain().steps(), "", "", ""});
    const double wall = wall_before + SecondsSince(t0);
    BaseRecord rec;
    rec.set_checkpoint(path);
    rec.set_steps(cfg.pretrain().steps());
    rec.set_params(static_cast<double>(model->NumParameters()));
    rec.set_flops(flops.Total());
    rec.set_wall_s(wall);
    rec.set_commit(GitCommit());
    *rec.mutable_machine() = DescribeMachine(cfg.model().device());
    WriteFileAtomic(stem + ".json", RecordToJson(rec) + "\n");
    std::remove(partial.c_str());
  }
  if (shared) ShareRankZerosFile(*dp, path, true);  // the others wait until they see it written
  return path;
}

namespace {

// What a run is made of; a run folder never mixes two of these.
std::string RunConfigText(const ExperimentConfig& cfg, const Arm& arm, uint64_t seed) {
  ExperimentConfig identity;
  *identity.mutable_task() = cfg.task();
  *identity.mutable_model() = cfg.model();
  *identity.mutable_pretrain() = cfg.pretrain();
  *identity.mutable_eval() = cfg.eval();
  *identity.add_arms() = arm;
  identity.add_seeds(seed);
  return ConfigToText(identity);
}

// The final checkpoint of an earlier arm's run of the same base and seed.
std::string ArmCheckpoint(const std::string& dir, const std::string& arm, const BaseSlot& base, uint64_t seed) {
  Arm a;
  a.set_name(arm);
  return RunDir(dir, a, base, seed) + "/checkpoint.pt";
}

// The checkpoints a run starts from besides the base ("" when unused): a
// pipeline stage's earlier arm (init_from) and a distillation's teacher
// (rft.teacher_checkpoint, or rft.teacher_arm's run).
struct RunStarts {
  std::string from, teacher;
  bool teacher_is_arm = false;
  // An earlier arm's checkpoint is gone (committed results keep none).
  bool ArmMissing() const { return (!from.empty() && !FileExists(from)) || (teacher_is_arm && !FileExists(teacher)); }
};

// `dir`: the experiment's folder, <sweep folder>/<experiment> in a size
// sweep, where rft.teacher_size names a sibling folder.
RunStarts StartsOf(const std::string& dir, const std::string& experiment, const Arm& arm, const BaseSlot& base,
                   uint64_t seed) {
  RunStarts s;
  if (arm.has_init_from()) s.from = ArmCheckpoint(dir, arm.init_from(), base, seed);
  if (arm.has_rft()) {
    const RftConfig& r = arm.rft();
    s.teacher_is_arm = r.has_teacher_arm();
    const std::string teacher_dir =
        CrossSizeTeacher(arm, experiment) ? std::filesystem::path(dir).parent_path().append(r.teacher_size()).string() : dir;
    s.teacher = s.teacher_is_arm ? ArmCheckpoint(teacher_dir, r.teacher_arm(), base, seed) : r.teacher_checkpoint();
  }
  return s;
}

// A stored run_config.pbtxt as this build writes it: its config parsed and
// given this build's defaults, so a field added since (whose default keeps
// the old behaviour) does not make an old run look like another config; the
// hash lines as they are. Text that does not parse (a field since removed)
// stays as it is, and so never matches.
std::string NormalizedIdentity(const std::string& stored) {
  const size_t cut = stored.find("# base checkpoint fnv64: ");
  ExperimentConfig c;
  if (!google::protobuf::TextFormat::ParseFromString(stored.substr(0, cut), &c)) return stored;
  // What RunConfigText holds, resolved as the runner's config is (the
  // identity leaves the experiment's other fields unset).
  for (google::protobuf::Message* m : std::vector<google::protobuf::Message*>{c.mutable_task(), c.mutable_model(),
                                                                              c.mutable_pretrain(), c.mutable_eval()})
    ResolveDefaults(m);
  for (Arm& a : *c.mutable_arms()) ResolveDefaults(&a);
  return ConfigToText(c) + (cut == std::string::npos ? "" : stored.substr(cut));
}

// Where two identities first differ: "; first difference, line N: stored 'a', now 'b'".
std::string FirstDifference(const std::string& stored, const std::string& now) {
  const std::vector<std::string> a = SplitLines(stored), b = SplitLines(now);
  for (size_t i = 0; i < std::max(a.size(), b.size()); ++i) {
    const std::string x = i < a.size() ? a[i] : "(end)", y = i < b.size() ? b[i] : "(end)";
    if (x != y) return "; first difference, line " + std::to_string(i + 1) + ": stored '" + x + "', now '" + y + "'";
  }
  return "";
}

// The config and the checkpoints the run starts from, those by content: the
// base by its bytes, an earlier arm's or a teacher's checkpoint by the weights
// it hands over (CheckpointWeightsHash). `legacy`: those two by their file's
// bytes, as runs recorded until 2026-12-05 did (an identical rerun of the earlier
// arm changed them: the optimizer state and wall time differ), which still
// match their own runs.
std::string RunIdentity(const ExperimentConfig& cfg, const Arm& arm, uint64_t seed, const std::string& base_hash,
                        const RunStarts& starts, bool legacy = false) {
  std::string id = RunConfigText(cfg, arm, seed) + "# base checkpoint fnv64: " + base_hash + "\n";
  auto missing_arm = [&](const std::string& role, const std::string& other, const std::string& path) {
    return IoError("arm '" + arm.name() + "' starts from arm '" + other + "' (" + role + "), whose final checkpoint " +
                   path + " is missing (results keep no checkpoints); delete " + path.substr(0, path.rfind('/')) +
                   " to rerun that arm");
  };
  auto start_line = [&](const std::string& role, const std::string& path) {
    return legacy ? "# " + role + " checkpoint fnv64: " + HexHash(Fnv64(ReadFile(path))) + "\n"
                  : "# " + role + " weights fnv64: " + CheckpointWeightsHash(path) + "\n";
  };
  if (!starts.from.empty()) {
    if (!FileExists(starts.from)) throw missing_arm("init_from", arm.init_from(), starts.from);
    id += start_line("init_from", starts.from);
  }
  if (!starts.teacher.empty()) {  // distillation: the teacher by content
    if (!FileExists(starts.teacher)) {
      if (starts.teacher_is_arm) throw missing_arm("rft.teacher_arm", arm.rft().teacher_arm(), starts.teacher);
      throw IoError("arm '" + arm.name() + "': rft.teacher_checkpoint " + starts.teacher + ": checkpoint not found");
    }
    id += start_line("teacher", starts.teacher);
  }
  return id;
}

}  // namespace

// How many dependency rounds deep each arm is: 0 for an arm that starts from
// the base, 1 + the deepest arm it starts from or distils otherwise (a
// teacher at another size of a sweep ran before this size).
std::vector<int> DependencyRounds(const ExperimentConfig& cfg) {
  std::map<std::string, int> round;
  std::vector<int> out;
  for (const Arm& arm : cfg.arms()) {
    int r = 0;
    for (const auto& [field, name] : ArmDependencies(arm)) {
      if (field == "rft.teacher_arm" && CrossSizeTeacher(arm, cfg.name())) continue;
      const auto it = round.find(name);
      if (it != round.end()) r = std::max(r, it->second + 1);
    }
    round[arm.name()] = r;
    out.push_back(r);
  }
  return out;
}

BaseEvaluation EvaluateBase(const ExperimentConfig& bcfg, const Task& task, const std::string& base_path,
                            const std::string& base_hash, const std::string& bdir, const std::string& label,
                            Dist* shard) {
  const bool writes = !shard || shard->rank() == 0;
  BaseEvaluation out;
  bool cached = false;
  if (writes) {
    EnsureWritableDir(bdir);
    if (FileExists(bdir + "/done.json")) out.done = ReadDoneJson(bdir + "/done.json", /*run=*/false);
    cached = FileExists(bdir + "/eval.json") && out.done.base() == base_hash;
    if (cached) out.eval = ReadEvalJson(bdir + "/eval.json");
    else if (FileExists(bdir + "/eval.json"))
      std::fprintf(stderr, "%s: %s/eval.json was made from another base checkpoint; evaluating this one\n",
                   label.c_str(), bdir.c_str());
  }
  if (shard ? shard->FromRankZero(cached) != 0 : cached) return out;  // rank 0's view decides
  Transformer base = MakeModel(bcfg.model(), ModelVocab(bcfg.model()));
  LoadCheckpoint(base_path, base, nullptr);
  const EvalResult r = Evaluate(base, task, bcfg.eval(), nullptr, shard);
  out.eval = EvalToRecord(r);
  if (!writes) return out;
  WriteXzAtomic(bdir + "/" + kSamples, SamplesToJsonl(r, task));
  WriteFileAtomic(bdir + "/eval.json", EvalToJson(r) + "\n");
  DoneRecord d;
  d.set_commit(GitCommit());
  d.set_checkpoint(base_path);
  d.set_base(base_hash);
  d.set_params(static_cast<double>(base->NumParameters()));
  const std::string base_json = base_path.substr(0, base_path.size() - 3) + ".json";  // EnsureBase's record
  BaseRecord pretraining;
  RecordFromJson(ReadFile(base_json), base_json, &pretraining);
  d.set_flops(pretraining.flops());
  *d.mutable_machine() = DescribeMachine(bcfg.model().device());
  WriteFileAtomic(bdir + "/done.json", RecordToJson(d) + "\n");
  std::fprintf(stderr, "%s (held-out):\n%s", label.c_str(), EvalTable(r).c_str());
  out.done = d;
  return out;
}

bool DealsBases(const RunnerOptions& opt, size_t num_bases) {
  return opt.dist && opt.dist->world_size() > 1 && num_bases > 1 && opt.base_threads <= 0 && !opt.data_parallel;
}

void MakeBases(const std::vector<ExperimentConfig>& cfgs, const std::string& root, const RunnerOptions& opt) {
  const int rank = opt.dist ? opt.dist->rank() : 0, world = opt.dist ? opt.dist->world_size() : 1;
  const std::string cache = opt.cache_dir.empty() ? root + "/.cache" : opt.cache_dir;
  const std::string who = world > 1 ? "rank " + std::to_string(rank) + " " : "";
  int k = 0;
  for (const ExperimentConfig& cfg : cfgs) {
    const auto task = MakeTask(cfg.task());
    for (const BaseSlot& b : Bases(cfg)) {
      if (k++ % world != rank) continue;
      const ExperimentConfig bcfg = ForBase(cfg, b);
      EnsureBase(bcfg, *task, cache, who + "pretrain " + (cfgs.size() > 1 ? cfg.name() + " " : "") + b.name);
    }
  }
  if (opt.dist) opt.dist->RoundBarrier();  // every rank finds every base made
}

std::string RunExperiment(const ExperimentConfig& configured, const RunnerOptions& opt) {
  const ExperimentConfig cfg = ExpandBudgets(configured);  // one arm per budget point
  const std::string root = opt.output_dir.empty() ? cfg.output_dir() : opt.output_dir;
  if (cfg.arms_size() == 0) throw ConfigError(cfg.name() + ": arms: empty; expected at least one arm to run");
  const int rank = opt.dist ? opt.dist->rank() : 0, world = opt.dist ? opt.dist->world_size() : 1;
  const bool lead = rank == 0;
  const bool together = opt.data_parallel && world > 1;  // every rank on every run
  auto sync = [&] {
    if (opt.dist) opt.dist->RoundBarrier();
  };
  const std::string dir = root + "/" + cfg.name();
  EnsureWritableDir(dir);
  std::optional<DirLock> lock;  // one runner per folder; its other ranks work under rank 0's lock
  if (lead) lock.emplace(dir);
  const std::vector<BaseSlot> bases = Bases(cfg);
  std::vector<ExperimentConfig> base_cfg;  // cfg with each base's model.init_seed
  for (const BaseSlot& b : bases) base_cfg.push_back(ForBase(cfg, b));
  // Before anything is written: no run folder may hold a run of another config.
  // Every such folder is named at once (a pipeline stage's trials all change
  // when the trial they start from does), so one deletion clears them.
  auto identity_error = [&](const std::vector<std::string>& rdirs, const std::string& what) {
    std::string more;
    for (size_t i = 1; i < rdirs.size(); ++i) more += (i > 1 ? ", " : "") + rdirs[i];
    return ConfigError(rdirs[0] + " holds a run of " + what + " (see " + rdirs[0] + "/run_config.pbtxt)" +
                       (more.empty() ? ": delete that folder to rerun it"
                                     : "; so do " + std::to_string(rdirs.size() - 1) + " more (" + more +
                                           "): delete those folders to rerun them") +
                       ", or give the experiment another name or output_dir");
  };
  {
    std::vector<std::string> stale;
    std::string first_arm;
    for (size_t b = 0; b < bases.size(); ++b)
      for (const Arm& arm : cfg.arms())
        for (uint64_t seed : cfg.seeds()) {
          const std::string rdir = RunDir(dir, arm, bases[b], seed), path = rdir + "/run_config.pbtxt";
          if (FileExists(path) &&
              NormalizedIdentity(ReadFile(path)).rfind(RunConfigText(base_cfg[b], arm, seed), 0) != 0) {
            if (stale.empty()) first_arm = arm.name();
            stale.push_back(rdir);
          }
        }
    if (!stale.empty())
      throw identity_error(stale, "a different config (task, model, pretraining, eval or arm '" + first_arm + "')");
  }
  if (lead) WriteFileAtomic(dir + "/config.pbtxt", ConfigToText(configured));

  const auto task = MakeTask(cfg.task());
  const EvalSplit split = cfg.eval().split() == VALIDATION ? EvalSplit::kValidation : EvalSplit::kTest;
  if (cfg.eval().num_problems() > static_cast<int>(task->Split(split).size()))  // before pretraining, not after
    throw ConfigError(cfg.name() + ": eval.num_problems=" + std::to_string(cfg.eval().num_problems()) +
                      " exceeds the task's " + EvalSplitName(split) + " split (" +
                      std::to_string(task->Split(split).size()) + " problems)");
  const int vocab = ModelVocab(cfg.model());
  CheckMemory(cfg, vocab, DeviceMemoryMb(cfg.model().device()), cfg.name());
  if (together)  // before pretraining: each rank's share of a step's prompts
    for (int a = 0; a < cfg.arms_size(); ++a) {
      const Arm& arm = cfg.arms(a);
      const std::string at = "arms[" + std::to_string(a) + "]";
      if (arm.has_grpo()) ShardSize(arm.grpo().prompts_per_step(), world, at + ".grpo.prompts_per_step", cfg.name());
      if (arm.has_ppo()) ShardSize(arm.ppo().prompts_per_step(), world, at + ".ppo.prompts_per_step", cfg.name());
      if (arm.has_prm_rl())
        ShardSize(arm.prm_rl().grpo().prompts_per_step(), world, at + ".prm_rl.grpo.prompts_per_step", cfg.name());
      if (arm.has_rft()) ShardSize(arm.rft().problems_per_step(), world, at + ".rft.problems_per_step", cfg.name());
      if (arm.has_mcts()) ShardSize(arm.mcts().problems_per_step(), world, at + ".mcts.problems_per_step", cfg.name());
    }

  // Overall progress: this rank's runs done / total, and an ETA from the
  // runs this invocation has finished (skipped runs cost nothing).
  // With --data-parallel every rank takes part in every run, else each run
  // is dealt to one rank.
  const int runs = cfg.arms_size() * cfg.seeds_size() * static_cast<int>(bases.size());
  const int total_runs = together ? runs : (runs - rank + world - 1) / world;
  const std::string who = world > 1 ? "rank " + std::to_string(rank) + " " : "";
  const std::vector<int> rounds = world > 1 ? DependencyRounds(cfg) : std::vector<int>(cfg.arms_size(), 0);
  const int num_rounds = 1 + *std::max_element(rounds.begin(), rounds.end());
  int run_index = 0, timed_runs = 0, dealt = 0;
  double timed_seconds = 0;
  const std::string cache = opt.cache_dir.empty() ? root + "/.cache" : opt.cache_dir;
  // A folder's runs made from this config's base pretrained the other way
  // (by one process, or data-parallel over some rank count), which is
  // cached beside the one this invocation would pretrain: refused before
  // that pretraining, not after it, when the new base's hash is known.
  const int base_ranks = together ? world : 1;
  for (size_t b = 0; b < bases.size(); ++b) {
    const std::string one = BaseStem(base_cfg[b], cache, 1), mine = BaseStem(base_cfg[b], cache, base_ranks);
    if (FileExists(mine + ".pt") || !std::filesystem::is_directory(cache)) continue;
    for (const auto& e : std::filesystem::directory_iterator(cache)) {
      const std::string path = e.path().string();
      const bool dp = path.rfind(one + "-dp", 0) == 0 && path.size() > 3 && path.substr(path.size() - 3) == ".pt" &&
                      path.find(".partial.pt") == std::string::npos;
      if (path != one + ".pt" && !dp) continue;
      const std::string line = "# base checkpoint fnv64: " + HexHash(Fnv64(ReadFile(path))) + "\n";
      std::vector<std::string> stale;
      for (const Arm& arm : cfg.arms())
        for (uint64_t seed : cfg.seeds()) {
          const std::string rc = RunDir(dir, arm, bases[b], seed) + "/run_config.pbtxt";
          if (FileExists(rc) && ReadFile(rc).find(line) != std::string::npos) stale.push_back(rc.substr(0, rc.rfind('/')));
        }
      if (stale.empty()) continue;
      const std::string ranks = dp ? path.substr(one.size() + 3, path.size() - one.size() - 6) : "";
      throw identity_error(
          stale, "the base pretrained " + (dp ? "data-parallel over " + ranks + " ranks" : std::string("by one process")) +
                     " (" + path + "), not the one this command uses: " +
                     (base_ranks > 1 ? "with --data-parallel over " + std::to_string(base_ranks) + " ranks"
                                     : std::string("in one process")) +
                     " it pretrains its own, whose sums run in another order (run " +
                     (dp ? "with --data-parallel over " + ranks + " ranks" : std::string("without --data-parallel")) +
                     " to keep these runs)");
    }
  }
  // Several bases: dealt out (MakeBases), else rank 0 makes each while the
  // others wait.
  const bool bases_dealt = DealsBases(opt, bases.size());
  if (bases_dealt) MakeBases({cfg}, root, opt);
  for (size_t b = 0; b < bases.size(); ++b) {
    const ExperimentConfig& bcfg = base_cfg[b];
    std::string base_path;
    if (bases_dealt) {
      base_path = BaseMadeElsewhere(bcfg, cache);  // or by this rank
    } else if (together) {  // every rank pretrains it, data-parallel
      base_path = EnsureBase(bcfg, *task, cache, who + "pretrain " + bases[b].name, opt.dist);
    } else {
      if (lead) {
        const int own_threads = at::get_num_threads();
        if (opt.base_threads > 0) ConfigureThreads(opt.base_threads);  // the machine's other ranks wait
        base_path = EnsureBase(bcfg, *task, cache);
        if (opt.base_threads > 0) ConfigureThreads(own_threads);
      }
      sync();  // the other ranks find it cached
      if (!lead) base_path = BaseMadeElsewhere(bcfg, cache);
    }
    // The base's bytes identify it: runs and the base evaluation record them,
    // and neither is reused across a change of base.
    const std::string base_hash = HexHash(Fnv64(ReadFile(base_path)));
    std::vector<std::string> stale;
    std::string first_what;
    for (const Arm& arm : cfg.arms())
      for (uint64_t seed : cfg.seeds()) {
        const std::string rdir = RunDir(dir, arm, bases[b], seed), path = rdir + "/run_config.pbtxt";
        const RunStarts starts = StartsOf(dir, cfg.name(), arm, bases[b], seed);
        // A finished stage whose earlier arm's checkpoint is gone (committed results) is kept as it is.
        if (starts.ArmMissing() && FileExists(rdir + "/done.json")) continue;
        if (!FileExists(path)) continue;
        const std::string stored = NormalizedIdentity(ReadFile(path)), now = RunIdentity(bcfg, arm, seed, base_hash, starts);
        if (stored == now) continue;
        if ((!starts.from.empty() || !starts.teacher.empty()) &&
            stored == RunIdentity(bcfg, arm, seed, base_hash, starts, /*legacy=*/true))
          continue;
        if (stale.empty())
          first_what = std::string("another base checkpoint") +
                       (starts.from.empty() && starts.teacher.empty() ? "" : " or of another checkpoint it starts from") +
                       " (the base in use, " + base_path + ", has fnv64 " + base_hash + ")" +
                       FirstDifference(stored, now);
        stale.push_back(rdir);
      }
    if (!stale.empty()) throw identity_error(stale, first_what);
    // Data-parallel ranks share the base's evaluation; the sampling ends in
    // a long barrier, so a rank whose share took longer is waited for.
    if (lead || together)
      EvaluateBase(bcfg, *task, base_path, base_hash, dir + "/" + bases[b].name, bases[b].name,
                   together ? opt.dist : nullptr);
    // One run: `shared`, its steps data-parallel over every rank, rank 0
    // writing its files; else this rank's alone.
    auto run_one = [&](const Arm& arm, uint64_t seed, bool shared) {
      ++run_index;
      const std::string rdir = RunDir(dir, arm, bases[b], seed);
      EnsureWritableDir(rdir);
      const std::string done = rdir + "/done.json";
      // A shared run is rank 0's to skip, and every rank starts from rank
      // 0's view of the checkpoints it starts from; a dealt run in a later
      // round, from checkpoints other ranks may have written.
      if (shared ? opt.dist->FromRankZero(lead && FileExists(done)) != 0 : FileExists(done)) return;
      const RunStarts starts = StartsOf(dir, cfg.name(), arm, bases[b], seed);
      for (const std::string& from : {starts.from, starts.teacher_is_arm ? starts.teacher : std::string()}) {
        if (from.empty() || world == 1) continue;
        if (shared) ShareRankZerosFile(*opt.dist, from, lead && FileExists(from));
        else WaitForFile(from, "the checkpoint of an arm this run starts from");
      }
      if (lead || !shared) WriteFileAtomic(rdir + "/run_config.pbtxt", RunIdentity(bcfg, arm, seed, base_hash, starts));
      const std::string eta = timed_runs > 0 ? Progress::FormatDuration(timed_seconds / timed_runs *
                                                                        (total_runs - run_index + 1))
                                             : "?";
      const std::string label =
          who + arm.name() + (bases[b].own_folders ? " " + bases[b].name : "") + " seed " + std::to_string(seed);
      std::fprintf(stderr, "[run %d/%d] %s (overall ETA %s)\n", run_index, total_runs, label.c_str(), eta.c_str());
      const auto t0 = Clock::now();
      ReleaseFreeMemory();  // what earlier runs freed, so one process does not grow run after run
      ResetPeakMemory();
      Transformer policy = MakeModel(bcfg.model(), vocab);
      LoadCheckpoint(starts.from.empty() ? base_path : starts.from, policy, nullptr);
      Arm run_arm = arm;  // a teacher arm, resolved to its checkpoint for the strategy
      if (starts.teacher_is_arm) {
        run_arm.mutable_rft()->clear_teacher_arm();
        run_arm.mutable_rft()->clear_teacher_size();
        run_arm.mutable_rft()->set_teacher_checkpoint(starts.teacher);
      }
      const std::string ckpt = rdir + "/checkpoint.pt";
      const std::string metrics_path = rdir + "/" + kMetrics;
      const bool writes = lead || !shared;  // a shared run's files are rank 0's
      double wall_before = 0;  // earlier segments of an interrupted run
      std::optional<JsonlWriter> metrics;
      if (writes) {
        if (FileExists(ckpt)) wall_before = ResumeFromCheckpoint(ckpt, metrics_path);
        else std::remove(metrics_path.c_str());
        for (const char* suffix : {".xz", ".gz"})  // from a finish cut short before done.json
          std::remove((metrics_path + suffix).c_str());
        metrics.emplace(metrics_path);
      }
      FlopCounter flops;
      StrategyContext ctx;
      ctx.experiment = &bcfg;
      ctx.arm = &run_arm;
      ctx.seed = seed;
      const TrainPromptsWhere verifiable(*task, true, "train_prompts: VERIFIABLE_PROMPTS");
      ctx.task = arm.train_prompts() == VERIFIABLE_PROMPTS ? static_cast<const Task*>(&verifiable) : task.get();
      ctx.policy = &policy;
      ctx.flops = &flops;
      ctx.metrics = metrics ? &*metrics : nullptr;
      ctx.checkpoint_path = ckpt;
      ctx.checkpoint_read_only = !writes;
      ctx.data_parallel = shared ? opt.dist : nullptr;
      ctx.label = label;
      // The loop always evaluates after its last step, so that result is the
      // final one; only a run resumed at its very end needs a fresh eval.
      std::optional<EvalResult> last;
      // A shared run's evaluations are shared too: each rank samples its
      // share of the problems, and every rank has the whole result.
      Dist* eval_shard = shared ? opt.dist : nullptr;
      ctx.evaluate = [&](int64_t) {
        last = Evaluate(policy, *task, cfg.eval(), nullptr, eval_shard);
        return EvalToRecord(*last);
      };
      MakeStrategy(run_arm)->Train(ctx);
      if (!last) last = Evaluate(policy, *task, cfg.eval(), nullptr, eval_shard);
      if (!writes) return;
      const double train_flops = flops.Total();
      const EvalResult& r = *last;
      WriteXzAtomic(rdir + "/" + kSamples, SamplesToJsonl(r, *task));
      WriteFileAtomic(rdir + "/eval.json", EvalToJson(r) + "\n");
      // A finished run's metrics are kept compressed and rounded (a ninth
      // of the bytes); the plain file is what an unfinished run resumes from.
      WriteXzAtomic(metrics_path, RoundMetrics(ReadFile(metrics_path)));
      const double wall = wall_before + SecondsSince(t0);
      timed_seconds += SecondsSince(t0);
      ++timed_runs;
      std::fprintf(stderr, "%s: held-out pass@1 %.1f%%, %.3g FLOPs (budget %s), %.0f s\n", ctx.label.c_str(),
                   100 * r.pass1, train_flops,
                   arm.flop_budget() > 0 ? JsonNumber(arm.flop_budget()).c_str() : "none", wall);
      DoneRecord d;
      d.set_commit(GitCommit());
      d.set_flops(train_flops);
      FlopsByPhase* phases = d.mutable_flops_by_phase();
      for (int ph = 0; ph < static_cast<int>(FlopPhase::kCount); ++ph) {
        const auto* f = FlopsByPhase::descriptor()->FindFieldByName(FlopPhaseName(static_cast<FlopPhase>(ph)));
        R1_CHECK(f, "FlopsByPhase lacks a FLOP phase");
        phases->GetReflection()->SetDouble(phases, f, flops.Get(static_cast<FlopPhase>(ph)));
      }
      d.set_oracle_calls(flops.OracleCalls());
      d.set_flop_budget(arm.flop_budget());
      d.set_wall_s(wall);
      d.set_checkpoint(ckpt);
      d.set_base(base_hash);
      *d.mutable_machine() = DescribeMachine(bcfg.model().device());
      d.set_peak_memory_mb(PeakMemoryMb());
      WriteFileAtomic(done, RecordToJson(d) + "\n");
      std::remove(metrics_path.c_str());
    };
    for (int round = 0; round < num_rounds; ++round) {
      // The arms this round starts from are done, on every rank; a shared
      // run's all-reduces would not wait for a rank still making its base.
      if (round > 0 || together) sync();
      // Each run to one rank; with --data-parallel every rank steps through
      // each run together.
      for (int a = 0; a < cfg.arms_size(); ++a) {
        if (rounds[static_cast<size_t>(a)] != round) continue;
        for (uint64_t seed : cfg.seeds()) {
          if (!together) {
            if (dealt++ % world == rank) run_one(cfg.arms(a), seed, false);
            continue;
          }
          run_one(cfg.arms(a), seed, true);
          sync();  // rank 0 has written it
        }
      }
    }
    // Every run of this base is done before the summary, and before rank 0
    // makes the next base; dealt bases are all made, so ranks go on.
    if (!bases_dealt || b + 1 == bases.size()) sync();
  }
  // Rank 0 reports every run, and under `r1lab tune` every rank scores
  // them: each waits for the other ranks' files to show.
  if (world > 1)
    for (const BaseSlot& b : bases) {
      for (const char* f : {"/done.json", "/eval.json"}) WaitForFile(dir + "/" + b.name + f, "rank 0's base evaluation");
      for (const Arm& arm : cfg.arms())
        for (uint64_t seed : cfg.seeds())
          for (const char* f : {"/done.json", "/eval.json"})  // done.json is written last
            WaitForFile(RunDir(dir, arm, b, seed) + f, "a run another rank finished");
    }
  return lead ? WriteReport(configured, dir) : std::string();
}

int RoundMetricsFiles(const std::string& dir) {
  if (!std::filesystem::is_directory(dir)) throw IoError(dir + ": not a folder");
  std::vector<std::string> paths;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir))
    if (e.is_regular_file() && (e.path().filename() == kMetricsXz || e.path().filename() == std::string(kMetrics) + ".gz"))
      paths.push_back(e.path().string());  // r1lab's own, or its gzip from before
  std::sort(paths.begin(), paths.end());
  DirLock lock(dir);
  int changed = 0;
  for (const std::string& path : paths) {
    const std::string text = ReadText(path);
    const std::string rounded = RoundMetrics(text);
    if (rounded == text) continue;
    WriteFileAtomic(path, std::filesystem::path(path).extension() == ".xz" ? Xz(rounded) : Gzip(rounded));
    ++changed;
  }
  return changed;
}

std::string RewriteReport(const std::string& dir) {
  ExperimentConfig cfg;
  LoadValidConfigFile(dir + "/config.pbtxt", &cfg);
  if (cfg.sizes_size() > 0) {  // a size sweep: each size's folder, then the sweep's tables
    for (const ModelSize& s : cfg.sizes()) RewriteReport(dir + "/" + s.name());
    return WriteSizeReport(cfg, dir);
  }
  DirLock lock(dir);
  return WriteReport(cfg, dir);
}

}  // namespace r1lab

// r1lab: the command line. Library code throws typed errors; this is the one
// place that turns them into a message and an exit code.
#include <torch/torch.h>

#include <unistd.h>

#include <google/protobuf/text_format.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "checkpoint.h"
#include "interrupt.h"
#include "commands.h"
#include "config.h"
#include "error.h"
#include "evaluator.h"
#include "generate.h"
#include "io.h"
#include "json.h"
#include "label_study.h"
#include "prm_study.h"
#include "math_equiv.h"
#include "report.h"
#include "rescore.h"
#include "runner.h"
#include "sizes.h"
#include "tune.h"
#include "search_cmd.h"
#include "threads.h"
#include "machine.h"
#include "memory.h"
#include "tokenizer.h"
#include "dist.h"

namespace r1lab {
namespace {

constexpr const char* kUsage = R"(usage: r1lab <command> [args]

commands:
  run [CONFIG] [--out DIR] [--quick] [--untuned] [--nproc N] [--data-parallel]
                                      run an experiment (no CONFIG: the embedded default,
                                      experiments/r1_zero_vs_failures.pbtxt); --quick: one
                                      seed, a third of the budgets, a short base (first look);
                                      CONFIG's tuning (CONFIG.tuned.pbtxt beside it, from
                                      r1lab tune) applies unless --untuned; a size sweep
                                      (sizes) runs each size, then the sweep's summary;
                                      --nproc N: N local ranks share the runs (several
                                      machines: torchrun's RANK, WORLD_SIZE, MASTER_ADDR,
                                      MASTER_PORT in each machine's environment, one shared
                                      --out; R1LAB_SHARED_FOLDER_WAIT_S, 120: how long a rank
                                      waits for another's file to show), each run on one
                                      rank; with --data-parallel every rank shares
                                      every run's steps (prompts, problems or rows split,
                                      gradients summed), the base's pretraining, reward
                                      and value models' labelling and every evaluation
  tune CONFIG [--out DIR] [--again] [--nproc N]
                                      equal tuning: every arm's trials (tune.trials, each at
                                      tune.budget_scale of its budget) scored on the
                                      validation split; writes CONFIG.tuned.pbtxt beside CONFIG
                                      (a size sweep: CONFIG.<size>.tuned.pbtxt for each size;
                                      a size whose file is current is kept unless --again);
                                      --nproc N: N ranks share each round's trials, as in run
  pretrain [CONFIG] [--out CKPT]      SFT the base model on teacher traces; prints its path
  eval CKPT [--config CONFIG] [--out DIR] [--problems N] [--samples N] [--split test|validation]
            [--nproc N]
                                      held-out evaluation (the test split unless told):
                                      prints a table, writes DIR/eval.json and
                                      DIR/samples.jsonl.xz; --nproc N (or torchrun's
                                      environment): N ranks share the problems, with one
                                      process's samples
  sample CKPT --prompt TEXT [--n N] [--temperature T] [--seed S]
                                      sample completions for one prompt
  label-quality CKPT [--config CONFIG] [--traces M] [--max-n N] [--seed S] [--out DIR]
                                      Monte Carlo step labels from the checkpoint's own samples
                                      against per-step truth, by segmenter and N (arith)
  prm-study CKPT [--config CONFIG] [--label-traces M] [--label-n N] [--soft] [--truth]
                 [--train-steps S] [--problems P] [--candidates K] [--seed S] [--out DIR]
                                      label the base's samples, train a PRM and an ORM, and
                                      compare best-of-N selection on held-out problems (arith);
                                      --truth: step labels from the task's step truth
  search CKPT [--config CONFIG] [--problems P] [--simulations S[,S...]] [--max-children C[,C...]]
              [--leaf-batch B] [--trees T] [--first-play Q] [--uct] [--steps] [--seed S]
              [--dot FILE] [--value-net M] [--out MD]
                                      MCTS as play on held-out problems, T at a time (0 =
                                      all) with B leaves per tree per batched call (nodes:
                                      tokens, or with --steps sampled lines, C per leaf),
                                      against sampling at the same FLOPs; a row per (S, C);
                                      FILE: the first problem's tree as Graphviz DOT; M > 0:
                                      leaf values from a value network trained on M of the
                                      policy's samples (no gold); Q: an absolute first-play
                                      value (default: the parent's value minus
                                      search.fpu_reduction, KataGo); any other tree setting
                                      with --set search.FIELD=VALUE (SearchConfig), e.g.
                                      --set search.c_puct=2.5 --set search.dirichlet_alpha=0.3
  report DIR [--round-metrics]        rewrite DIR's summary and plots from its run files;
                                      --round-metrics: first round the finished metrics of runs
                                      finished before 2026-12-06 to 9 significant digits, as
                                      runs write them now
  rescore DIR [--update]              recompute DIR's eval.json files and tables from its
                                      samples.jsonl.xz with the current verifier; exit 1 and
                                      say where if anything differs; --update: rewrite the
                                      eval.json of folders whose verdicts all still hold (a
                                      metric whose definition changed, or added since), and
                                      the summary
  table DIR... [--csv]                one table from several experiment folders' summary.csv
  verify --task T [--input FILE] [--rel-tol X] [--language-weight W] [--extract tagged|free-text]
                                      judge JSONL records (stdin or FILE), one JSON line
                                      out per line in; T: math, arith, countdown, graph, code;
                                      free-text (math): also "the answer is X", the last number
  config [CONFIG]                     print the resolved config
  lm-generate FOLDER --prompt TEXT [--max-new-tokens N] [--temperature T] [--seed S]
                                      a Hugging Face model folder (Llama, Qwen2) continues
                                      TEXT: greedy unless T > 0; stops where a run's
                                      samples do (any eos_token_id, else end-of-text)
  lm-bench [--device cpu|cuda] [--shape qwen2.5-0.5b|small] [--batch B] [--prompt P] [--new-tokens N] [--json F]
           [--save DIR]
                                      the Llama/Qwen2 decoder with random weights: GEMM
                                      rate, prefill and decode tokens/s with MFU, a training
                                      step (bf16 with fp32 master weights on CUDA); DIR: also
                                      write the random model as a Hugging Face folder
                                      (config.json, bf16 model.safetensors; no tokenizer)
  bench [--quick] [--compare]         machine ceilings, decoding and training speed;
                                      --compare: side by side with the peers in
                                      bench/compare/ that are installed (R1LAB_PEER_PYTHON)

common flags:
  --threads N                         commands that train, evaluate or search: LibTorch threads
                                      (default: the config's, else all cores)
  --set PATH=VALUE                    commands that read an experiment config: override any of its
                                      fields, repeatable:
                                      --set arms[grpo].grpo.optim.lr=3e-4 --set seeds=[1]
)";

struct Args {
  std::vector<std::string> positional;
  std::map<std::string, std::string> flags;
  std::string Get(const std::string& k, const std::string& def = "") const {
    auto it = flags.find(k);
    return it == flags.end() ? def : it->second;
  }
  bool has(const std::string& k) const { return flags.count(k) > 0; }
  std::vector<std::string> sets;  // --set path=value, in order (commands that read a config)
};

// The arguments after "r1lab", space-joined (for provenance in written files).
std::string CommandLine(int argc, char** argv) {
  std::string out;
  for (int i = 1; i < argc; ++i) out += std::string(i > 1 ? " " : "") + argv[i];
  return out;
}

Args Parse(int argc, char** argv, int first, const std::vector<std::string>& value_flags,
           const std::vector<std::string>& bool_flags) {
  Args a;
  for (int i = first; i < argc; ++i) {
    std::string s = argv[i];
    if (s.rfind("--", 0) == 0) {
      const std::string name = s.substr(2);
      if (name == "set" && std::find(value_flags.begin(), value_flags.end(), "set") != value_flags.end()) {
        if (i + 1 >= argc) throw ConfigError("flag --set needs path.to.field=value");
        a.sets.push_back(argv[++i]);
      } else if (std::find(bool_flags.begin(), bool_flags.end(), name) != bool_flags.end()) {
        a.flags[name] = "1";
      } else if (std::find(value_flags.begin(), value_flags.end(), name) != value_flags.end()) {
        if (i + 1 >= argc) throw ConfigError("flag --" + name + " needs a value");
        a.flags[name] = argv[++i];
      } else {
        throw ConfigError("unknown flag " + s + "\n" + kUsage);
      }
    } else {
      a.positional.push_back(s);
    }
  }
  return a;
}

int ParseInt(const std::string& flag, const std::string& v, int lo, int hi) {
  char* end = nullptr;
  const long x = std::strtol(v.c_str(), &end, 10);
  if (v.empty() || *end || x < lo || x > hi)
    throw ConfigError("--" + flag + ": '" + v + "' is not an integer in [" + std::to_string(lo) + ", " +
                      std::to_string(hi) + "]");
  return static_cast<int>(x);
}

double ParseDouble(const std::string& flag, const std::string& v, double lo, double hi) {
  char* end = nullptr;
  const double x = std::strtod(v.c_str(), &end);
  if (v.empty() || *end || !(x >= lo && x <= hi))
    throw ConfigError("--" + flag + ": '" + v + "' is not a number in [" + JsonNumber(lo) + ", " + JsonNumber(hi) + "]");
  return x;
}

// The model a checkpoint holds, built from the config stored in it.
Transformer LoadModel(const std::string& ckpt) {
  Transformer model = MakeModel(ReadCheckpointConfig(ckpt));
  LoadCheckpoint(ckpt, model, nullptr);
  return model;
}

// The scalar fields `configured` sets to other values than `stored` (a
// checkpoint's model), as "d_model 64 (the checkpoint's 96), ...".
std::string ModelDifferences(const ModelConfig& configured, const ModelConfig& stored) {
  namespace pb = google::protobuf;
  std::string out;
  const pb::Descriptor* d = ModelConfig::descriptor();
  const pb::Reflection* r = ModelConfig::GetReflection();
  for (int i = 0; i < d->field_count(); ++i) {
    const pb::FieldDescriptor* f = d->field(i);
    if (f->is_repeated() || f->cpp_type() == pb::FieldDescriptor::CPPTYPE_MESSAGE || !r->HasField(configured, f))
      continue;
    std::string want, have;
    pb::TextFormat::PrintFieldValueToString(configured, f, -1, &want);
    pb::TextFormat::PrintFieldValueToString(stored, f, -1, &have);
    if (want != have) out += (out.empty() ? "" : ", ") + f->name() + " " + want + " (the checkpoint's " + have + ")";
  }
  return out;
}

void SetThreads(const Args& a, int config_threads) {
  int n = config_threads;
  if (a.flags.count("threads")) n = ParseInt("threads", a.Get("threads"), 1, 1024);
  ConfigureThreads(n);
}

std::string OptionalConfig(const Args& a) {
  if (a.positional.size() > 1) throw ConfigError("expected at most one CONFIG argument\n" + std::string(kUsage));
  return a.positional.empty() ? "" : a.positional[0];
}

// `run` and `tune` on several ranks. With --nproc N (N > 1) this process
// checks the config once (a bad config is one error, not one per rank),
// starts N local ranks of the same command and returns their exit code.
std::optional<int> LaunchIfAsked(const Args& a, int argc, char** argv, const std::function<void()>& check_config) {
  if (!a.has("nproc")) return std::nullopt;
  const int n = ParseInt("nproc", a.Get("nproc"), 1, 256);
  if (DistEnvFrom().world_size > 1) throw ConfigError("--nproc with RANK and WORLD_SIZE already set (a launcher started this)");
  check_config();
  if (n > 1) return LaunchRanks(argc, argv, n);
  return std::nullopt;
}

// This process's rank (torchrun's environment, or LaunchIfAsked's) joins
// the others; its threads are set: ranks sharing a machine share its cores
// unless told otherwise, and the bases, pretrained by rank 0 alone, get
// them all. Returns null for a single process.
std::unique_ptr<Dist> JoinRanks(const Args& a, int config_threads, RunnerOptions* opt) {
  const DistEnv env = DistEnvFrom();
  const char* local_world = std::getenv("LOCAL_WORLD_SIZE");
  const int per_machine = env.world_size > 1 && local_world ? std::max(1, std::atoi(local_world)) : 1;
  const int cores = static_cast<int>(std::thread::hardware_concurrency());
  SetThreads(a, config_threads > 0 || per_machine == 1 ? config_threads : std::max(1, cores / per_machine));
  std::unique_ptr<Dist> dist;
  if (env.world_size > 1) dist = std::make_unique<Dist>(env, std::chrono::seconds(120));
  opt->dist = dist.get();
  if (per_machine > 1 && config_threads <= 0 && !a.has("threads")) opt->base_threads = cores;
  return dist;
}

int CmdRun(int argc, char** argv) {
  const Args a = Parse(argc, argv, 2, {"out", "threads", "set", "nproc"}, {"quick", "untuned", "data-parallel"});
  const bool tuned = a.flags.count("untuned") == 0, quick = a.flags.count("quick") > 0;
  if (const auto code = LaunchIfAsked(a, argc, argv, [&] { LoadExperiment(OptionalConfig(a), a.sets, tuned, /*strict=*/true); }))
    return *code;
  ExperimentConfig cfg = LoadExperiment(OptionalConfig(a), a.sets, tuned, /*strict=*/true);
  std::vector<ExperimentConfig> sizes;  // a size sweep's experiments
  if (cfg.sizes_size() > 0) sizes = LoadSizes(OptionalConfig(a), a.sets, tuned, /*strict=*/true);
  if (quick) {
    cfg = QuickVariant(cfg);
    for (ExperimentConfig& s : sizes) {
      const std::string name = s.name();  // the size's folder keeps its name
      s = QuickVariant(s);
      s.set_name(name);
    }
  }
  RunnerOptions opt;
  const std::unique_ptr<Dist> dist = JoinRanks(a, cfg.threads(), &opt);
  opt.output_dir = a.Get("out");
  opt.data_parallel = a.flags.count("data-parallel") > 0;
  if (dist) {
    std::string experiment = "run\n" + ConfigToText(cfg) + (opt.data_parallel ? "--data-parallel\n" : "");
    for (const ExperimentConfig& s : sizes) experiment += ConfigToText(s);
    CheckRanksShare(*dist, experiment, opt.output_dir.empty() ? cfg.output_dir() : opt.output_dir);
  }
  const std::string md = sizes.empty() ? RunExperiment(cfg, opt) : RunSizes(cfg, sizes, opt);
  if (dist && dist->rank() != 0) return 0;  // rank 0 prints the summary
  const std::string dir = (opt.output_dir.empty() ? cfg.output_dir() : opt.output_dir) + "/" + cfg.name();
  std::printf("%s\nresults: %s/summary.md\n", md.c_str(), dir.c_str());
  // The committed reference of the same experiment, when there is one, to
  // compare with (its provenance says where its numbers were made).
  const std::string reference = "results/" + cfg.name() + "/summary.md";
  if (FileExists(reference) && !std::filesystem::equivalent(reference, dir + "/summary.md"))
    std::printf("\ncommitted reference (%s):\n\n%s", reference.c_str(), ReadFile(reference).c_str());
  return 0;
}

int CmdTune(int argc, char** argv) {
  const Args a = Parse(argc, argv, 2, {"out", "threads", "set", "nproc"}, {"again"});
  const std::string path = OptionalConfig(a);
  if (path.empty()) throw ConfigError("tune needs an experiment file (its tuning is written beside it)\n" + std::string(kUsage));
  if (const auto code = LaunchIfAsked(a, argc, argv, [&] { LoadExperiment(path, a.sets, /*tuned=*/false); })) return *code;
  const ExperimentConfig cfg = LoadExperiment(path, a.sets, /*tuned=*/false);
  RunnerOptions opt;
  const std::unique_ptr<Dist> dist = JoinRanks(a, cfg.threads(), &opt);
  const bool lead = !dist || dist->rank() == 0;  // every rank tunes alike; rank 0 writes and prints
  opt.output_dir = a.Get("out");
  if (dist)
    CheckRanksShare(*dist, "tune\n" + ConfigToText(cfg) + (a.flags.count("again") ? "--again\n" : ""),
                    opt.output_dir.empty() ? cfg.output_dir() : opt.output_dir);
  std::map<std::string, TuneRecord> sizes_tuned;  // a size sweep's sizes so far, for rft.teacher_size
  auto tune = [&](const ExperimentConfig& c, const RunnerOptions& o, const std::string& out) {
    const TuneRecord rec = Tune(c, o, sizes_tuned);
    sizes_tuned[c.name()] = rec;
    if (!lead) return;
    WriteFileAtomic(out, "# Written by `r1lab tune " + path + "`: what each arm tried and chose, scored on the "
                         "validation split.\n# `r1lab run " + path + "` applies the chosen values (--untuned: as "
                         "configured).\n" + ConfigToText(rec));
    ExperimentConfig shown = c;
    *shown.mutable_tuned() = rec;
    std::printf("%s\ntuning: %s\n", TuningSection(shown).c_str(), out.c_str());
  };
  if (cfg.sizes_size() == 0) {
    tune(cfg, opt, TunedPath(path));
    return 0;
  }
  // A size sweep: each size tuned on its own base, into the sweep's folder.
  const std::string root = opt.output_dir.empty() ? cfg.output_dir() : opt.output_dir;
  RunnerOptions each = opt;
  each.output_dir = root + "/" + cfg.name();
  each.cache_dir = root + "/.cache";
  // A size whose tuned file is current is kept (its trials are not run
  // again), except the chosen trials that later sizes distil from.
  const std::vector<ExperimentConfig> sizes = LoadSizes(path, a.sets, /*tuned=*/false);
  std::set<std::string> teachers;  // arms of the first size that others distil
  for (const ExperimentConfig& size : sizes)
    for (const Arm& arm : size.arms())
      if (CrossSizeTeacher(arm, size.name())) teachers.insert(arm.rft().teacher_arm());
  for (const ExperimentConfig& size : sizes) {
    const std::string out = TunedPath(path, size.name());
    TuneRecord kept;
    if (!a.flags.count("again") && FileExists(out)) {
      ParseConfigText(ReadFile(out), out, &kept);
      if (TuningIsCurrent(size, kept)) {
        if (lead) std::printf("%s: %s is current; kept (--again tunes it anew)\n", size.name().c_str(), out.c_str());
        if (size.name() == sizes[0].name()) RunChosenTrials(size, each, kept, teachers);
        sizes_tuned[size.name()] = kept;
        continue;
      }
    }
    tune(size, each, out);
  }
  return 0;
}

int CmdPretrain(int argc, char** argv) {
  const Args a = Parse(argc, argv, 2, {"out", "threads", "set"}, {});
  const ExperimentConfig cfg = LoadExperiment(OptionalConfig(a), a.sets);
  SetThreads(a, cfg.threads());
  const auto task = MakeTask(cfg.task());
  if (cfg.sizes_size() > 0) {  // a size sweep: each size's base, into the cache
    if (a.flags.count("out"))
      throw ConfigError("pretrain --out: " + OptionalConfig(a) + " is a size sweep (" +
                        std::to_string(cfg.sizes_size()) + " sizes); without --out each size's base is cached");
    for (const ExperimentConfig& size : LoadSizes(OptionalConfig(a), a.sets)) {
      CheckMemory(size, ModelVocab(size.model()), DeviceMemoryMb(size.model().device()), size.name());
      std::printf("%s: %s\n", size.name().c_str(), EnsureBase(size, *task, cfg.output_dir() + "/.cache").c_str());
    }
    return 0;
  }
  CheckMemory(cfg, ModelVocab(cfg.model()), DeviceMemoryMb(cfg.model().device()), cfg.name());
  std::string path = EnsureBase(cfg, *task, cfg.output_dir() + "/.cache");
  if (a.flags.count("out")) {
    const std::string out = a.Get("out");
    const auto parent = std::filesystem::path(out).parent_path();
    if (!parent.empty()) EnsureWritableDir(parent.string());
    WriteFileAtomic(out, ReadFile(path));
    path = out;
  }
  std::printf("%s\n", path.c_str());
  return 0;
}

// The config a checkpoint was trained under: the experiment's config.pbtxt
// for a run's checkpoint (EXP/runs/ARM/seed-N/ holds run_config.pbtxt), or
// base-HASH.pbtxt beside a cached base (*base). "" if there is none.
std::string ConfigBesideCheckpoint(const std::string& ckpt, bool* base) {
  namespace fs = std::filesystem;
  const fs::path p(ckpt);
  const fs::path experiment = p.parent_path().parent_path().parent_path().parent_path() / "config.pbtxt";
  *base = false;
  if (FileExists((p.parent_path() / "run_config.pbtxt").string()) && FileExists(experiment.string()))
    return experiment.string();
  fs::path base_config = p;
  base_config.replace_extension(".pbtxt");
  *base = true;
  return p.extension() == ".pt" && FileExists(base_config.string()) ? base_config.string() : "";
}

int CmdEval(int argc, char** argv) {
  const Args a = Parse(argc, argv, 2, {"config", "out", "problems", "samples", "split", "threads", "set", "nproc"}, {});
  if (a.positional.size() != 1) throw ConfigError("eval needs exactly one checkpoint path\n" + std::string(kUsage));
  const std::string split_name = a.flags.count("split") ? a.Get("split") : "test";
  if (split_name != "test" && split_name != "validation")
    throw ConfigError("eval --split: expected test or validation, got '" + split_name + "'");
  std::string config = a.Get("config");
  bool base = false;
  // Said once: by rank 0, not by a launcher of ranks (--nproc N) too.
  const bool says = DistEnvFrom().rank == 0 && !(a.has("nproc") && a.Get("nproc") != "1");
  if (config.empty()) {  // the task the checkpoint was trained on, not the built-in one
    config = ConfigBesideCheckpoint(a.positional[0], &base);
    if (says)
      std::fprintf(stderr, "eval: config %s\n",
                 config.empty() ? "built-in (no run's or base's config beside the checkpoint; --config to choose)"
                                : config.c_str());
  }
  // A base's config holds its model, task and pretraining only.
  const ExperimentConfig cfg = base && !config.empty()
                                   ? LoadExperimentText("name: \"base\" seeds: 1\n" + ReadFile(config), config, a.sets)
                                   : LoadExperiment(config, a.sets);
  const std::string ckpt = a.positional[0];
  EvalConfig ev = cfg.eval();
  ev.set_split(split_name == "validation" ? VALIDATION : TEST);
  if (a.flags.count("problems")) ev.set_num_problems(ParseInt("problems", a.Get("problems"), 1, 1000000));
  if (a.flags.count("samples")) ev.set_samples_per_problem(ParseInt("samples", a.Get("samples"), 1, 4096));
  if (const auto code = LaunchIfAsked(a, argc, argv, [] {})) return *code;  // the options are checked
  RunnerOptions ranks;
  const std::unique_ptr<Dist> dist = JoinRanks(a, cfg.threads(), &ranks);
  const bool lead = !dist || dist->rank() == 0;  // the ranks share the sampling; rank 0 prints and writes
  const std::string out = a.Get("out");
  if (!out.empty() && lead) EnsureWritableDir(out);
  // Only rank 0 writes, so --out need not be shared: the command alone is compared.
  if (dist) CheckRanksShare(*dist, "eval\n" + ckpt + "\n" + ConfigToText(cfg) + ConfigToText(ev) + out, "");
  Transformer model = LoadModel(ckpt);
  // The checkpoint's model is evaluated; say where the config asked for another.
  const std::string differs = ModelDifferences(cfg.model(), model->config());
  if (!differs.empty() && lead)
    std::fprintf(stderr, "warning: eval: %s is evaluated as the model it holds; the config's model section differs "
                 "(%s) and is not used\n", ckpt.c_str(), differs.c_str());
  const auto task = MakeTask(cfg.task());
  const EvalResult r = Evaluate(model, *task, ev, nullptr, dist.get());
  if (!lead) return 0;
  std::printf("%s: %s", ckpt.c_str(), EvalTable(r).c_str());
  if (!out.empty()) {
    WriteXzAtomic(out + "/" + kSamples, SamplesToJsonl(r, *task));
    WriteFileAtomic(out + "/eval.json", EvalToJson(r) + "\n");
    std::printf("wrote %s/eval.json and %s/%s\n", out.c_str(), out.c_str(), kSamplesXz);
  }
  return 0;
}

int CmdSample(int argc, char** argv) {
  const Args a = Parse(argc, argv, 2, {"prompt", "n", "temperature", "seed", "threads", "max-new"}, {});
  if (a.positional.size() != 1) throw ConfigError("sample needs exactly one checkpoint path\n" + std::string(kUsage));
  if (!a.flags.count("prompt")) throw ConfigError("sample needs --prompt TEXT");
  SetThreads(a, 0);
  const std::string ckpt = a.positional[0];
  Transformer model = LoadModel(ckpt);
  const std::vector<int> prompt = model->tokenizer().EncodePrompt(a.Get("prompt"));
  const int n = ParseInt("n", a.Get("n", "4"), 1, 4096);
  GenerateOptions opt;
  opt.sampling.set_temperature(ParseDouble("temperature", a.Get("temperature", "1"), 0, 100));
  opt.sampling.set_max_new_tokens(ParseInt("max-new", a.Get("max-new", "64"), 1, 65536));
  opt.seed = static_cast<uint64_t>(ParseInt("seed", a.Get("seed", "0"), 0, 2147483647));
  const auto gens = Generate(model, std::vector<std::vector<int>>(n, prompt), opt);
  for (size_t i = 0; i < gens.size(); ++i) {
    const std::string text = model->tokenizer().Decode(gens[i].tokens);
    const Extraction x = ExtractTaggedAnswer(text);
    std::printf("--- sample %zu (%zu tokens%s) answer: %s\n%s\n", i, gens[i].tokens.size(),
                gens[i].truncated ? ", truncated" : "", x.ok ? x.answer.c_str() : ("(" + x.error + ")").c_str(),
                text.c_str());
  }
  return 0;
}

int CmdLabelQuality(int argc, char** argv) {
  const Args a = Parse(argc, argv, 2, {"config", "traces", "max-n", "seed", "threads", "out", "set"}, {});
  if (a.positional.size() != 1)
    throw ConfigError("label-quality needs exactly one checkpoint path\n" + std::string(kUsage));
  ExperimentConfig cfg = LoadExperiment(a.Get("config"), a.sets);
  SetThreads(a, cfg.threads());
  const std::string ckpt = a.positional[0];
  Transformer model = LoadModel(ckpt);
  const auto task = MakeTask(cfg.task());
  const int max_n = ParseInt("max-n", a.Get("max-n", "16"), 1, 1024);
  if ((max_n & (max_n - 1)) != 0) throw ConfigError("--max-n: " + std::to_string(max_n) + " is not a power of two");
  const LabelStudy s = StudyLabels(model, *task, cfg.eval().sampling(), ParseInt("traces", a.Get("traces", "200"), 1, 100000),
                                   max_n, static_cast<uint64_t>(ParseInt("seed", a.Get("seed", "1"), 0, 1 << 30)));
  const std::string table = LabelStudyTable(s);
  std::printf("%s", table.c_str());
  if (a.has("out")) {
    // Label noise against N: F1 (solid) and recall (dashed) of "this step is wrong", per segmenter.
    const std::string dir = a.Get("out");
    EnsureWritableDir(dir);
    WriteFileAtomic(dir + "/label_quality.md", "# Monte Carlo step labels against the truth\n\n`r1lab " +
                                                   CommandLine(argc, argv) + "`\n\n" + table);
    std::string dat, body;
    std::vector<std::string> segs;
    for (const LabelStudyRow& r : s.rows)
      if (std::find(segs.begin(), segs.end(), r.segmenter) == segs.end()) segs.push_back(r.segmenter);
    for (size_t i = 0; i < segs.size(); ++i) {
      dat += "# " + segs[i] + "\n# N precision recall f1 first_error_accuracy\n";
      for (const LabelStudyRow& r : s.rows)
        if (r.segmenter == segs[i])
          dat += std::to_string(r.n) + " " + JsonNumber(r.quality.precision()) + " " + JsonNumber(r.quality.recall()) +
                 " " + JsonNumber(r.quality.f1()) + " " + JsonNumber(r.quality.first_error_accuracy()) + "\n";
      dat += "\n\n";
      const std::string idx = "'label_quality.dat' index " + std::to_string(i);
      const std::string color = " linecolor " + std::to_string(i + 1);
      body += std::string(body.empty() ? "" : ", ") + idx + " using 1:4 with linespoints" + color + " title '" +
              segs[i] + " F1', " + idx + " using 1:3 with lines dashtype 2" + color + " title '" + segs[i] + " recall'";
    }
    WriteFileAtomic(dir + "/label_quality.dat", dat);
    WritePlotScript(dir, "label_quality.gp",
                    {{"label_noise", "Monte Carlo labels of wrong steps against the truth", "N (completions per step)",
                      "F1 (solid), recall (dashed)", "set logscale x 2\nset yrange [0:1]\n", body}});
  }
  return 0;
}

int CmdPrmStudy(int argc, char** argv) {
  const Args a = Parse(argc, argv, 2,
                       {"config", "label-traces", "label-n", "train-steps", "problems", "candidates", "seed", "threads",
                        "out", "set"},
                       {"soft", "truth"});
  if (a.positional.size() != 1) throw ConfigError("prm-study needs exactly one checkpoint path\n" + std::string(kUsage));
  ExperimentConfig cfg = LoadExperiment(a.Get("config"), a.sets);
  SetThreads(a, cfg.threads());
  const std::string ckpt = a.positional[0];
  Transformer model = LoadModel(ckpt);
  const auto task = MakeTask(cfg.task());
  PrmStudySpec spec;
  spec.label_traces = ParseInt("label-traces", a.Get("label-traces", "400"), 1, 1000000);
  spec.label_n = ParseInt("label-n", a.Get("label-n", "8"), 1, 1024);
  spec.soft_targets = a.flags.count("soft") > 0;
  spec.truth_labels = a.flags.count("truth") > 0;
  spec.train_steps = ParseInt("train-steps", a.Get("train-steps", "300"), 1, 1000000);
  spec.test_problems = ParseInt("problems", a.Get("problems", "100"), 1, 1000000);
  spec.candidates = ParseInt("candidates", a.Get("candidates", "16"), 1, 4096);
  spec.seed = static_cast<uint64_t>(ParseInt("seed", a.Get("seed", "1"), 0, 1 << 30));
  spec.sampling = cfg.eval().sampling();
  spec.optim = cfg.pretrain().optim();
  const PrmStudy s = RunPrmStudy(model, *task, spec);
  const std::string table = PrmStudyTable(s);
  std::printf("%s", table.c_str());
  if (a.has("out")) {
    const std::string dir = a.Get("out");
    EnsureWritableDir(dir);
    WriteFileAtomic(dir + "/best_of_n.md", "# The PRM study: labels, PRM and ORM, best-of-N, beam search\n\n`r1lab " +
                                               CommandLine(argc, argv) + "`\n\n" + table);
    std::string dat, body;
    int i = 0;
    for (const auto& [name, acc] : s.bon) {
      dat += "# " + name + "\n# N accuracy\n";
      for (size_t k = 0; k < acc.size(); ++k) dat += std::to_string(s.ns[k]) + " " + JsonNumber(acc[k]) + "\n";
      dat += "\n\n";
      body += std::string(body.empty() ? "" : ", ") + "'best_of_n.dat' index " + std::to_string(i) +
              " using 1:2 with linespoints linecolor " + std::to_string(i + 1) + " title '" + name + "'";
      ++i;
    }
    WriteFileAtomic(dir + "/best_of_n.dat", dat);
    WritePlotScript(dir, "best_of_n.gp",
                    {{"best_of_n", "best-of-N accuracy on held-out problems, by selection method", "N (candidates)",
                      "accuracy", "set logscale x 2\nset yrange [0:1]\n", body}});
  }
  return 0;
}

int CmdSearch(int argc, char** argv) {
  const Args a = Parse(argc, argv, 2,
                       {"config", "problems", "simulations", "max-children", "leaf-batch", "trees", "first-play", "seed",
                        "dot", "threads", "value-net", "out", "set"},
                       {"uct", "steps"});
  if (a.positional.size() != 1) throw ConfigError("search needs exactly one checkpoint path\n" + std::string(kUsage));
  // --set search.FIELD=VALUE sets the tree's SearchConfig; any other --set the experiment's.
  std::vector<std::string> experiment_sets, search_sets;
  for (const std::string& s : a.sets) (s.rfind("search.", 0) == 0 ? search_sets : experiment_sets).push_back(s);
  ExperimentConfig cfg = LoadExperiment(a.Get("config"), experiment_sets);
  SetThreads(a, cfg.threads());
  const std::string ckpt = a.positional[0];
  Transformer model = LoadModel(ckpt);
  const auto task = MakeTask(cfg.task());
  SearchCmdSpec spec;
  // The flags are aliases of SearchConfig fields, applied before --set.
  if (a.has("leaf-batch")) spec.search.set_leaf_batch(ParseInt("leaf-batch", a.Get("leaf-batch"), 1, 4096));
  if (a.has("first-play")) {  // an absolute first-play value replaces the parent-relative one
    spec.search.set_first_play(ParseDouble("first-play", a.Get("first-play"), 0, 1));
    spec.search.set_first_play_relative(false);
  }
  if (a.has("uct")) spec.search.set_uct(true);
  if (a.has("steps")) spec.search.set_nodes(STEP_NODES);
  for (const std::string& s : search_sets) ApplyOverride(s.substr(7), "--set search", &spec.search);
  ResolveDefaults(&spec.search);
  ValidateConfig(spec.search, "search settings");
  spec.problems = ParseInt("problems", a.Get("problems", "20"), 1, 1000000);
  auto list = [&](const std::string& flag, const char* def, int hi) {
    std::vector<int> out;
    const std::string v = a.Get(flag, def);
    for (size_t pos = 0; pos <= v.size();) {
      const size_t comma = std::min(v.find(',', pos), v.size());
      out.push_back(ParseInt(flag, v.substr(pos, comma - pos), 1, hi));
      pos = comma + 1;
    }
    return out;
  };
  spec.simulations = list("simulations", "32", 1000000);
  spec.max_children = list("max-children", "4", 100000);
  spec.trees = ParseInt("trees", a.Get("trees", "0"), 0, 1000000);
  spec.seed = static_cast<uint64_t>(ParseInt("seed", a.Get("seed", "1"), 0, 1 << 30));
  spec.dot = a.Get("dot");
  spec.value_traces = ParseInt("value-net", a.Get("value-net", "0"), 0, 1000000);
  const std::string report = RunSearchCmd(model, *task, cfg.eval(), spec);
  std::printf("%s", report.c_str());
  if (a.has("out")) WriteFileAtomic(a.Get("out"), "`r1lab " + CommandLine(argc, argv) + "`\n\n" + report);
  return 0;
}

int CmdConfig(int argc, char** argv) {
  const Args a = Parse(argc, argv, 2, {"set"}, {});
  const ExperimentConfig cfg = LoadExperiment(OptionalConfig(a), a.sets);
  if (cfg.sizes_size() > 0) LoadSizes(OptionalConfig(a), a.sets);  // each size checked as `run` checks it
  std::printf("%s", ConfigToText(cfg).c_str());
  return 0;
}

int Main(int argc, char** argv) {
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h") || !std::strcmp(argv[1], "help")) {
    std::printf("%s", kUsage);
    return argc < 2 ? 2 : 0;
  }
  const std::string cmd = argv[1];
  if (cmd == "run") return CmdRun(argc, argv);
  if (cmd == "tune") return CmdTune(argc, argv);
  if (cmd == "pretrain") return CmdPretrain(argc, argv);
  if (cmd == "eval") return CmdEval(argc, argv);
  if (cmd == "sample") return CmdSample(argc, argv);
  if (cmd == "config") return CmdConfig(argc, argv);
  if (cmd == "label-quality") return CmdLabelQuality(argc, argv);
  if (cmd == "prm-study") return CmdPrmStudy(argc, argv);
  if (cmd == "search") return CmdSearch(argc, argv);
  if (cmd == "report") {
    const Args a = Parse(argc, argv, 2, {}, {"round-metrics"});
    if (a.positional.size() != 1) throw ConfigError("report needs exactly one experiment folder\n" + std::string(kUsage));
    if (a.flags.count("round-metrics"))
      std::fprintf(stderr, "report: rounded %d metrics file(s)\n", RoundMetricsFiles(a.positional[0]));
    std::printf("%s", RewriteReport(a.positional[0]).c_str());
    return 0;
  }
  if (cmd == "rescore") {
    const Args a = Parse(argc, argv, 2, {}, {"update"});
    if (a.positional.size() != 1) throw ConfigError("rescore needs exactly one experiment folder\n" + std::string(kUsage));
    const RescoreResult r = Rescore(a.positional[0], a.flags.count("update") > 0);
    std::printf("%s%s\n", r.report.c_str(),
                r.differences ? ("rescore: " + std::to_string(r.differences) + " difference(s)").c_str()
                              : "rescore: every number reproduced");
    return r.differences ? 1 : 0;
  }
  if (cmd == "table") {
    const Args a = Parse(argc, argv, 2, {}, {"csv"});
    std::printf("%s", MergeTables(a.positional, a.flags.count("csv") > 0).c_str());
    return 0;
  }
  if (cmd == "verify") {
    const Args a = Parse(argc, argv, 2, {"task", "input", "rel-tol", "language-weight", "extract", "threads"}, {});
    if (!a.flags.count("task")) throw ConfigError("verify needs --task (math, arith, countdown, graph or code)");
    auto number = [&](const std::string& flag, double def) {
      return a.has(flag) ? ParseDouble(flag, a.Get(flag), 0, 1000) : def;
    };
    SetThreads(a, 0);
    return RunVerify(a.Get("task"), a.Get("input"), number("rel-tol", MathOptions().rel_tol),
                     number("language-weight", 0), a.has("extract") ? a.Get("extract") : "tagged");
  }
  if (cmd == "lm-generate") {
    const Args a = Parse(argc, argv, 2, {"prompt", "max-new-tokens", "temperature", "seed", "threads"}, {});
    if (a.positional.size() != 1 || !a.has("prompt"))
      throw ConfigError("lm-generate needs a model folder and --prompt TEXT\n" + std::string(kUsage));
    SetThreads(a, 0);
    return RunLmGenerate(a.positional[0], a.Get("prompt"),
                         a.has("max-new-tokens") ? ParseInt("max-new-tokens", a.Get("max-new-tokens"), 1, 1 << 20) : 64,
                         a.has("temperature") ? ParseDouble("temperature", a.Get("temperature"), 0, 100) : 0.0,
                         a.has("seed") ? static_cast<uint64_t>(ParseInt("seed", a.Get("seed"), 0, 2147483647)) : 1);
  }
  if (cmd == "lm-bench") {
    const Args a = Parse(argc, argv, 2, {"device", "shape", "batch", "prompt", "new-tokens", "json", "save", "threads"}, {});
    SetThreads(a, 0);
    const std::string device = a.Get("device", "cpu");
    auto count = [&](const std::string& flag, int def) {
      return a.has(flag) ? ParseInt(flag, a.Get(flag), 1, 1 << 20) : def;
    };
    return RunLmBench(device, a.Get("shape", device == "cuda" ? "qwen2.5-0.5b" : "small"), count("batch", device == "cuda" ? 16 : 4),
                      count("prompt", 128), count("new-tokens", 64), a.Get("json"), a.Get("save"));
  }
  if (cmd == "bench") {
    const Args a = Parse(argc, argv, 2, {"threads"}, {"quick", "compare"});
    SetThreads(a, 0);
    return RunBench(a.flags.count("quick") > 0, a.flags.count("compare") > 0);
  }
  std::fprintf(stderr, "r1lab: unknown command '%s'\n%s", cmd.c_str(), kUsage);
  return 2;
}

}  // namespace
}  // namespace r1lab

int main(int argc, char** argv) {
  using namespace r1lab;
  // OpenMP workers that spin while idle steal the core another process needs:
  // with one busy core, 300 default pretraining steps took 196 s at libgomp's
  // default spin, 95 s with a 1,000-iteration spin, 85 s either way when the
  // machine is quiet. OpenBLAS's generic kernels on a CPU it does not know
  // made a GRPO step 2.1x slower (BENCHMARKS.md). Both libraries read their
  // environment when they load, so setting it takes a re-exec.
  if (SetRunEnvironment()) ::execv("/proc/self/exe", argv);  // returns only on failure: run as loaded
  InstallStopHandlers();
  try {
    return Main(argc, argv);
  } catch (const Interrupted& e) {
    std::fprintf(stderr, "r1lab: %s\n", e.what());
    return 130;
  } catch (const ConfigError& e) {
    std::fprintf(stderr, "r1lab: config error: %s\n", e.what());
    return 2;
  } catch (const IoError& e) {
    std::fprintf(stderr, "r1lab: i/o error: %s\n", e.what());
    return 3;
  } catch (const InputError& e) {
    std::fprintf(stderr, "r1lab: input error: %s\n", e.what());
    return 4;
  } catch (const InternalError& e) {
    std::fprintf(stderr, "r1lab: internal error (a bug; please report): %s\n", e.what());
    return 70;
  } catch (const c10::Error& e) {
    std::fprintf(stderr, "r1lab: torch error: %s\n", e.what_without_backtrace());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "r1lab: error: %s\n", e.what());
    return 1;
  }
}

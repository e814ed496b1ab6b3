// `r1lab bench`: this machine's two ceilings (GEMM rate, memory bandwidth),
// then batched decoding, a teacher-forced training step and the KV cache's
// gain, each with its model FLOP utilisation (MFU) against the GEMM rate and,
// for decoding, the ratio to the roofline: weight FLOPs at the GEMM rate plus
// KV-cache bytes at the copy bandwidth. Peak memory is the process's
// high-water RSS during each part (reset between parts). Last, verification
// throughput (cli/bench_verify.cc).
#include <torch/torch.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdlib>
#include <sstream>
#include <functional>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "commands.h"
#include "flops.h"
#include "config.h"
#include "data_parallel.h"
#include "dist.h"
#include "error.h"
#include "generate.h"
#include "json.h"
#include "grpo_trainer.h"
#include "machine.h"
#include "mc_labels.h"
#include "mcts.h"
#include "reward_data.h"
#include "self_search.h"
#include "completer.h"
#include "steps.h"
#include "task.h"
#include "progress.h"
#include "sft.h"
#include "threads.h"
#include "text.h"
#include "tokenizer.h"
#include "cpu_kernels.h"
#include "transformer.h"

namespace r1lab {

double MatmulRate(int n, double min_seconds, bool cuda) {
  const auto opt = cuda ? torch::TensorOptions().device(torch::kCUDA).dtype(torch::kBFloat16) : torch::TensorOptions();
  auto sync = [&] {
    if (cuda) torch::cuda::synchronize();
  };
  torch::Tensor a = torch::randn({n, n}, opt), b = torch::randn({n, n}, opt), c = torch::mm(a, b);
  sync();
  int iters = 0;
  const auto t0 = Clock::now();
  do {
    c = torch::mm(a, b);
    ++iters;
    sync();
  } while (SecondsSince(t0) < min_seconds);
  return 2.0 * n * n * n * iters / SecondsSince(t0);
}

namespace {

struct Bandwidth {
  double median, low, high;  // GB/s over the repetitions
};

// Bytes read plus written per second by copying 256 MiB (far beyond any
// last-level cache) into another 256 MiB: the median of 9 timed copies, with
// their range, since a single reading swings by 2x on a shared machine.
Bandwidth CopyBandwidth() {
  torch::Tensor src = torch::randn({64 << 20}), dst = torch::empty_like(src);
  dst.copy_(src);  // both buffers touched before timing
  std::vector<double> rates;
  for (int rep = 0; rep < 9; ++rep) {
    const auto t0 = Clock::now();
    dst.copy_(src);
    rates.push_back(2.0 * static_cast<double>(src.numel()) * 4 / SecondsSince(t0) / 1e9);
  }
  std::sort(rates.begin(), rates.end());
  return {rates[rates.size() / 2], rates.front(), rates.back()};
}

struct DecodeResult {
  double tok_s, mfu, roofline_tok_s, peak_mib;
};

DecodeResult BenchDecode(const ModelConfig& mc, int batch, int prompt_len, int new_tokens, bool cache, double gemm,
                         double bw) {
  Transformer model = MakeModel(mc, Tokenizer::Get().vocab_size());
  model->eval();
  std::vector<std::vector<int>> prompts(batch, std::vector<int>(prompt_len, 20));
  for (auto& p : prompts) p[0] = Tokenizer::kBos;
  GenerateOptions opt;
  opt.sampling.set_max_new_tokens(new_tokens);
  opt.sampling.set_batch_size(batch);
  opt.never_stop = true;
  opt.use_cache = cache;
  Generate(model, {prompts[0]}, opt);  // warm-up
  ResetPeakMemory();
  FlopCounter fl;
  const auto t0 = Clock::now();
  Generate(model, prompts, opt, &fl);
  const double s = SecondsSince(t0);
  const double toks = static_cast<double>(batch) * new_tokens;
  // Roofline per generated token: weight FLOPs at the GEMM rate + K and V
  // reads (float32) over the mean context at the copy bandwidth.
  const int V = Tokenizer::Get().vocab_size();
  const double ctx = prompt_len + new_tokens / 2.0;
  const double t_tok = 2 * MatmulParams(mc, V) / (gemm * 1e9) +
                       2.0 * mc.n_layers() * ctx * mc.d_model() * 4 / (bw * 1e9);
  return {toks / s, fl.Total() / s / (gemm * 1e9), 1.0 / t_tok, PeakMemoryMb()};
}

struct TrainResult {
  double tok_s, mfu, peak_mib;
};

TrainResult BenchTrain(const ModelConfig& mc, int batch, int len, int steps, double gemm) {
  Transformer model = MakeModel(mc, Tokenizer::Get().vocab_size());
  auto opt = MakeAdamW(model, OptimConfig());
  torch::Tensor tokens = torch::randint(Tokenizer::kNumSpecials, Tokenizer::Get().vocab_size(), {batch, len},
                                        torch::kLong);
  auto step = [&]() {
    opt.zero_grad();
    torch::Tensor lp = NextTokenStats(model->forward(tokens).logits, tokens).logprobs;
    (-lp.mean()).backward();
    opt.step();
  };
  step();
  ResetPeakMemory();
  const auto t0 = Clock::now();
  for (int i = 0; i < steps; ++i) step();
  const double s = SecondsSince(t0);
  const double flops = 3 * ForwardFlopsSequence(mc, Tokenizer::Get().vocab_size(), len) * batch * steps;
  return {static_cast<double>(batch) * len * steps / s, flops / s / (gemm * 1e9), PeakMemoryMb()};
}

// One GRPO step at the shapes of the TRL comparison in ../shared/CALIBRATION.md:
// the default model (random weights, so every completion runs to 64 tokens),
// 16 arith prompts x 8 samples, GRPO's default updates (4 minibatches of 32),
// k3 KL at beta 0.001 against a reference model. Medians over the timed steps.
struct GrpoStepTimes {
  double step, generation, update, tokens_per_s;
};

GrpoStepTimes BenchGrpoStep(const ModelConfig& mc, bool quick) {
  TaskConfig tc;
  ParseConfigText("arith {}", "<bench>", &tc);
  ResolveDefaults(&tc);
  const auto task = MakeTask(tc);
  GrpoConfig gc;
  ParseConfigText("prompts_per_step: 16 group_size: 8 sampling { max_new_tokens: 64 } kl_coef: 0.001 kl_estimator: K3",
                  "<bench>", &gc);
  ResolveDefaults(&gc);
  ModelConfig m = mc;
  m.set_max_seq_len(128);
  Transformer policy = MakeModel(m, Tokenizer::Get().vocab_size());
  FlopCounter flops;
  GrpoTrainer trainer(policy, *task, gc, 1, &flops);
  std::vector<double> step, gen, update, tokens;
  std::string note;
  double generated = 0;  // the trainer's count is cumulative
  for (int s = 0; s <= (quick ? 2 : 7); ++s) {
    const MetricsLine l = trainer.Step(s, &note);
    const double before = generated;
    generated = l.tokens_generated();
    if (s == 0) continue;  // warm-up
    step.push_back(l.time_step_s());
    gen.push_back(l.time_generate_s());
    update.push_back(l.time_train_s());
    tokens.push_back(generated - before);
  }
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  const double t = median(step);
  return {t, median(gen), median(update), median(tokens) / t};
}

// The GRPO step with r1lab's kernels and with LibTorch's ops (cpu_kernels.h),
// alternated twice, each row the better of its two runs.
// Returns the step's seconds with r1lab's kernels.
double BenchGrpo(const ModelConfig& mc, bool quick) {
  GrpoStepTimes best[2];
  for (int round = 0; round < 2; ++round)
    for (int reference = 0; reference < 2; ++reference) {
      SetReferenceKernels(reference == 1);
      const GrpoStepTimes t = BenchGrpoStep(mc, quick);
      if (round == 0 || t.step < best[reference].step) best[reference] = t;
    }
  SetReferenceKernels(false);
  std::printf("\n| GRPO step (default model, 16 x 8 samples, 64 new tokens, k3 KL) | step s | generation s | "
              "update s (reference forward, policy forward, backward, AdamW) | generated tok/s |\n"
              "|---|---|---|---|---|\n");
  const char* names[2] = {"r1lab kernels (model/cpu_kernels.h)", "LibTorch ops for linear, attention and GELU"};
  for (int r = 0; r < 2; ++r)
    std::printf("| %s | %.3f | %.3f | %.3f | %.0f |\n", names[r], best[r].step, best[r].generation, best[r].update,
                best[r].tokens_per_s);
  std::printf("\nKernel speed-up: step %.2fx, generation %.2fx, update %.2fx\n", best[1].step / best[0].step,
              best[1].generation / best[0].generation, best[1].update / best[0].update);
  return best[0].step;
}

// What data parallelism adds to a step (train/data_parallel.h): the sum of
// one update's gradients over 2 ranks (threads of this process, Gloo on
// loopback), median of the timed repetitions, times the step's updates (one
// all-reduce each), against the one-process GRPO step above.
void BenchDataParallel(const std::vector<const ModelConfig*>& models, double grpo_step_s, bool quick) {
  GrpoConfig gc;
  ResolveDefaults(&gc);
  const int updates = gc.epochs() * gc.minibatches();
  std::printf("\n| gradient all-reduce, 2 ranks on loopback (Gloo) | params | ms per update | x %d updates, of a "
              "one-process GRPO step (default model) |\n|---|---|---|---|\n", updates);
  for (const ModelConfig* mc : models) {
    const int port = FreeLoopbackPort(), reps = quick ? 5 : 30;
    double seconds[2] = {0, 0};
    std::string errors[2];
    int64_t params = 0;
    std::vector<std::thread> ranks;
    for (int r = 0; r < 2; ++r)
      ranks.emplace_back([&, r] {
        try {
          DistEnv env;
          env.rank = r;
          env.world_size = 2;
          env.master_port = port;
          Dist d(env, std::chrono::seconds(60));
          Transformer m = MakeModel(*mc, Tokenizer::Get().vocab_size());
          params = m->NumParameters();
          for (torch::Tensor& p : m->parameters()) p.mutable_grad() = torch::randn_like(p);
          std::vector<double> times;
          for (int i = 0; i <= reps; ++i) {
            d.Barrier();
            const auto t0 = Clock::now();
            SumGradients(m->parameters(), d);
            if (i > 0) times.push_back(SecondsSince(t0));  // the first warms the connections
          }
          std::sort(times.begin(), times.end());
          seconds[r] = times[times.size() / 2];
        } catch (const std::exception& e) {
          errors[r] = e.what();
        }
      });
    for (std::thread& t : ranks) t.join();
    for (const std::string& e : errors)
      if (!e.empty()) throw IoError("bench: data-parallel all-reduce: " + e);
    const double s = std::max(seconds[0], seconds[1]);
    std::printf("| d=%d L=%d | %.2fM | %.2f | %.1f%% |\n", mc->d_model(), mc->n_layers(), params / 1e6, 1e3 * s,
                100 * updates * s / grpo_step_s);
  }
}

// Monte Carlo step labelling (train/mc_labels.h) of arith teacher traces with
// the default model as completer: every prefix in one batched generation,
// against one generation per prefix (its N completions batched).
void BenchLabelling(const ModelConfig& mc, bool quick) {
  TaskConfig tc;
  ParseConfigText("arith {} num_test: 50 teacher { step_error_rate: 0.2 reflection_rate: 0.5 }", "<bench>", &tc);
  ResolveDefaults(&tc);
  const auto task = MakeTask(tc);
  Rng rng(1);
  std::vector<Problem> problems;
  const int traces = quick ? 8 : 32, n = 8;
  for (int i = 0; i < traces; ++i) problems.push_back(task->SampleTrain(rng));
  std::vector<LabelJob> jobs;
  double steps = 0;
  for (const Problem& p : problems) {
    const std::string c = task->Teach(p, tc.teacher(), rng).completion;
    jobs.push_back({&p, c, SegmentSteps(c, {Segmenter::kLine})});
    steps += static_cast<double>(jobs.back().steps.size());
  }
  Transformer model = MakeModel(mc, Tokenizer::Get().vocab_size());
  SamplingConfig s;
  s.set_max_new_tokens(32);
  const Completer completer = ModelCompleter(model, s, 1, nullptr);
  // The three variants alternate over 3 rounds after a warm-up, each
  // keeping its best time: run once each in a fixed order, the first paid
  // for the warm-up and a shared machine's swings decided the ranking.
  auto timed = [](const std::function<void()>& f) {
    const auto t0 = Clock::now();
    f();
    return SecondsSince(t0);
  };
  const std::function<void()> variants[3] = {
      [&] { MonteCarloLabels(*task, jobs, completer, n); },
      [&] {
        for (const LabelJob& job : jobs) MonteCarloLabels(*task, {job}, completer, n);
      },
      [&] {  // naive: one generation per prefix
        for (const LabelJob& job : jobs)
          for (size_t k = 0; k + 1 < job.steps.size(); ++k)
            completer({job.problem}, {job.completion.substr(0, job.steps[k].end)}, n);
      }};
  MonteCarloLabels(*task, {jobs[0]}, completer, n);  // warm-up
  double best[3] = {1e30, 1e30, 1e30};
  for (int round = 0; round < 3; ++round)
    for (int v = 0; v < 3; ++v) best[v] = std::min(best[v], timed(variants[v]));
  const double batched = best[0], per_trace = best[1], naive = best[2];
  std::printf("\n| Monte Carlo labelling (%d traces, %.0f steps, N=%d, 32 new tokens) | labelled steps/s | speed-up |\n"
              "|---|---|---|\n| one generation per prefix | %.0f | 1.0x |\n| one per trace | %.0f | %.1fx |\n"
              "| every prefix in one batch | %.0f | %.1fx |\n",
              traces, steps, n, steps / naive, steps / per_trace, naive / per_trace, steps / batched, naive / batched);
}

// MCTS on random-weight default models (throughput only): search from the
// root of each of P arith problems, one tree and one leaf at a time, against
// every tree at once with 4 leaves per tree per call (virtual loss). Leaves
// per second counts evaluated leaves; the network share is the time inside
// the environment's batched calls (forwards, rollouts), the rest being tree
// work.
void BenchSearch(const ModelConfig& mc, bool quick) {
  TaskConfig tc;
  ParseConfigText("arith {} num_test: 50", "<bench>", &tc);
  ResolveDefaults(&tc);
  const auto task = MakeTask(tc);
  const int np = quick ? 4 : 16, sims = quick ? 8 : 16;
  const std::vector<Problem> problems(task->TestSet().begin(), task->TestSet().begin() + np);
  Transformer policy = MakeModel(mc, Tokenizer::Get().vocab_size());
  Transformer value = RewardModelFrom(policy, true);
  std::printf("\n| MCTS, %d problems x %d simulations from the root, random weights | one leaf at a time: leaves/s | "
              "all trees, 4 leaves per tree per call: leaves/s | leaves per call | network share | speed-up |\n"
              "|---|---|---|---|---|---|\n",
              np, sims);
  struct Case {
    const char* name;
    SearchNodes nodes;
    LeafValueSource leaf;
  };
  for (const Case& c : {Case{"token nodes, value-network leaves", TOKEN_NODES, VALUE_NETWORK},
                        Case{"token nodes, rollout leaves", TOKEN_NODES, ROLLOUT},
                        Case{"step nodes (4 samples per leaf)", STEP_NODES, ROLLOUT}}) {
    SearchConfig sc;
    sc.set_nodes(c.nodes);
    sc.set_leaf_value(c.leaf);
    sc.mutable_sampling()->set_max_new_tokens(32);
    const SearchParams params = SearchParamsFrom(sc, 1);
    const Transformer v = c.leaf == ROLLOUT ? Transformer(nullptr) : value;
    double one_leaves = 0, one_seconds = 0;
    for (const Problem& p : problems) {
      auto env = MakePolicyEnv(sc, policy, *task, {p}, v, true, 1, nullptr);
      Node root;
      const ForestStats f = SearchForest(*env, {&root}, {sims, 1, 0}, params);
      one_leaves += static_cast<double>(f.leaves_evaluated);
      one_seconds += f.seconds;
    }
    auto env = MakePolicyEnv(sc, policy, *task, problems, v, true, 1, nullptr);
    std::vector<Node> roots(problems.size());
    const ForestStats f = SearchForest(*env, roots, {sims, 4, 0}, params);
    const double batched = static_cast<double>(f.leaves_evaluated) / f.seconds, one = one_leaves / one_seconds;
    std::printf("| %s | %.0f | %.0f | %.1f | %.1f%% | %.1fx |\n", c.name, one, batched, f.mean_leaf_batch,
                100 * f.env_seconds / f.seconds, batched / one);
  }
}

// Search as the mcts arm runs it (8 trees, 16 simulations per move, 4
// leaves per tree per call, value-network leaves, lines up to 64 tokens):
// a leaf continuing from its parent's keys and values against a forward
// over its whole prefix, in one run. The same trees either way (tests).
void BenchSearchKvReuse(const ModelConfig& mc, bool quick) {
  TaskConfig tc;
  ParseConfigText("arith {} num_test: 50", "<bench>", &tc);
  ResolveDefaults(&tc);
  const auto task = MakeTask(tc);
  const std::vector<Problem> problems(task->TestSet().begin(), task->TestSet().begin() + 8);
  Transformer policy = MakeModel(mc, Tokenizer::Get().vocab_size());
  Transformer value = RewardModelFrom(policy, true);
  const int moves = quick ? 16 : 64;
  std::printf("\n| MCTS as play, 8 problems x 16 simulations per move, %d tokens deep, value-network leaves, random "
              "weights | leaves/s | network FLOPs per leaf |\n|---|---|---|\n",
              moves);
  double rate[2] = {0, 0};
  for (bool reuse : {true, false}) {
    SearchConfig sc;
    sc.set_kv_reuse(reuse);
    sc.mutable_sampling()->set_max_new_tokens(moves);
    FlopCounter flops;
    auto env = MakePolicyEnv(sc, policy, *task, problems, value, true, 1, &flops);
    std::vector<Node> roots(problems.size());
    const ForestStats f = SearchForest(*env, roots, {16, 4, moves}, SearchParamsFrom(sc, 1));
    rate[reuse] = static_cast<double>(f.leaves_evaluated) / f.seconds;
    std::printf("| %s | %.0f | %.3g |\n", reuse ? "KV reuse (a leaf continues from its parent's cache)"
                                                : "full forward over each leaf's prefix",
                rate[reuse], flops.Total() / static_cast<double>(f.leaves_evaluated));
  }
  std::printf("\nKV reuse speed-up: %.1fx\n", rate[1] / rate[0]);
}

}  // namespace

// ---- peers (bench/compare/) ----------------------------------------------------

// The Python that runs the peer scripts: R1LAB_PEER_PYTHON, else python3.
std::string PeerPython() {
  const char* p = std::getenv("R1LAB_PEER_PYTHON");
  return p && *p ? p : "python3";
}

std::string CompareDir() {
  const char* d = std::getenv("R1LAB_COMPARE_DIR");
  return d && *d ? d : std::string(R1LAB_SOURCE_DIR) + "/bench/compare";
}

bool PeerInstalled(const std::string& module) {
  return std::system((PeerPython() + " -c 'import " + module + "' > /dev/null 2>&1").c_str()) == 0;
}

// Runs a peer script; its last stdout line is a JSON object. Throws with the
// command if the script fails.
JsonValue RunPeer(const std::string& script, const std::string& args) {
  const std::string cmd = PeerPython() + " " + CompareDir() + "/" + script + " " + args + " 2>/dev/null";
  FILE* pipe = ::popen(cmd.c_str(), "r");
  if (!pipe) throw IoError("cannot run " + cmd);
  std::string out, last;
  std::array<char, 4096> buf;
  while (std::fgets(buf.data(), buf.size(), pipe)) out += buf.data();
  const int rc = ::pclose(pipe);
  std::istringstream lines(out);
  for (std::string l; std::getline(lines, l);)
    if (!Trim(l).empty()) last = Trim(l);
  if (rc != 0 || last.empty() || last[0] != '{')
    throw IoError("peer benchmark failed (exit " + std::to_string(rc) + "): " + cmd);
  return JsonValue::Parse(last);
}

// `r1lab bench --compare`: the same shapes in r1lab and in each installed
// peer, alternated twice in this process tree, each side keeping its best.
void BenchCompare(const ModelConfig& mc, bool quick, int threads, double gemm, double bw) {
  const bool torch_ok = PeerInstalled("torch"), trl_ok = torch_ok && PeerInstalled("trl");
  std::printf("\npeers (%s, scripts in %s): PyTorch eager %s, TRL %s\n", PeerPython().c_str(), CompareDir().c_str(),
              torch_ok ? "found" : "missing (pip install torch)", trl_ok ? "found" : "missing (pip install trl)");
  if (!torch_ok) return;
  const int V = Tokenizer::Get().vocab_size(), new_tokens = quick ? 32 : 128, rounds = 2;
  ModelConfig m = mc;
  m.set_max_seq_len(160);
  const std::string eager_args = "--vocab " + std::to_string(V) + " --threads " + std::to_string(threads) +
                                 " --new-tokens " + std::to_string(new_tokens) + (quick ? " --train-steps 3" : "");
  double r1_decode = 0, r1_train = 0, peer_decode = 0, peer_train = 0;
  GrpoStepTimes r1_grpo{1e30, 0, 0, 0}, trl{1e30, 0, 0, 0};
  std::string torch_version, trl_version;
  for (int round = 0; round < rounds; ++round) {
    r1_decode = std::max(r1_decode, BenchDecode(m, 256, 8, new_tokens, true, gemm, bw).tok_s);
    r1_train = std::max(r1_train, BenchTrain(m, 64, 64, quick ? 3 : 20, gemm).tok_s);
    const JsonValue e = RunPeer("eager.py", eager_args);
    peer_decode = std::max(peer_decode, e.num("decode_tok_s"));
    peer_train = std::max(peer_train, e.num("train_tok_s"));
    torch_version = e.at("torch").string();
    if (!trl_ok) continue;
    const GrpoStepTimes g = BenchGrpoStep(mc, quick);
    if (g.step < r1_grpo.step) r1_grpo = g;
    const JsonValue t = RunPeer("trl_grpo.py", "--threads " + std::to_string(threads) + (quick ? " --steps 3" : ""));
    if (t.num("step_s") < trl.step)
      trl = {t.num("step_s"), t.num("generation_s"), t.num("update_s"), t.num("generated_tok_s")};
    trl_version = t.at("trl").string();
  }
  std::printf("\n| side by side, %d threads, best of %d alternated runs | r1lab | peer | r1lab / peer |\n"
              "|---|---|---|---|\n", threads, rounds);
  std::printf("| decode B=256, 8+%d tokens, tok/s (PyTorch %s eager) | %.0f | %.0f | %.2fx |\n", new_tokens,
              torch_version.c_str(), r1_decode, peer_decode, r1_decode / peer_decode);
  std::printf("| train step 64x64, tok/s (PyTorch %s eager) | %.0f | %.0f | %.2fx |\n", torch_version.c_str(),
              r1_train, peer_train, r1_train / peer_train);
  if (trl_ok) {
    std::printf("| GRPO step, generated tok/s (TRL %s) | %.0f | %.0f | %.2fx |\n", trl_version.c_str(),
                r1_grpo.tokens_per_s, trl.tokens_per_s, r1_grpo.tokens_per_s / trl.tokens_per_s);
    std::printf("| GRPO step, s | %.3f | %.3f | %.2fx faster |\n", r1_grpo.step, trl.step, trl.step / r1_grpo.step);
    std::printf("| GRPO generation, s | %.3f | %.3f | %.2fx faster |\n", r1_grpo.generation, trl.generation,
                trl.generation / r1_grpo.generation);
    std::printf("| GRPO update, s | %.3f | %.3f | %.2fx faster |\n", r1_grpo.update, trl.update,
                trl.update / r1_grpo.update);
  }
}

int RunBench(bool quick, bool compare) {
  const double t = quick ? 0.2 : 1.0;
  std::printf("r1lab bench (%d threads%s)\n%s\n\n", at::get_num_threads(), quick ? ", quick" : "",
              MachineLine(DescribeMachine()).c_str());
  // The GEMM ceiling is measured with BLAS on every thread (the machine's
  // best); r1lab itself runs BLAS single-threaded inside LibTorch's pool
  // (model/threads.h), shown on the second line.
  const int threads = at::get_num_threads();
  double gemm = 0;
  std::printf("| ceiling | value |\n|---|---|\n");
  at::set_num_threads(1);
  SetBlasThreads(threads);
  for (int n : {256, 512, 1024}) {
    const double g = MatmulRate(n, t) / 1e9;
    gemm = std::max(gemm, g);
    std::printf("| torch::mm %dx%d, BLAS on %d threads | %.1f GFLOP/s |\n", n, n, threads, g);
  }
  at::set_num_threads(threads);
  SetBlasThreads(1);
  std::printf("| torch::mm 512x512 as r1lab runs it | %.1f GFLOP/s |\n", MatmulRate(512, t) / 1e9);
  const Bandwidth copy = CopyBandwidth();
  const double bw = copy.median;
  std::printf("| copy bandwidth (read+write, 256 MiB, median of 9) | %.1f GB/s (%.1f-%.1f) |\n\n", bw, copy.low,
              copy.high);

  ModelConfig small;  // the default model
  ModelConfig ref = small;
  ref.set_d_model(128);
  ref.set_n_layers(4);
  ref.set_d_ff(512);
  for (ModelConfig* m : {&small, &ref}) m->set_max_seq_len(160);
  if (compare) {
    BenchCompare(small, quick, threads, gemm, bw);
    return 0;
  }
  const int new_tokens = 128, prompt = 8;
  std::printf("| decode (B=256, %d new tokens, KV cache) | params | tok/s | MFU | roofline tok/s | of roofline | peak MiB |\n"
              "|---|---|---|---|---|---|---|\n", new_tokens);
  double small_tok_s = 0;
  for (ModelConfig* m : {&small, &ref}) {
    const DecodeResult d = BenchDecode(*m, 256, prompt, quick ? 32 : new_tokens, true, gemm, bw);
    if (m == &small) small_tok_s = d.tok_s;
    std::printf("| d=%d L=%d | %.2fM | %.0f | %.1f%% | %.0f | %.0f%% | %.0f |\n", m->d_model(), m->n_layers(),
                MakeModel(*m, Tokenizer::Get().vocab_size())->NumParameters() / 1e6, d.tok_s, 100 * d.mfu,
                d.roofline_tok_s, 100 * d.tok_s / d.roofline_tok_s, d.peak_mib);
  }
  std::printf("\n| train step (64 x 64 tokens, fwd+bwd+AdamW) | tok/s | MFU | peak MiB |\n|---|---|---|---|\n");
  for (ModelConfig* m : {&small, &ref}) {
    const TrainResult r = BenchTrain(*m, 64, 64, quick ? 3 : 20, gemm);
    std::printf("| d=%d L=%d | %.0f | %.1f%% | %.0f |\n", m->d_model(), m->n_layers(), r.tok_s, 100 * r.mfu,
                r.peak_mib);
  }
  const int cb = 64, cn = quick ? 32 : new_tokens;
  const DecodeResult with = BenchDecode(small, cb, prompt, cn, true, gemm, bw);
  const DecodeResult without = BenchDecode(small, cb, prompt, cn, false, gemm, bw);
  std::printf("\n| decode B=%d, %d new tokens, default model | tok/s | peak MiB |\n|---|---|---|\n", cb, cn);
  std::printf("| with KV cache | %.0f | %.0f |\n| without (full recompute) | %.0f | %.0f |\n", with.tok_s,
              with.peak_mib, without.tok_s, without.peak_mib);
  std::printf("\nKV cache speed-up: %.1fx\n", with.tok_s / without.tok_s);
  const double grpo_step_s = BenchGrpo(small, quick);
  BenchDataParallel({&small, &ref}, grpo_step_s, quick);
  BenchLabelling(small, quick);
  BenchSearch(small, quick);
  BenchSearchKvReuse(small, quick);
  BenchVerify(quick, threads, small_tok_s);
  return 0;
}

}  // namespace r1lab

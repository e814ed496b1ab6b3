#include "search_cmd.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>

#include "error.h"
#include "io.h"
#include "mcts.h"
#include "prm_completer.h"
#include "prm_train.h"
#include "progress.h"
#include "rerank.h"
#include "reward_model.h"
#include "search_env.h"
#include "tokenizer.h"

namespace r1lab {

namespace {

// How well the value network predicts success as the prefix grows: on fresh
// samples of the held-out problems, its estimate at every 4-token prefix
// against the Monte Carlo target there (the share of 4 completions that
// reach the gold), by depth, next to the error of the best constant (the
// mean target at that depth).
std::string ValueErrorByDepth(Transformer& policy, Transformer& value, const Task& task,
                              const std::vector<Problem>& problems, const SamplingConfig& sampling, uint64_t seed) {
  RewardDataSpec ds;
  ds.label_n = 4;
  ds.soft_targets = true;
  ds.segmenter = {Segmenter::kTokenChunk, "", 4};
  ds.sampling = sampling;
  ds.seed = seed;
  const RewardData data = BuildRewardData(policy, task, problems, ds, nullptr);
  const auto pred = ScoreSteps(value, data.prm);
  constexpr size_t kBins = 8;  // prefixes of 1, 2, ..., 7 and 8+ steps
  std::vector<std::vector<std::pair<double, double>>> bins(kBins);  // (prediction, target)
  for (size_t i = 0; i < data.prm.size(); ++i)
    for (size_t k = 0; k < pred[i].size(); ++k)
      bins[std::min(k, kBins - 1)].emplace_back(pred[i][k], data.prm[i].targets[k]);
  std::string out =
      "| value network: prefix steps | prefixes | mean target | error (MAE) | error of the best constant |\n"
      "|---|---|---|---|---|\n";
  for (size_t b = 0; b < kBins; ++b) {
    if (bins[b].empty()) continue;
    double mean = 0, mae = 0, base = 0;
    for (const auto& [p, t] : bins[b]) mean += t / static_cast<double>(bins[b].size());
    for (const auto& [p, t] : bins[b]) {
      mae += std::abs(p - t) / static_cast<double>(bins[b].size());
      base += std::abs(mean - t) / static_cast<double>(bins[b].size());
    }
    char buf[160];
    std::snprintf(buf, sizeof buf, "| %s%zu | %zu | %.3f | %.3f | %.3f |\n", b + 1 == kBins ? ">= " : "", b + 1,
                  bins[b].size(), mean, mae, base);
    out += buf;
  }
  return out + "\nA step is 4 tokens of the chain of thought; each sample's last step is its answer part. Targets "
               "are the share of 4 completions that reach the gold answer (themselves noisy). A value network that "
               "cannot beat the constant at a depth gives the search no signal there.\n";
}

}  // namespace

int RunSearchCmd(Transformer& policy, const Task& task, const EvalConfig& eval, const SearchCmdSpec& spec) {
  if (spec.problems > static_cast<int>(task.TestSet().size()))
    throw ConfigError("search: --problems " + std::to_string(spec.problems) + " exceeds the test split (" +
                      std::to_string(task.TestSet().size()) + ")");
  const std::vector<Problem> problems(task.TestSet().begin(), task.TestSet().begin() + spec.problems);
  const SamplingConfig& sampling = eval.sampling();
  SearchParams params;
  params.max_children = spec.max_children;
  params.first_play = spec.first_play;
  params.uct = spec.uct;

  // The value network, if asked for: the policy's trunk with the PRM head,
  // trained on soft Monte Carlo targets (the share of completions from a
  // prefix that reach the gold answer) at every 4-token step of its own samples.
  Transformer value{nullptr};
  FlopCounter value_flops;
  if (spec.value_traces > 0) {
    Rng rng(spec.seed + 11);
    std::vector<Problem> train;
    for (int i = 0; i < spec.value_traces; ++i) train.push_back(task.SampleTrain(rng));
    RewardDataSpec ds;
    ds.label_n = 4;
    ds.soft_targets = true;
    ds.segmenter = {Segmenter::kTokenChunk, "", 4};
    ds.sampling = sampling;
    ds.seed = spec.seed + 12;
    const RewardData data = BuildRewardData(policy, task, train, ds, &value_flops);
    value = RewardModelFrom(policy, true);
    TrainRewardModel(value, data.prm, 200, 32, OptimConfig(), rng, &value_flops);
  }

  // MCTS as play, one problem at a time.
  FlopCounter search_flops;
  int solved = 0, finished = 0;
  double nodes = 0, depth = 0;
  const auto t0 = Clock::now();
  Progress progress("search", spec.problems);
  for (int i = 0; i < spec.problems; ++i) {
    const Problem& prob = problems[static_cast<size_t>(i)];
    const uint64_t seed = spec.seed + static_cast<uint64_t>(i);
    std::unique_ptr<SearchEnv> env;
    if (spec.step_level) {
      auto e = std::make_unique<PolicyStepEnv>(policy, task, prob, spec.max_children, sampling.max_new_tokens(),
                                               sampling, seed, &search_flops);
      if (value) e->set_value_model(value);
      env = std::move(e);
    } else {
      auto e = std::make_unique<PolicyTokenEnv>(policy, task, prob, spec.max_children, sampling.max_new_tokens(),
                                                sampling, seed, &search_flops);
      if (value) e->set_value_model(value);
      env = std::move(e);
    }
    Node root;
    const SearchStats s =
        SearchMoves(*env, root, spec.simulations, spec.leaf_batch, sampling.max_new_tokens(), params);
    solved += task.Verify(s.best, problems[static_cast<size_t>(i)]).correct;
    finished += s.best.find("<eos>") != std::string::npos;
    nodes += s.nodes;
    depth += s.max_depth;
    if (i == 0 && !spec.dot.empty()) WriteFileAtomic(spec.dot, TreeToDot(root));
    progress.Update(i + 1, "");
  }
  progress.Finish(spec.problems, "");
  const double search_s = SecondsSince(t0);
  const double flops_per_problem = search_flops.Total() / spec.problems;

  // Sampling at the same FLOPs: k samples per problem, majority vote.
  FlopCounter probe;
  const Samples one = SampleCompletions(policy, problems, 1, sampling, spec.seed + 7, &probe);
  const double per_sample = probe.Total() / spec.problems;
  const int k = std::clamp(static_cast<int>(std::lround(flops_per_problem / std::max(1.0, per_sample))), 1, 512);
  const Samples many = SampleCompletions(policy, problems, k, sampling, spec.seed + 8, nullptr);
  std::vector<std::vector<Candidate>> cands(problems.size());
  double pass1 = 0;
  for (size_t r = 0; r < many.completions.size(); ++r) {
    const Verdict v = task.Verify(many.completions[r], *many.problems[r]);
    cands[r / static_cast<size_t>(k)].push_back({v.extracted, v.correct, 0});
    pass1 += v.correct;
  }
  pass1 /= static_cast<double>(many.completions.size());
  const double maj = SelectionAccuracy(cands, k, Selection::kMajority);
  double any = 0;  // pass@k: some sample is right (selection by the verifier, like the search's leaf values)
  for (const auto& c : cands) any += std::any_of(c.begin(), c.end(), [](const Candidate& x) { return x.correct; });
  any /= static_cast<double>(cands.size());

  std::printf("| method | accuracy %% | FLOPs per problem |\n|---|---|---|\n");
  std::printf("| %s MCTS as play (%d simulations/move, %d children, leaf batch %d, %s; leaf values: %s) | %.1f | "
              "%.3g |\n",
              spec.step_level ? "step-level" : "token-level", spec.simulations, spec.max_children, spec.leaf_batch, spec.uct ? "UCT" : "PUCT",
              value ? "the value network" : "the verifier on rollouts", 100.0 * solved / spec.problems,
              flops_per_problem);
  std::printf("| sampling, one sample (pass@1) | %.1f | %.3g |\n", 100 * pass1, per_sample);
  std::printf("| sampling, %d samples (same FLOPs as MCTS), majority vote | %.1f | %.3g |\n", k, 100 * maj,
              per_sample * k);
  std::printf("| sampling, %d samples, any correct (pass@%d: the verifier picks) | %.1f | %.3g |\n", k, k, 100 * any,
              per_sample * k);
  if (value)
    std::printf("\nThe search never sees the gold answer: compare it with the majority vote. Training the value "
                "network on %d samples cost %.3g FLOPs (not in the per-problem column).\n",
                spec.value_traces, value_flops.Total());
  else
    std::printf("\nThe search's leaf values come from the verifier, which knows the gold answer: compare it with "
                "pass@k, which also lets the verifier choose, not with the majority vote.\n");
  std::printf("\n%d problems; MCTS lines finished: %d; mean expanded nodes %.0f, mean max depth %.1f; search %.1f s%s\n",
              spec.problems, finished, nodes / spec.problems, depth / spec.problems, search_s,
              spec.dot.empty() ? "" : ("; first tree: " + spec.dot).c_str());
  if (value) std::printf("\n%s", ValueErrorByDepth(policy, value, task, problems, sampling, spec.seed + 13).c_str());
  return 0;
}

}  // namespace r1lab

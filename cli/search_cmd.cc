#include "search_cmd.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>

#include "error.h"
#include "io.h"
#include "mcts.h"
#include "completer.h"
#include "scorer.h"
#include "progress.h"
#include "rerank.h"
#include "reward_data.h"
#include "search_env.h"
#include "self_search.h"
#include "tokenizer.h"

namespace r1lab {

namespace {

// The value network's error by depth (self_search.h) as a table.
std::string ValueErrorTable(Transformer& policy, Transformer& value, const Task& task,
                            const std::vector<Problem>& problems, const SamplingConfig& sampling, uint64_t seed) {
  std::string out =
      "| value network: prefix steps | prefixes | mean target | mean prediction | error (MAE) | error of the best "
      "constant |\n|---|---|---|---|---|---|\n";
  const auto bins = ValueErrorByDepth(policy, value, task, problems, sampling, 4, seed);
  for (size_t b = 0; b < bins.size(); ++b) {
    char buf[160];
    std::snprintf(buf, sizeof buf, "| %s%d | %zu | %.3f | %.3f | %.3f | %.3f |\n", bins[b].depth == 8 ? ">= " : "",
                  bins[b].depth, bins[b].count, bins[b].mean_target, bins[b].mean_prediction, bins[b].mae,
                  bins[b].constant_mae);
    out += buf;
  }
  return out + "\nA step is 4 tokens of the chain of thought; each sample's last step is its answer part. Targets "
               "are the share of 4 completions that reach the gold answer (themselves noisy). Calibration: the mean "
               "prediction against the mean target. A value network that cannot beat the constant at a depth gives the "
               "search no signal there.\n";
}

// The value network for value-guided search: the policy's trunk with the PRM
// head, trained on soft Monte Carlo targets (the share of completions from a
// prefix that reach the gold answer) at every 4-token step of its own samples.
Transformer PretrainCmdValue(Transformer& policy, const Task& task, const SamplingConfig& sampling,
                             const SearchCmdSpec& spec, FlopCounter* flops) {
  ValueNetConfig vc;
  vc.set_pretrain_traces(spec.value_traces);
  vc.set_label_n(4);
  vc.set_chunk_tokens(4);
  vc.set_pretrain_steps(200);
  vc.set_batch_size(32);
  Transformer value = RewardModelFrom(policy, true);
  PretrainValueNetwork(policy, value, task, vc, sampling, spec.seed + 11, flops);
  return value;
}

// One (simulations, extension limit) point of the grid, summed over problems.
struct Row {
  int simulations = 0, max_children = 0;
  double solved = 0, reached = 0, flops = 0, visited = 0, expanded = 0, branching = 0, depth = 0, seconds = 0;
  double env_seconds = 0, leaves = 0, env_calls = 0;
  std::vector<bool> reached_by_problem;
};

// What the search did on problem i, added to the row; `first` (when not
// null) gets the problem's committed line and tree described.
void AddTree(const Task& task, const Problem& prob, const Node& root, const SearchStats& st, const SearchCmdSpec& spec,
             Row* row, std::string* first) {
  row->solved += task.Verify(st.best, prob).correct;
  bool reached = false;  // some visited finished line is right (the verifier's view)
  for (const Node* t : VisitedTerminals(root)) reached = reached || task.Verify(TextOf(t), prob).correct;
  row->reached += reached;
  row->reached_by_problem.push_back(reached);
  const TreeShape shape = ShapeOf(root);
  row->visited += shape.visited;
  row->expanded += shape.expanded;
  row->branching += shape.branching;
  row->depth += shape.max_depth;
  if (!first) return;
  if (!spec.dot.empty()) WriteFileAtomic(spec.dot, TreeToDot(root));
  char buf[256];
  std::snprintf(buf, sizeof buf,
                "The first problem (%d simulations per move, %d children): %d moves, %d simulations, %d "
                "expanded nodes, %d visited, branching %.2f, depth %d; the committed line is %s:\n\n",
                row->simulations, row->max_children, st.moves, st.simulations, shape.expanded, shape.visited,
                shape.branching, shape.max_depth, task.Verify(st.best, prob).correct ? "right" : "wrong");
  *first = buf;
  *first += "```\n" + prob.prompt + "\n" + st.best + "\n```\n";
}

// MCTS as play at one grid point, `per_call` problems per batched search.
Row SearchRow(Transformer& policy, Transformer& value, const Task& task, const std::vector<Problem>& problems,
              const SamplingConfig& sampling, const SearchCmdSpec& spec, int sims, int mc, int per_call,
              std::string* first) {
  Row row;
  row.simulations = sims;
  row.max_children = mc;
  SearchConfig sc = spec.search;
  sc.set_max_children(mc);
  sc.set_step_samples(mc);
  sc.set_leaf_value(value ? VALUE_NETWORK : ROLLOUT);
  *sc.mutable_sampling() = sampling;
  const SearchParams params = SearchParamsFrom(sc, spec.seed);
  FlopCounter flops;
  Progress progress("search (" + std::to_string(sims) + " simulations, max children " + std::to_string(mc) + ")",
                    spec.problems);
  for (int start = 0; start < spec.problems; start += per_call) {
    const int end = std::min(spec.problems, start + per_call);
    const std::vector<Problem> chunk(problems.begin() + start, problems.begin() + end);
    auto env = MakePolicyEnv(sc, policy, task, chunk, value, /*verify_terminals=*/!value,
                             spec.seed + static_cast<uint64_t>(start), &flops);
    std::vector<Node> roots(chunk.size());
    const ForestStats fs = SearchForest(*env, roots, {sims, spec.search.leaf_batch(), sampling.max_new_tokens()}, params);
    row.seconds += fs.seconds;
    row.env_seconds += fs.env_seconds;
    row.leaves += static_cast<double>(fs.leaves_evaluated);
    row.env_calls += fs.env_calls;
    for (int i = start; i < end; ++i)
      AddTree(task, problems[static_cast<size_t>(i)], roots[static_cast<size_t>(i - start)],
              fs.trees[static_cast<size_t>(i - start)], spec, &row, i == 0 ? first : nullptr);
    progress.Update(end, "");
  }
  progress.Finish(spec.problems, "");
  row.flops = flops.Total() / spec.problems;
  return row;
}

// Sampling at each row's FLOPs: k samples per problem (the first k of one
// draw of the largest k), for majority vote and pass@k.
struct SameFlopsSampling {
  double per_sample = 0;  // FLOPs of one sample
  double pass1 = 0;
  std::vector<int> ks;  // per row
  std::vector<std::vector<Candidate>> candidates;  // per problem, the largest k
};

SameFlopsSampling SampleAtSameFlops(Transformer& policy, const Task& task, const std::vector<Problem>& problems,
                                    const SamplingConfig& sampling, const SearchCmdSpec& spec,
                                    const std::vector<Row>& rows) {
  SameFlopsSampling s;
  FlopCounter probe;
  SampleCompletions(policy, problems, 1, sampling, spec.seed + 7, &probe);
  s.per_sample = probe.Total() / spec.problems;
  for (const Row& r : rows)
    s.ks.push_back(std::clamp(static_cast<int>(std::lround(r.flops / std::max(1.0, s.per_sample))), 1, 512));
  const int kmax = *std::max_element(s.ks.begin(), s.ks.end());
  const Samples many = SampleCompletions(policy, problems, kmax, sampling, spec.seed + 8, nullptr);
  s.candidates.resize(problems.size());
  for (size_t r = 0; r < many.completions.size(); ++r) {
    const Verdict v = task.Verify(many.completions[r], *many.problems[r]);
    s.candidates[r / static_cast<size_t>(kmax)].push_back({v.extracted, v.correct, 0});
  }
  for (const auto& c : s.candidates) s.pass1 += c.front().correct;
  s.pass1 /= static_cast<double>(problems.size());
  return s;
}

// The grid as a table, each row beside sampling at its FLOPs.
std::string GridTable(const std::vector<Row>& rows, const SameFlopsSampling& s, double n) {
  std::string out =
      "| simulations per move | max children | MCTS % | FLOPs per problem | visited nodes | expanded | branching | max "
      "depth | reached a right line % | stuck % | k (same FLOPs) | majority@k % | pass@k % | leaves/s | leaves per call "
      "| network share |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n";
  auto right = [](const Candidate& c) { return c.correct; };
  for (size_t r = 0; r < rows.size(); ++r) {
    const Row& row = rows[r];
    const int k = s.ks[r];
    std::vector<std::vector<Candidate>> cands;
    int stuck = 0;  // sampling at the same FLOPs finds a right answer, the search never reaches one
    double any = 0;
    for (size_t p = 0; p < s.candidates.size(); ++p) {
      cands.emplace_back(s.candidates[p].begin(), s.candidates[p].begin() + k);
      const bool found = std::any_of(cands.back().begin(), cands.back().end(), right);
      stuck += found && !row.reached_by_problem[p];
      any += found;
    }
    char buf[512];
    std::snprintf(buf, sizeof buf,
                  "| %d | %d | %.1f | %.3g | %.0f | %.0f | %.2f | %.1f | %.1f | %.1f | %d | %.1f | %.1f | %.0f | %.1f | "
                  "%.0f%% |\n",
                  row.simulations, row.max_children, 100 * row.solved / n, row.flops, row.visited / n, row.expanded / n,
                  row.branching / n, row.depth / n, 100 * row.reached / n, 100 * stuck / n, k,
                  100 * SelectionAccuracy(cands, k, Selection::kMajority), 100 * any / n,
                  row.seconds > 0 ? row.leaves / row.seconds : 0.0, row.env_calls > 0 ? row.leaves / row.env_calls : 0.0,
                  row.seconds > 0 ? 100 * row.env_seconds / row.seconds : 0.0);
    out += buf;
  }
  return out +
         "\nVisited nodes are distinct prefixes the search evaluated or passed through; branching is the mean number "
         "of visited children of an expanded node; \"reached a right line\": some finished line in the tree is right; "
         "pass@k is best-of-k with the verifier choosing; "
         "\"stuck\": sampling at the same FLOPs finds a right answer but the search never reaches one (local optima "
         "under the extension limit). Network share: the time inside the environment's batched calls; the rest is "
         "tree work.\n";
}

}  // namespace

std::string RunSearchCmd(Transformer& policy, const Task& task, const EvalConfig& eval, const SearchCmdSpec& spec) {
  if (spec.problems > static_cast<int>(task.TestSet().size()))
    throw ConfigError("search: --problems " + std::to_string(spec.problems) + " exceeds the test split (" +
                      std::to_string(task.TestSet().size()) + ")");
  if (spec.max_children.empty() || spec.simulations.empty())
    throw ConfigError("search: --simulations and --max-children need at least one value each");
  const std::vector<Problem> problems(task.TestSet().begin(), task.TestSet().begin() + spec.problems);
  const SamplingConfig& sampling = eval.sampling();
  const int per_call = spec.trees > 0 ? std::min(spec.trees, spec.problems) : spec.problems;

  Transformer value{nullptr};
  FlopCounter value_flops;
  if (spec.value_traces > 0) value = PretrainCmdValue(policy, task, sampling, spec, &value_flops);

  std::vector<Row> rows;
  std::string first_problem;  // the first problem's line and tree, from the first row
  for (int sims : spec.simulations)
    for (int mc : spec.max_children)
      rows.push_back(SearchRow(policy, value, task, problems, sampling, spec, sims, mc, per_call,
                               rows.empty() ? &first_problem : nullptr));
  const SameFlopsSampling same = SampleAtSameFlops(policy, task, problems, sampling, spec, rows);

  char buf[512];
  std::snprintf(buf, sizeof buf,
                "%s MCTS as play on %d held-out problems: leaf batch %d per tree, %d trees per batched call, %s; "
                "leaf values: %s. Sampling one sample per problem: pass@1 %.1f%% at %.3g FLOPs.\n\n",
                spec.search.nodes() == STEP_NODES ? "Step-level" : "Token-level", spec.problems, spec.search.leaf_batch(),
                per_call, spec.search.uct() ? "UCT" : "PUCT",
                value ? "the value network (no gold)" : "the verifier on rollouts (sees the gold)", 100 * same.pass1,
                same.per_sample);
  std::string out = buf + GridTable(rows, same, spec.problems);
  if (value) {
    std::snprintf(buf, sizeof buf,
                  "\nThe search never sees the gold answer: compare it with the majority vote. Training the value "
                  "network on %d samples cost %.3g FLOPs (not in the per-problem column).\n",
                  spec.value_traces, value_flops.Total());
    out += buf;
  } else {
    out += "\nThe search's leaf values come from the verifier, which knows the gold answer: compare it with pass@k, "
           "which also lets the verifier choose, not with the majority vote.\n";
  }
  out += "\n" + first_problem;
  if (!spec.dot.empty()) out += "\nIts tree: " + spec.dot + "\n";
  if (value) out += "\n" + ValueErrorTable(policy, value, task, problems, sampling, spec.seed + 13);
  return out;
}

}  // namespace r1lab

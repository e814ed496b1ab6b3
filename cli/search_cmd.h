// `r1lab search`: MCTS as play (token or step nodes) with a policy
// checkpoint on held-out problems, many problems per batched call, one row
// per (simulations, extension limit) pair, against sampling at the same FLOPs
// (majority vote, and pass@k: with verified rollouts at the leaves the search
// consults the gold answer, so pass@k is the like-for-like baseline), with
// the search-space measurements (nodes, branching, depth, problems where the
// search never reaches a right line).
#pragma once

#include <string>
#include <vector>

#include "r1lab.pb.h"
#include "task.h"
#include "transformer.h"

namespace r1lab {

struct SearchCmdSpec {
  int problems = 20;
  // Per committed move, and the extension limit: one table row per pair (a sweep).
  std::vector<int> simulations = {32};
  std::vector<int> max_children = {4};
  // Step-level nodes (a child is a sampled next line; `max_children`
  // continuations sampled per leaf) instead of token-level ones.
  bool step_level = false;
  int leaf_batch = 8;      // leaves per tree per environment call
  int trees = 0;           // problems searched at once (0 = all)
  double first_play = 0.5;
  bool uct = false;
  uint64_t seed = 1;
  // > 0: value leaves from a value network trained on this many of the
  // policy's own samples (soft Monte Carlo targets at 4-token steps); the
  // search then never consults the gold answer. 0: verified rollouts.
  int value_traces = 0;
  std::string dot;  // write the first problem's tree here ("" = no)
};

// Returns the markdown report.
std::string RunSearchCmd(Transformer& policy, const Task& task, const EvalConfig& eval, const SearchCmdSpec& spec);

}  // namespace r1lab

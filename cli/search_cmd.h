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
  // Everything else about the tree (nodes, leaf_batch, c_puct, first_play,
  // uct, root noise, step_end, ...), from proto/r1lab.proto's defaults and
  // --set search.FIELD=VALUE. Per row, max_children and step_samples are the
  // row's extension limit and leaf_value follows value_traces; the sampling
  // is the experiment's eval sampling.
  SearchConfig search;
  int trees = 0;           // problems searched at once (0 = all)
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

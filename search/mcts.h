// Monte Carlo tree search over text: a node appends a token or a step to its
// parent's text. The environment supplies, for a batch of leaf texts, the
// candidate continuations with priors (nothing for a terminal) and the
// leaf's value: the verifier's for terminals, the value network's or a
// rollout's otherwise. Leaves are collected `leaf_batch` at a time with
// virtual loss, evaluated in one environment call, then backed up.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tree.h"

namespace r1lab {

struct LeafEval {
  std::vector<std::pair<std::string, double>> children;  // empty: terminal
  double value = 0;                                       // in [0, 1]
};

class SearchEnv {
 public:
  virtual ~SearchEnv() = default;
  // One evaluation per text, in order (batched for the network).
  virtual std::vector<LeafEval> Evaluate(const std::vector<std::string>& texts) = 0;
};

struct SearchStats {
  int simulations = 0;
  int nodes = 0;          // expanded nodes
  int max_depth = 0;
  int env_calls = 0;
  double mean_leaf_batch = 0;
  std::string best;       // the most-visited line from the root
  double best_value = 0;  // its last node's Q
};

// Runs `simulations` more descents from `root` (its text is the prompt
// side; an already-searched tree is reused, statistics and all).
SearchStats RunSearch(SearchEnv& env, Node& root, int simulations, int leaf_batch, const SearchParams& params);

// Search as play: from `root`, run `simulations_per_move` descents, commit
// to the most-visited child, and continue from it (reusing its subtree)
// until a terminal node or `max_moves`. Returns the committed line in `best`
// (its value: the committed node's Q) and the totals.
SearchStats SearchMoves(SearchEnv& env, Node& root, int simulations_per_move, int leaf_batch, int max_moves,
                        const SearchParams& params);

// The tree as Graphviz DOT (via Boost.Graph): one vertex per visited node,
// labelled with its text, visits and Q.
std::string TreeToDot(const Node& root);

}  // namespace r1lab

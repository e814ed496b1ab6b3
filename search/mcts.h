// Monte Carlo tree search over text: a node appends a token or a step to its
// parent's text. The environment supplies, for a batch of leaves (each
// tagged with its tree, so one call serves many searches), the candidate
// continuations with priors (nothing for a terminal) and the leaf's value:
// the verifier's for terminals, the value network's or a rollout's
// otherwise.
//
// Many trees are searched at once (KataGo/OpenSpiel style): every round
// collects up to `leaf_batch` leaves from each unfinished tree, with virtual
// loss so descents within a tree diverge, evaluates all of them in one
// environment call, then expands and backs up. The per-tree work (selection,
// expansion, backup) runs in parallel across trees on oneTBB; each tree is
// touched by one task at a time, so a deterministic environment gives the
// same trees with any thread count.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "tree.h"

namespace r1lab {

struct LeafEval {
  std::vector<std::pair<std::string, double>> children;  // empty: terminal
  // Each child's token ids, in order, or empty: an environment over a
  // tokenizer whose text does not encode back to the same tokens (byte-level
  // BPE: "4" then "8" re-encodes as "48") keeps the tree in ids.
  std::vector<std::vector<int>> child_ids;
  double value = 0;  // in [0, 1]
};

struct LeafQuery {
  size_t tree = 0;   // index into the roots of the search
  std::string text;  // the root's text and every appended piece
  std::vector<int> ids;  // their token ids, where the environment gave them (empty: encode `text`)
};

class SearchEnv {
 public:
  virtual ~SearchEnv() = default;
  // One evaluation per leaf, in order (batched for the network).
  virtual std::vector<LeafEval> Evaluate(const std::vector<LeafQuery>& leaves) = 0;
};

struct SearchStats {
  int simulations = 0;
  int nodes = 0;          // expanded nodes
  int max_depth = 0;      // below the tree's root
  int moves = 0;          // committed moves (search as play)
  std::string best;       // the most-visited line from the root, or the committed line
  double best_value = 0;  // its last node's Q
  // Search as play: at each committed move, the children's texts and visit
  // counts at that moment (AlphaZero's policy target).
  std::vector<std::vector<std::pair<std::string, int>>> move_visits;
  // Token ids, where the environment gave them: best's, and each committed
  // move's children's (aligned with move_visits).
  std::vector<int> best_ids;
  std::vector<std::vector<std::vector<int>>> move_ids;
};

struct SearchRun {
  int simulations = 0;    // per tree, or per committed move
  int leaf_batch = 8;     // leaves per tree per round
  // Search as play: after each move's simulations, commit to the
  // most-visited child and search on from it (reusing its subtree) until a
  // terminal or this many moves. 0: search the root only.
  int max_moves = 0;
};

struct ForestStats {
  std::vector<SearchStats> trees;
  int env_calls = 0;
  int64_t leaves_evaluated = 0;
  double mean_leaf_batch = 0;  // leaves per environment call
  double env_seconds = 0;      // inside SearchEnv::Evaluate
  double seconds = 0;          // the whole search
};

// Searches every root at once (trees are reused, statistics and all).
// Root Dirichlet noise (params.dirichlet_alpha > 0) is mixed into each
// searched root's priors once, when it is first expanded or committed to.
ForestStats SearchForest(SearchEnv& env, const std::vector<Node*>& roots, const SearchRun& run,
                         const SearchParams& params);

// The same over fresh roots held in one vector (a Node can be neither copied
// nor moved, so size the vector once: std::vector<Node> roots(n)).
ForestStats SearchForest(SearchEnv& env, std::vector<Node>& roots, const SearchRun& run, const SearchParams& params);

// One tree: `simulations` more descents from `root`.
SearchStats RunSearch(SearchEnv& env, Node& root, int simulations, int leaf_batch, const SearchParams& params);
// One tree, search as play.
SearchStats SearchMoves(SearchEnv& env, Node& root, int simulations_per_move, int leaf_batch, int max_moves,
                        const SearchParams& params);

// The text from the tree's root to `n`, and its token ids (those the
// environment gave the nodes).
std::string TextOf(const Node* n);
std::vector<int> IdsOf(const Node* n);

// What a search explored: the search-space growth measurements.
struct TreeShape {
  int visited = 0;      // nodes with a visit (distinct prefixes evaluated or passed through)
  int expanded = 0;     // nodes whose children were generated
  int terminals = 0;    // visited finished lines
  int max_depth = 0;
  double branching = 0; // mean visited children of an expanded, visited non-terminal node
};
TreeShape ShapeOf(const Node& root);
// Every visited terminal node, in depth-first order.
std::vector<const Node*> VisitedTerminals(const Node& root);

// The tree as Graphviz DOT (via Boost.Graph): one vertex per visited node,
// labelled with its text, visits and Q.
std::string TreeToDot(const Node& root);

}  // namespace r1lab

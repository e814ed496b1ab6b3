#include "mcts.h"

#include <tbb/parallel_for.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <sstream>

#include <boost/graph/adjacency_list.hpp>
#include <boost/graph/graphviz.hpp>

#include "error.h"
#include "rng.h"

namespace r1lab {

std::string TextOf(const Node* n) {
  std::vector<const Node*> path;
  for (; n; n = n->parent) path.push_back(n);
  std::string s;
  for (auto it = path.rbegin(); it != path.rend(); ++it) s += (*it)->text;
  return s;
}

std::vector<int> IdsOf(const Node* n) {
  std::vector<const Node*> path;
  for (; n; n = n->parent) path.push_back(n);
  std::vector<int> ids;
  for (auto it = path.rbegin(); it != path.rend(); ++it) ids.insert(ids.end(), (*it)->ids.begin(), (*it)->ids.end());
  return ids;
}

namespace {

double Seconds(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

Node* MostVisitedChild(const Node& n) {
  if (n.children.empty()) return nullptr;
  Node* best = n.children.front().get();
  for (const auto& c : n.children)
    if (c->visits.load() > best->visits.load()) best = c.get();
  return best->visits.load() > 0 ? best : nullptr;
}

// One tree's search in progress.
struct TreeRun {
  Node* root = nullptr;
  Node* cur = nullptr;  // where descents start: the root, or the last committed node
  int left = 0;         // simulations left for the current move
  bool done = false;
  const Node* noised = nullptr;  // the node whose priors got root noise
  std::vector<Node*> leaves;     // this round's descents
  std::vector<size_t> to_eval;   // indices into leaves of the distinct unexpanded ones
  size_t first_query = 0;        // their position in the round's environment call
  SearchStats stats;
};

void MaybeNoise(TreeRun& t, size_t index, const SearchParams& p) {
  if (p.dirichlet_alpha <= 0 || t.noised == t.cur || !t.cur->expanded.load() || t.cur->children.empty()) return;
  AddDirichletNoise(*t.cur, p.dirichlet_alpha, p.dirichlet_fraction,
                    SplitMix64(p.noise_seed ^ SplitMix64(index * 1000003ULL + static_cast<uint64_t>(t.stats.moves))));
  t.noised = t.cur;
}

// Descends `want` times from t.cur with virtual loss.
void Collect(TreeRun& t, int want, const SearchParams& p) {
  t.leaves.clear();
  t.to_eval.clear();
  for (int k = 0; k < want; ++k) {
    Node* n = t.cur;
    int depth = 0;
    while (n->expanded.load() && !n->terminal && !n->children.empty()) {
      n = n->children[static_cast<size_t>(SelectChild(*n, p))].get();
      ++depth;
    }
    t.stats.max_depth = std::max(t.stats.max_depth, t.stats.moves + depth);
    AddVirtualLoss(PathTo(n), p);
    t.leaves.push_back(n);
    ++t.stats.simulations;
    if (!n->expanded.load() &&
        std::none_of(t.to_eval.begin(), t.to_eval.end(), [&](size_t i) { return t.leaves[i] == n; }))
      t.to_eval.push_back(t.leaves.size() - 1);
  }
}

// Expands the evaluated leaves, backs up every descent, and commits a move
// when the current one's simulations are spent.
void Apply(TreeRun& t, size_t index, const std::vector<LeafEval>& evals, const SearchRun& run, const SearchParams& p) {
  for (size_t j = 0; j < t.to_eval.size(); ++j) {
    Node* n = t.leaves[t.to_eval[j]];
    const LeafEval& e = evals[t.first_query + j];
    n->terminal = e.children.empty();
    Expand(*n, e.children, p, e.child_ids);
    ++t.stats.nodes;
  }
  for (size_t i = 0; i < t.leaves.size(); ++i) {
    Node* n = t.leaves[i];
    const auto path = PathTo(n);
    RemoveVirtualLoss(path, p);
    double v = 0;
    const auto it = std::find_if(t.to_eval.begin(), t.to_eval.end(), [&](size_t k) { return t.leaves[k] == n; });
    if (it != t.to_eval.end()) v = evals[t.first_query + static_cast<size_t>(it - t.to_eval.begin())].value;
    else if (n->visits.load() > 0) v = n->value_sum.load() / n->visits.load();  // a terminal again: its fixed value
    Backup(path, v);
  }
  MaybeNoise(t, index, p);
  t.left -= static_cast<int>(t.leaves.size());
  if (t.left > 0) return;
  if (run.max_moves == 0 || t.cur->terminal) {
    t.done = true;
    return;
  }
  Node* next = MostVisitedChild(*t.cur);
  if (!next) {
    t.done = true;
    return;
  }
  std::vector<std::pair<std::string, int>> visits;
  std::vector<std::vector<int>> ids;
  for (const auto& c : t.cur->children) {
    visits.emplace_back(c->text, c->visits.load());
    ids.push_back(c->ids);
  }
  t.stats.move_visits.push_back(std::move(visits));
  t.stats.move_ids.push_back(std::move(ids));
  t.cur = next;
  ++t.stats.moves;
  t.left = run.simulations;
  if (t.cur->terminal || t.stats.moves >= run.max_moves) t.done = true;
  else MaybeNoise(t, index, p);
}

}  // namespace

ForestStats SearchForest(SearchEnv& env, const std::vector<Node*>& roots, const SearchRun& run,
                         const SearchParams& params) {
  if (run.simulations < 1 || run.leaf_batch < 1)
    throw ConfigError("search: simulations and leaf_batch must be at least 1");
  if (run.max_moves < 0) throw ConfigError("search: max_moves must be at least 0");
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<TreeRun> trees(roots.size());
  for (size_t i = 0; i < roots.size(); ++i) {
    trees[i].root = trees[i].cur = roots[i];
    trees[i].left = run.simulations;
    MaybeNoise(trees[i], i, params);
  }
  ForestStats out;
  for (;;) {
    std::vector<size_t> active;
    for (size_t i = 0; i < trees.size(); ++i)
      if (!trees[i].done) active.push_back(i);
    if (active.empty()) break;
    tbb::parallel_for(size_t{0}, active.size(), [&](size_t a) {
      TreeRun& t = trees[active[a]];
      Collect(t, std::min(run.leaf_batch, t.left), params);
    });
    std::vector<LeafQuery> queries;
    for (size_t i : active) {
      trees[i].first_query = queries.size();
      for (size_t k : trees[i].to_eval) queries.push_back({i, TextOf(trees[i].leaves[k]), IdsOf(trees[i].leaves[k])});
    }
    std::vector<LeafEval> evals;
    if (!queries.empty()) {
      const auto te = std::chrono::steady_clock::now();
      evals = env.Evaluate(queries);
      out.env_seconds += Seconds(te);
      R1_CHECK(evals.size() == queries.size(), "search: the environment returned the wrong number of evaluations");
      ++out.env_calls;
      out.leaves_evaluated += static_cast<int64_t>(queries.size());
    }
    tbb::parallel_for(size_t{0}, active.size(),
                      [&](size_t a) { Apply(trees[active[a]], active[a], evals, run, params); });
  }
  for (TreeRun& t : trees) {
    if (run.max_moves == 0) {  // the most-visited line from the root
      for (Node* next = MostVisitedChild(*t.cur); next; next = MostVisitedChild(*next)) t.cur = next;
    }
    t.stats.best = TextOf(t.cur);
    t.stats.best_ids = IdsOf(t.cur);
    t.stats.best_value = t.cur->Q(0);
    out.trees.push_back(std::move(t.stats));
  }
  out.mean_leaf_batch = out.env_calls ? static_cast<double>(out.leaves_evaluated) / out.env_calls : 0;
  out.seconds = Seconds(t0);
  return out;
}

ForestStats SearchForest(SearchEnv& env, std::vector<Node>& roots, const SearchRun& run, const SearchParams& params) {
  std::vector<Node*> ptrs;
  for (Node& r : roots) ptrs.push_back(&r);
  return SearchForest(env, ptrs, run, params);
}

SearchStats RunSearch(SearchEnv& env, Node& root, int simulations, int leaf_batch, const SearchParams& params) {
  return SearchForest(env, {&root}, {simulations, leaf_batch, 0}, params).trees.at(0);
}

SearchStats SearchMoves(SearchEnv& env, Node& root, int simulations_per_move, int leaf_batch, int max_moves,
                        const SearchParams& params) {
  if (max_moves < 1) throw ConfigError("search: max_moves must be at least 1");
  return SearchForest(env, {&root}, {simulations_per_move, leaf_batch, max_moves}, params).trees.at(0);
}

TreeShape ShapeOf(const Node& root) {
  TreeShape s;
  int internal = 0, internal_children = 0;
  std::vector<std::pair<const Node*, int>> stack = {{&root, 0}};
  while (!stack.empty()) {
    const auto [n, depth] = stack.back();
    stack.pop_back();
    if (n->visits.load() == 0) continue;
    ++s.visited;
    s.max_depth = std::max(s.max_depth, depth);
    if (n->terminal) ++s.terminals;
    if (n->expanded.load()) ++s.expanded;
    int kids = 0;
    for (const auto& c : n->children)
      if (c->visits.load() > 0) {
        ++kids;
        stack.push_back({c.get(), depth + 1});
      }
    if (n->expanded.load() && !n->terminal && kids > 0) {
      ++internal;
      internal_children += kids;
    }
  }
  s.branching = internal ? static_cast<double>(internal_children) / internal : 0;
  return s;
}

std::vector<const Node*> VisitedTerminals(const Node& root) {
  std::vector<const Node*> out, stack = {&root};
  while (!stack.empty()) {
    const Node* n = stack.back();
    stack.pop_back();
    if (n->visits.load() == 0) continue;
    if (n->terminal) out.push_back(n);
    for (auto it = n->children.rbegin(); it != n->children.rend(); ++it) stack.push_back(it->get());
  }
  return out;
}

std::string TreeToDot(const Node& root) {
  using Graph = boost::adjacency_list<boost::vecS, boost::vecS, boost::directedS>;
  Graph g;
  std::vector<std::string> labels;
  std::vector<const Node*> stack = {&root};
  std::vector<Graph::vertex_descriptor> ids = {boost::add_vertex(g)};
  labels.push_back("");
  for (size_t i = 0; i < stack.size(); ++i) {
    const Node* n = stack[i];
    char buf[64];
    std::snprintf(buf, sizeof buf, "\\nN=%d Q=%.2f", n->visits.load(), n->Q(0));
    std::string text = n->text;
    for (char& c : text)
      if (c == '"' || c == '\\' || c == '\n') c = c == '\n' ? ' ' : '\'';
    labels[i] = text + buf;
    for (const auto& c : n->children) {
      if (c->visits.load() == 0) continue;
      stack.push_back(c.get());
      ids.push_back(boost::add_vertex(g));
      labels.push_back("");
      boost::add_edge(ids[i], ids.back(), g);
    }
  }
  std::ostringstream out;
  // GCC 12 reports a maybe-uninitialized edge iterator inside Boost.Graph's
  // writer when it inlines it (a false positive in the library).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
  boost::write_graphviz(out, g, boost::make_label_writer(labels.data()));
#pragma GCC diagnostic pop
  return out.str();
}

}  // namespace r1lab

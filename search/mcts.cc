#include "mcts.h"

#include <algorithm>
#include <cstdio>
#include <sstream>

#include <boost/graph/adjacency_list.hpp>
#include <boost/graph/graphviz.hpp>

#include "error.h"

namespace r1lab {

namespace {

std::string TextOf(const Node* n) {
  std::vector<const Node*> path;
  for (; n; n = n->parent) path.push_back(n);
  std::string s;
  for (auto it = path.rbegin(); it != path.rend(); ++it) s += (*it)->text;
  return s;
}

}  // namespace

SearchStats RunSearch(SearchEnv& env, Node& root, int simulations, int leaf_batch, const SearchParams& params) {
  if (simulations < 1 || leaf_batch < 1) throw ConfigError("search: simulations and leaf_batch must be at least 1");
  SearchStats stats;
  double batch_sum = 0;
  while (stats.simulations < simulations) {
    // Collect leaves: descend with virtual loss so the next descent diverges.
    std::vector<Node*> leaves;
    const int want = std::min(leaf_batch, simulations - stats.simulations);
    for (int k = 0; k < want; ++k) {
      Node* n = &root;
      int depth = 0;
      while (n->expanded.load() && !n->terminal && !n->children.empty()) {
        n = n->children[static_cast<size_t>(SelectChild(*n, params))].get();
        ++depth;
      }
      stats.max_depth = std::max(stats.max_depth, depth);
      AddVirtualLoss(PathTo(n), params);
      leaves.push_back(n);
      ++stats.simulations;
    }
    // Evaluate the distinct unexpanded leaves in one call; terminal leaves
    // already carry their value.
    std::vector<std::string> texts;
    std::vector<Node*> to_eval;
    for (Node* n : leaves)
      if (!n->expanded.load() && std::find(to_eval.begin(), to_eval.end(), n) == to_eval.end()) {
        to_eval.push_back(n);
        texts.push_back(TextOf(n));
      }
    std::vector<LeafEval> evals;
    if (!texts.empty()) {
      evals = env.Evaluate(texts);
      R1_CHECK(evals.size() == texts.size(), "search: the environment returned the wrong number of evaluations");
      ++stats.env_calls;
      batch_sum += static_cast<double>(texts.size());
    }
    std::vector<double> leaf_value(to_eval.size());
    for (size_t i = 0; i < to_eval.size(); ++i) {
      Node* n = to_eval[i];
      n->terminal = evals[i].children.empty();
      Expand(*n, evals[i].children, params);
      leaf_value[i] = evals[i].value;
      ++stats.nodes;
    }
    for (Node* n : leaves) {
      const auto path = PathTo(n);
      RemoveVirtualLoss(path, params);
      const auto it = std::find(to_eval.begin(), to_eval.end(), n);
      double v;
      if (it != to_eval.end()) v = leaf_value[static_cast<size_t>(it - to_eval.begin())];
      else v = n->visits.load() > 0 ? n->value_sum.load() / n->visits.load() : 0;  // a terminal again: its fixed value
      Backup(path, v);
    }
  }
  stats.mean_leaf_batch = stats.env_calls ? batch_sum / stats.env_calls : 0;
  // The most-visited line.
  const Node* n = &root;
  while (!n->children.empty()) {
    const Node* best = n->children.front().get();
    for (const auto& c : n->children)
      if (c->visits.load() > best->visits.load()) best = c.get();
    if (best->visits.load() == 0) break;
    n = best;
  }
  stats.best = TextOf(n);
  stats.best_value = n->Q(0);
  return stats;
}

SearchStats SearchMoves(SearchEnv& env, Node& root, int simulations_per_move, int leaf_batch, int max_moves,
                        const SearchParams& params) {
  SearchStats total;
  Node* cur = &root;
  double batch_weighted = 0;
  for (int move = 0; move < max_moves; ++move) {
    const SearchStats s = RunSearch(env, *cur, simulations_per_move, leaf_batch, params);
    total.simulations += s.simulations;
    total.nodes += s.nodes;
    total.env_calls += s.env_calls;
    total.max_depth = std::max(total.max_depth, move + s.max_depth);
    batch_weighted += s.mean_leaf_batch * s.env_calls;
    if (cur->terminal || cur->children.empty()) break;
    Node* next = cur->children.front().get();
    for (const auto& c : cur->children)
      if (c->visits.load() > next->visits.load()) next = c.get();
    cur = next;
    if (cur->terminal) break;
  }
  total.mean_leaf_batch = total.env_calls ? batch_weighted / total.env_calls : 0;
  total.best = TextOf(cur);
  total.best_value = cur->Q(0);
  return total;
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
  boost::write_graphviz(out, g, boost::make_label_writer(labels.data()));
  return out.str();
}

}  // namespace r1lab

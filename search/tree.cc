#include "tree.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

#include "error.h"

namespace r1lab {

double Node::Q(double first_play) const {
  const int n = visits.load() + pending.load();
  if (n == 0) return first_play;
  return value_sum.load() / n;  // pending visits add value 0
}

int SelectChild(const Node& parent, const SearchParams& p) {
  if (parent.children.empty()) throw InternalError("SelectChild: the node has no children");
  const double n_parent = std::max(1, parent.N());
  double first_play = p.first_play;
  if (p.first_play_relative && parent.N() > 0) {
    double visited_prior = 0;
    for (const auto& c : parent.children)
      if (c->N() > 0) visited_prior += c->prior;
    first_play = parent.Q(p.first_play) - p.fpu_reduction * std::sqrt(visited_prior);
  }
  int best = 0;
  double best_score = -1e300;
  for (size_t i = 0; i < parent.children.size(); ++i) {
    const Node& c = *parent.children[i];
    const int n = c.N();
    double score;
    if (p.uct) {
      if (n == 0) return static_cast<int>(i);
      score = c.Q(first_play) + p.c_uct * std::sqrt(std::log(n_parent) / n);
    } else {
      score = c.Q(first_play) + p.c_puct * c.prior * std::sqrt(n_parent) / (1.0 + n);
    }
    if (score > best_score) {
      best_score = score;
      best = static_cast<int>(i);
    }
  }
  return best;
}

bool Expand(Node& node, const std::vector<std::pair<std::string, double>>& candidates, const SearchParams& p,
            const std::vector<std::vector<int>>& ids) {
  std::lock_guard<std::mutex> lock(node.expand_mutex);
  if (node.expanded.load()) return false;
  if (p.max_children < 1) throw ConfigError("search: max_children must be at least 1");
  R1_CHECK(ids.empty() || ids.size() == candidates.size(), "search: token ids for some candidates only");
  std::vector<size_t> order(candidates.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return candidates[a].second > candidates[b].second; });
  order.resize(std::min(order.size(), static_cast<size_t>(p.max_children)));
  double total = 0;
  for (size_t i : order) total += std::max(0.0, candidates[i].second);
  for (size_t i : order) {
    auto child = std::make_unique<Node>();
    child->text = candidates[i].first;
    if (!ids.empty()) child->ids = ids[i];
    child->prior = total > 0 ? std::max(0.0, candidates[i].second) / total : 1.0 / static_cast<double>(order.size());
    child->parent = &node;
    node.children.push_back(std::move(child));
  }
  node.expanded.store(true);
  return true;
}

void AddDirichletNoise(Node& node, double alpha, double fraction, uint64_t seed) {
  if (alpha <= 0 || node.children.empty()) return;
  if (fraction < 0 || fraction > 1) throw ConfigError("search: dirichlet_fraction must be in [0, 1]");
  std::mt19937_64 gen(seed);
  std::gamma_distribution<double> gamma(alpha, 1.0);
  std::vector<double> noise(node.children.size());
  double total = 0;
  for (double& x : noise) total += x = gamma(gen);
  for (size_t i = 0; i < noise.size(); ++i) {
    const double eta = total > 0 ? noise[i] / total : 1.0 / static_cast<double>(noise.size());
    node.children[i]->prior = (1 - fraction) * node.children[i]->prior + fraction * eta;
  }
}

std::vector<Node*> PathTo(Node* leaf) {
  std::vector<Node*> path;
  for (Node* n = leaf; n; n = n->parent) path.push_back(n);
  std::reverse(path.begin(), path.end());
  return path;
}

void AddVirtualLoss(const std::vector<Node*>& path, const SearchParams& p) {
  for (Node* n : path) n->pending.fetch_add(p.virtual_loss);
}

void RemoveVirtualLoss(const std::vector<Node*>& path, const SearchParams& p) {
  for (Node* n : path) n->pending.fetch_sub(p.virtual_loss);
}

void Backup(const std::vector<Node*>& path, double value) {
  for (Node* n : path) {
    n->visits.fetch_add(1);
    n->value_sum.fetch_add(value);
  }
}

}  // namespace r1lab

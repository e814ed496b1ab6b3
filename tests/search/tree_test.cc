// The MCTS tree: selection on hand-set statistics, backup, virtual loss,
// the maximum-children limit, and concurrent updates.
#include <gtest/gtest.h>

#include <cmath>
#include <thread>

#include "tree.h"

namespace r1lab {
namespace {

// A root with three children of the given priors, visits and value sums.
std::unique_ptr<Node> Root(const std::vector<double>& priors, const std::vector<int>& visits,
                           const std::vector<double>& sums) {
  auto root = std::make_unique<Node>();
  SearchParams p;
  std::vector<std::pair<std::string, double>> c;
  for (size_t i = 0; i < priors.size(); ++i) c.emplace_back("t" + std::to_string(i), priors[i]);
  Expand(*root, c, p);
  int total = 0;
  for (size_t i = 0; i < priors.size(); ++i) {
    Node* child = root->children[i].get();
    for (auto& kid : root->children)
      if (kid->text == "t" + std::to_string(i)) child = kid.get();
    child->visits = visits[i];
    child->value_sum = sums[i];
    total += visits[i];
  }
  root->visits = total;
  return root;
}

Node* Child(Node& root, const std::string& text) {
  for (auto& c : root.children)
    if (c->text == text) return c.get();
  return nullptr;
}

TEST(Search, PuctOnHandSetStatistics) {
  // N_parent = 10. t0: P .5, N 6, Q .5; t1: P .3, N 3, Q 2/3; t2: P .2, N 1, Q 0.
  auto root = Root({0.5, 0.3, 0.2}, {6, 3, 1}, {3.0, 2.0, 0.0});
  SearchParams p;
  p.c_puct = 1.5;
  const double s = std::sqrt(10.0);
  const double u0 = 0.5 + 1.5 * 0.5 * s / 7, u1 = 2.0 / 3 + 1.5 * 0.3 * s / 4, u2 = 0 + 1.5 * 0.2 * s / 2;
  ASSERT_GT(u1, u0);
  ASSERT_GT(u1, u2);
  EXPECT_EQ(root->children[SelectChild(*root, p)]->text, "t1");
  // More exploration weight favours the high-prior, rarely visited children.
  p.c_puct = 20;
  const double v0 = 0.5 + 20 * 0.5 * s / 7, v2 = 20 * 0.2 * s / 2, v1 = 2.0 / 3 + 20 * 0.3 * s / 4;
  const std::string expect = v0 > v1 && v0 > v2 ? "t0" : (v1 > v2 ? "t1" : "t2");
  EXPECT_EQ(root->children[SelectChild(*root, p)]->text, expect);
}

TEST(Search, UctVisitsUnvisitedFirstThenFollowsTheFormula) {
  auto root = Root({0.9, 0.05, 0.05}, {5, 0, 3}, {4.0, 0.0, 1.0});
  SearchParams p;
  p.uct = true;
  EXPECT_EQ(root->children[SelectChild(*root, p)]->text, "t1") << "the unvisited child";
  Child(*root, "t1")->visits = 2;
  Child(*root, "t1")->value_sum = 0.0;
  root->visits = 10;
  // t0: .8 + 1.414 sqrt(ln10/5); t1: 0 + 1.414 sqrt(ln10/2); t2: 1/3 + 1.414 sqrt(ln10/3)
  const double l = std::log(10.0);
  const double u0 = 0.8 + 1.414 * std::sqrt(l / 5), u1 = 1.414 * std::sqrt(l / 2), u2 = 1.0 / 3 + 1.414 * std::sqrt(l / 3);
  const std::string expect = u0 >= u1 && u0 >= u2 ? "t0" : (u1 >= u2 ? "t1" : "t2");
  EXPECT_EQ(root->children[SelectChild(*root, p)]->text, expect);
}

TEST(Search, FirstPlayValueAppliesToUnvisitedChildren) {
  auto root = Root({0.5, 0.5}, {4, 0}, {1.0, 0.0});  // t0: Q .25
  SearchParams p;
  p.first_play_relative = false;
  p.c_puct = 0;  // pure exploitation
  p.first_play = 0.0;
  EXPECT_EQ(root->children[SelectChild(*root, p)]->text, "t0");
  p.first_play = 1.0;  // optimistic: try the unvisited one
  EXPECT_EQ(root->children[SelectChild(*root, p)]->text, "t1");
}

// KataGo's FPU reduction. Parent: N 10, Q .9. t0: P .9, N 10, Q .85
// (score .85 + 1.5 * .9 * sqrt(10) / 11 = 1.238); t1: P .1, unvisited
// (exploration 1.5 * .1 * sqrt(10) = .474). Relative: Q(t1) = .9 - .1 *
// sqrt(.9) = .805, score 1.279, so t1; absolute first_play .5: .974, so t0.
TEST(Search, FirstPlayRelativeToTheParentFollowsKataGo) {
  auto root = Root({0.9, 0.1}, {10, 0}, {8.5, 0.0});
  root->value_sum = 9.0;
  SearchParams p;
  p.c_puct = 1.5;
  ASSERT_TRUE(p.first_play_relative);  // the default
  ASSERT_DOUBLE_EQ(p.fpu_reduction, 0.1);
  const double s = std::sqrt(10.0);
  const double u0 = 0.85 + 1.5 * 0.9 * s / 11, u1_rel = 0.9 - 0.1 * std::sqrt(0.9) + 1.5 * 0.1 * s,
               u1_abs = 0.5 + 1.5 * 0.1 * s;
  ASSERT_GT(u1_rel, u0);
  ASSERT_LT(u1_abs, u0);
  EXPECT_EQ(root->children[SelectChild(*root, p)]->text, "t1");
  p.first_play_relative = false;
  EXPECT_EQ(root->children[SelectChild(*root, p)]->text, "t0");
  // A larger reduction makes the unvisited child pessimistic again.
  p.first_play_relative = true;
  p.fpu_reduction = 0.5;
  EXPECT_EQ(root->children[SelectChild(*root, p)]->text, "t0");
}

TEST(Search, BackupAndVirtualLoss) {
  auto root = Root({0.6, 0.4}, {0, 0}, {0.0, 0.0});
  Node* leaf = Child(*root, "t0");
  const auto path = PathTo(leaf);
  ASSERT_EQ(path.size(), 2u);
  EXPECT_EQ(path[0], root.get());
  Backup(path, 1.0);
  Backup(path, 0.0);
  EXPECT_EQ(leaf->visits.load(), 2);
  EXPECT_EQ(root->visits.load(), 2);
  EXPECT_DOUBLE_EQ(leaf->Q(0), 0.5);
  SearchParams p;
  p.virtual_loss = 2;
  AddVirtualLoss(path, p);
  EXPECT_EQ(leaf->N(), 4);
  EXPECT_DOUBLE_EQ(leaf->Q(0), 0.25) << "pending descents count as losses";
  RemoveVirtualLoss(path, p);
  EXPECT_EQ(leaf->N(), 2);
  EXPECT_DOUBLE_EQ(leaf->Q(0), 0.5) << "removed exactly";
}

TEST(Search, MaximumChildrenKeepsTheHighestPriorsRenormalised) {
  Node n;
  SearchParams p;
  p.max_children = 2;
  EXPECT_TRUE(Expand(n, {{"a", 0.1}, {"b", 0.5}, {"c", 0.3}, {"d", 0.1}}, p));
  ASSERT_EQ(n.children.size(), 2u);
  EXPECT_EQ(n.children[0]->text, "b");
  EXPECT_EQ(n.children[1]->text, "c");
  EXPECT_DOUBLE_EQ(n.children[0]->prior, 0.5 / 0.8);
  EXPECT_DOUBLE_EQ(n.children[1]->prior, 0.3 / 0.8);
  EXPECT_EQ(n.children[0]->parent, &n);
  EXPECT_FALSE(Expand(n, {{"e", 1.0}}, p)) << "a node expands once";
  EXPECT_EQ(n.children.size(), 2u);
}

TEST(Search, ConcurrentBackupsAndVirtualLossesBalance) {
  auto root = Root({0.5, 0.5}, {0, 0}, {0.0, 0.0});
  const auto path = PathTo(Child(*root, "t1"));
  SearchParams p;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) {
        AddVirtualLoss(path, p);
        Backup(path, 0.5);
        RemoveVirtualLoss(path, p);
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(root->visits.load(), 40000);
  EXPECT_EQ(root->pending.load(), 0);
  EXPECT_DOUBLE_EQ(root->value_sum.load(), 20000.0);
}

}  // namespace
}  // namespace r1lab

#include <tbb/global_control.h>

#include "mcts.h"

namespace r1lab {
namespace {

// Three letters, three deep; only one line is right ("cab" for tree 0, the
// tree's own answer for others). Uniform priors, and a stub value of 0 for
// every unfinished text: the search must find the answer by visiting
// terminals alone.
class CabEnv : public SearchEnv {
 public:
  std::vector<std::string> answers = {"cab"};
  int calls = 0;
  std::vector<LeafEval> Evaluate(const std::vector<LeafQuery>& leaves) override {
    ++calls;
    std::vector<LeafEval> out;
    for (const LeafQuery& q : leaves) {
      LeafEval e;
      if (q.text.size() < 3) e.children = {{"a", 1.0 / 3}, {"b", 1.0 / 3}, {"c", 1.0 / 3}};
      else e.value = q.text == answers.at(q.tree) ? 1.0 : 0.0;
      out.push_back(e);
    }
    return out;
  }
};

TEST(Mcts, UniformPriorStubFindsTheUniqueSolution) {
  for (int batch : {1, 8}) {
    CabEnv env;
    SearchParams p;
    p.first_play = 1.0;  // optimistic: unvisited children get tried
    Node root;
    const ForestStats f = SearchForest(env, {&root}, {300, batch, 0}, p);
    const SearchStats& s = f.trees.at(0);
    EXPECT_EQ(s.best, "cab") << "leaf batch " << batch;
    EXPECT_GT(s.best_value, 0.5);
    EXPECT_EQ(s.simulations, 300);
    EXPECT_LE(s.nodes, 1 + 3 + 9 + 27);
    EXPECT_EQ(s.max_depth, 3);
    if (batch > 1) {
      EXPECT_GT(f.mean_leaf_batch, 1.5) << "leaves are evaluated together";
    }
  }
}

// Many trees in one search: each finds its own answer, and one environment
// call serves them all.
TEST(Mcts, ForestSearchesEveryTreeAtOnce) {
  CabEnv env;
  env.answers = {"cab", "bca", "abc", "ccc"};
  SearchParams p;
  p.first_play = 1.0;
  std::vector<Node> roots(env.answers.size());
  const ForestStats f = SearchForest(env, roots, {300, 4, 0}, p);
  for (size_t i = 0; i < roots.size(); ++i) {
    EXPECT_EQ(f.trees[i].best, env.answers[i]);
    EXPECT_EQ(roots[i].visits.load(), 300);
  }
  EXPECT_EQ(f.env_calls, env.calls);
  EXPECT_LE(env.calls, 300 / 4) << "one call per round, not per tree";
  EXPECT_GT(f.mean_leaf_batch, 4.0) << "a call holds leaves of several trees";
  EXPECT_EQ(f.leaves_evaluated, static_cast<int64_t>(f.mean_leaf_batch * f.env_calls + 0.5));
}

// The tree work runs on oneTBB across trees; with a deterministic
// environment every node's visit count is the same with 1 thread and with 4.
TEST(Mcts, VisitCountsDoNotDependOnTheThreadCount) {
  auto visits = [](int threads) {
    tbb::global_control limit(tbb::global_control::max_allowed_parallelism, static_cast<size_t>(threads));
    CabEnv env;
    env.answers = {"cab", "bca", "abc", "ccc", "aaa", "bbb", "cba", "acb"};
    SearchParams p;
    p.first_play = 0.5;
    p.dirichlet_alpha = 0.3;  // seeded noise: still deterministic
    std::vector<Node> roots(env.answers.size());
    SearchForest(env, roots, {40, 4, 2}, p);
    std::vector<int> out;
    for (const Node& r : roots) {
      std::vector<const Node*> stack = {&r};
      while (!stack.empty()) {
        const Node* n = stack.back();
        stack.pop_back();
        out.push_back(n->visits.load());
        for (const auto& c : n->children) stack.push_back(c.get());
      }
    }
    return out;
  };
  const std::vector<int> one = visits(1), four = visits(4);
  EXPECT_EQ(one, four);
  EXPECT_GT(one.size(), 8u * 4);
}

TEST(Mcts, RootNoiseIsADirichletMixture) {
  Node n;
  SearchParams p;
  Expand(n, {{"a", 0.5}, {"b", 0.25}, {"c", 0.25}}, p);
  AddDirichletNoise(n, 0.3, 0.0, 7);
  EXPECT_DOUBLE_EQ(n.children[0]->prior, 0.5) << "fraction 0 keeps the priors";
  AddDirichletNoise(n, 0.3, 1.0, 7);
  double sum = 0;
  for (const auto& c : n.children) sum += c->prior;
  EXPECT_NEAR(sum, 1.0, 1e-12);
  const double a = n.children[0]->prior;
  EXPECT_NE(a, 0.5) << "the priors are now the noise";
  Node m;
  Expand(m, {{"a", 0.5}, {"b", 0.25}, {"c", 0.25}}, p);
  AddDirichletNoise(m, 0.3, 0.25, 7);  // the same draw, a quarter of it
  EXPECT_NEAR(m.children[0]->prior, 0.75 * 0.5 + 0.25 * a, 1e-12);
}

TEST(Mcts, TheExtensionLimitCanHideTheSolution) {
  CabEnv env;
  SearchParams p;
  p.first_play = 1.0;
  p.max_children = 2;  // keeps "a" and "b" (equal priors: the first two)
  Node root;
  const SearchStats s = RunSearch(env, root, 300, 1, p);
  EXPECT_NE(s.best.substr(0, 1), "c");
  EXPECT_EQ(s.best_value, 0.0) << "no correct leaf is reachable";
  const TreeShape shape = ShapeOf(root);
  EXPECT_EQ(shape.visited, 1 + 2 + 4 + 8) << "the whole limited tree";
  EXPECT_EQ(shape.terminals, 8);
  EXPECT_EQ(shape.max_depth, 3);
  EXPECT_DOUBLE_EQ(shape.branching, 2.0);
  EXPECT_EQ(VisitedTerminals(root).size(), 8u);
}

TEST(Mcts, SearchAsPlayCommitsMoveByMove) {
  CabEnv env;
  SearchParams p;
  p.first_play = 1.0;
  Node root;
  const SearchStats s = SearchMoves(env, root, 60, 4, 10, p);
  EXPECT_EQ(s.best, "cab");
  EXPECT_DOUBLE_EQ(s.best_value, 1.0);
  EXPECT_EQ(s.moves, 3);
  EXPECT_LE(s.simulations, 3 * 60 + 60) << "three moves, then the terminal stops it";
  // Each move's visit counts, recorded when it was made: the committed
  // child ("c", then "a", then "b") is the most visited.
  ASSERT_EQ(s.move_visits.size(), 3u);
  const std::string played = "cab";
  for (size_t m = 0; m < 3; ++m) {
    std::string top;
    int most = -1, total = 0;
    for (const auto& [text, n] : s.move_visits[m]) {
      total += n;
      if (n > most) most = n, top = text;
    }
    EXPECT_EQ(top, played.substr(m, 1)) << "move " << m;
    EXPECT_GT(total, most) << "other children were visited too";
  }
}

TEST(Mcts, TreeReuseAndDotExport) {
  CabEnv env;
  SearchParams p;
  p.first_play = 1.0;
  Node root;
  RunSearch(env, root, 50, 1, p);
  const int calls = env.calls;
  const SearchStats more = RunSearch(env, root, 250, 1, p);  // continues the same tree
  EXPECT_EQ(root.visits.load(), 300);
  EXPECT_EQ(more.best, "cab");
  EXPECT_GT(env.calls, calls);
  const std::string dot = TreeToDot(root);
  EXPECT_EQ(dot.rfind("digraph", 0), 0u) << dot.substr(0, 40);
  EXPECT_NE(dot.find("N=300"), std::string::npos);
  // One vertex per visited node, one edge into each but the root.
  size_t vertices = 0, edges = 0;
  for (size_t pos = 0; (pos = dot.find("[label=", pos)) != std::string::npos; ++pos) ++vertices;
  for (size_t pos = 0; (pos = dot.find("->", pos)) != std::string::npos; ++pos) ++edges;
  EXPECT_EQ(vertices, static_cast<size_t>(ShapeOf(root).visited));
  EXPECT_EQ(edges + 1, vertices);
}

}  // namespace
}  // namespace r1lab

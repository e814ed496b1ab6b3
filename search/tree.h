// The search tree of MCTS over tokens or steps: node statistics that are
// safe to update from several threads, PUCT and UCT selection, virtual loss,
// backup, and expansion under the report's maximum-children limit.
//
// Values are in [0, 1] (1 = the verifier says correct). A node's Q is its
// mean backed-up value, with each pending virtual loss counted as a visit of
// value 0 so parallel descents spread out.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace r1lab {

// The defaults equal SearchConfig's in proto/r1lab.proto (a test holds them
// together); configs reach the tree through SearchParamsFrom (self_search.h).
struct SearchParams {
  bool uct = false;          // false: PUCT with policy priors; true: UCT (priors ignored)
  double c_puct = 1.5;
  double c_uct = 1.414;
  int max_children = 4;      // the extension limit: children kept per node, by prior
  double first_play = 0.5;   // Q of an unvisited child (PUCT), when not relative
  // KataGo's FPU reduction: an unvisited child's Q is the parent's Q minus
  // fpu_reduction * sqrt(prior mass of the visited children); first_play
  // while the parent itself is unvisited.
  bool first_play_relative = true;
  double fpu_reduction = 0.1;
  int virtual_loss = 1;      // visits of value 0 added per pending descent
  // Root exploration noise (AlphaZero): each searched root's priors become
  // (1 - fraction) P + fraction Dir(alpha). alpha 0 = none.
  double dirichlet_alpha = 0;
  double dirichlet_fraction = 0.25;
  uint64_t noise_seed = 0;
};

struct Node {
  std::string text;          // the token or step this node appends
  std::vector<int> ids;      // its token ids, where the environment gives them (else empty)
  double prior = 0;          // P(child | parent), renormalised over kept children
  Node* parent = nullptr;
  std::vector<std::unique_ptr<Node>> children;
  bool terminal = false;

  std::atomic<int> visits{0};
  std::atomic<int> pending{0};       // virtual losses in flight
  std::atomic<double> value_sum{0};
  std::atomic<bool> expanded{false};
  std::mutex expand_mutex;

  double Q(double first_play) const;  // mean value, virtual losses counted; first_play if never visited
  int N() const { return visits.load() + pending.load(); }
};

// Index of the child to descend into (highest score; ties to the first).
// PUCT: Q + c_puct * P * sqrt(N_parent) / (1 + N_child), an unvisited
// child's Q its first-play value (SearchParams).
// UCT: an unvisited child first, else Q + c_uct * sqrt(ln N_parent / N_child).
int SelectChild(const Node& parent, const SearchParams& p);

// Adds children for (text, prior) candidates, keeping the max_children with
// the highest priors (ties: earlier first) and renormalising their priors to
// sum to 1; `ids`, if not empty, the candidates' token ids, in order.
// Thread-safe: only the first caller expands; returns whether it did.
bool Expand(Node& node, const std::vector<std::pair<std::string, double>>& candidates, const SearchParams& p,
            const std::vector<std::vector<int>>& ids = {});

// Mixes Dirichlet(alpha) noise into the priors of `node`'s children:
// P <- (1 - fraction) P + fraction noise, drawn from a generator seeded by
// `seed`. No-op without children or with alpha 0.
void AddDirichletNoise(Node& node, double alpha, double fraction, uint64_t seed);

// The root-to-leaf path of `leaf`.
std::vector<Node*> PathTo(Node* leaf);

void AddVirtualLoss(const std::vector<Node*>& path, const SearchParams& p);
void RemoveVirtualLoss(const std::vector<Node*>& path, const SearchParams& p);
// One visit of `value` on every node of the path.
void Backup(const std::vector<Node*>& path, double value);

}  // namespace r1lab

// The policy as an MCTS environment (search/mcts.h) over many problems at
// once: a leaf query names its tree, and tree i searches problems[i]. Every
// call evaluates the whole batch of leaves, across all trees, with one
// forward pass per network and at most one batched generation.
//
// Values: a finished leaf gets the verifier's verdict (it consults the gold
// answer) or, with verify_terminals false, the value network's estimate. An
// unfinished leaf gets the verdict on policy rollouts from it, the value
// network's estimate at its last token (a model with the PRM head, trained
// to predict success from a prefix), or a mix, (1 - mix) v + mix z
// (AlphaGo). A search with the value network and verify_terminals false
// never sees the gold.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "flops.h"
#include "mcts.h"
#include "prefix_cache.h"
#include "r1lab.pb.h"
#include "task.h"
#include "transformer.h"

namespace r1lab {

enum class LeafValue { kRollout, kValueNetwork, kMix };

struct PolicyEnvSpec {
  int max_new_tokens = 64;  // the depth cap: completion tokens per line
  SamplingConfig sampling;  // rollouts and step samples
  uint64_t seed = 1;
  // Token nodes: children are the top `width` next tokens. Step nodes: the
  // distinct first lines of `width` sampled continuations.
  int width = 4;
  std::string step_end = "\n";  // step nodes: a step runs through this text
  LeafValue leaf_value = LeafValue::kRollout;
  double mix = 0.5;               // the rollout's weight in kMix
  bool verify_terminals = true;   // false: finished leaves valued by the network too
  // Needed by kValueNetwork, kMix and verify_terminals false. It may be the
  // policy itself (a PRM head on the policy's trunk): then one forward per
  // leaf gives both the prior and the value.
  Transformer value{nullptr};
  // Network outputs at a leaf continue from the keys and values of its
  // prefix (model/prefix_cache.h) instead of a forward over the whole
  // prefix. The networks' weights must not change during the environment's
  // life.
  bool kv_reuse = true;
};

// What both policy environments share: the problems, the policy, the leaf
// triage and the value network.
class PolicySearchEnv : public SearchEnv {
 protected:
  PolicySearchEnv(Transformer policy, const Task& task, std::vector<Problem> problems, const PolicyEnvSpec& spec,
                  FlopCounter* flops);

  struct Open {
    size_t leaf;               // index into the call's leaves
    std::vector<int> ids;      // the completion so far
  };
  // Sizes `out` to the leaves and values the finished ones; returns the
  // unfinished ones. Network values of the unfinished ones go to net_value.
  std::vector<Open> Triage(const std::vector<LeafQuery>& leaves, std::vector<LeafEval>* out);
  // The policy's next-token logits at the end of each open leaf, [n, V]:
  // from Triage's forward when the value head is on the policy's trunk.
  torch::Tensor OpenLogits(const std::vector<LeafQuery>& leaves, const std::vector<Open>& open);
  // An unfinished leaf's value from its rollout verdict share `rollout`.
  double Combine(size_t leaf, double rollout) const;
  bool NeedsRollouts() const { return spec_.leaf_value != LeafValue::kValueNetwork; }
  const std::vector<int>& Prompt(const LeafQuery& q) const { return prompts_.at(q.tree); }
  // <bos> + prompt + the leaf's completion ids.
  std::vector<int> Sequence(const LeafQuery& q, const std::vector<int>& ids) const;
  const Problem& ProblemOf(const LeafQuery& q) const { return problems_.at(q.tree); }
  // The next generation seed (one stream per environment).
  uint64_t NextSeed() { return spec_.seed * 1000003ULL + calls_++; }

  Transformer policy_;
  const Task& task_;
  std::vector<Problem> problems_;
  std::vector<std::vector<int>> prompts_;  // <bos> + prompt, per problem
  PolicyEnvSpec spec_;
  FlopCounter* flops_;
  std::vector<double> net_value_;  // per leaf of the current call
  PrefixKvStore policy_kv_;
  std::unique_ptr<PrefixKvStore> value_kv_;  // with a value network of its own
  bool shared_trunk_ = false;                // spec_.value is the policy
  // Shared trunk: Triage's heads for the current call, and each leaf's row in them (-1: none).
  ForwardOutput triage_out_;
  std::vector<int64_t> triage_row_;

 private:
  uint64_t calls_ = 0;
};

class PolicyTokenEnv : public PolicySearchEnv {
 public:
  PolicyTokenEnv(Transformer policy, const Task& task, std::vector<Problem> problems, const PolicyEnvSpec& spec,
                 FlopCounter* flops);
  std::vector<LeafEval> Evaluate(const std::vector<LeafQuery>& leaves) override;
};

// Over steps: a node appends one step (through the first `step_end`, a line
// break by default, or the rest of the completion when none comes before
// <eos>). Evaluating a batch of
// leaves samples `width` complete continuations of each unfinished leaf in
// one batched generation; their distinct first lines are the children, with
// priors from the line's probability under the policy, and the rollout
// value is the share of the continuations the verifier accepts.
class PolicyStepEnv : public PolicySearchEnv {
 public:
  PolicyStepEnv(Transformer policy, const Task& task, std::vector<Problem> problems, const PolicyEnvSpec& spec,
                FlopCounter* flops);
  std::vector<LeafEval> Evaluate(const std::vector<LeafQuery>& leaves) override;
};

}  // namespace r1lab

// The policy as an MCTS environment over tokens (search/mcts.h): a node
// appends one token; its children are the policy's top next tokens (at most
// max_children, priors renormalised by the tree), and a leaf's value is the
// verifier's on a finished completion, or, for an unfinished one, the
// verdict on one policy rollout from it. Both consult the gold answer. With a
// value network (set_value_model: a model with the PRM head, trained to
// predict success from a prefix) every leaf, finished or not, is valued by
// the network instead: a search that never sees the gold. Every call
// evaluates its whole leaf batch with one forward pass (two with a value
// network) and, without one, one batched rollout generation.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "flops.h"
#include "mcts.h"
#include "r1lab.pb.h"
#include "task.h"
#include "transformer.h"

namespace r1lab {

// What both policy environments share: the problem, the policy, the leaf
// triage and the optional value network.
class PolicySearchEnv : public SearchEnv {
 public:
  // Values from `value` (needs prm_head) instead of verified rollouts.
  void set_value_model(Transformer value);

 protected:
  PolicySearchEnv(Transformer policy, const Task& task, const Problem& problem, int max_new_tokens,
                  const SamplingConfig& sampling, uint64_t seed, FlopCounter* flops);
  // Sizes `out` to the leaves and values them: every leaf by the value
  // network if there is one, else each finished leaf by the verifier.
  // Returns the unfinished leaves (index, completion ids so far).
  std::vector<std::pair<size_t, std::vector<int>>> Triage(const std::vector<std::string>& texts,
                                                          std::vector<LeafEval>* out);
  // The next generation seed (one stream per environment).
  uint64_t NextSeed() { return seed_ * 1000003ULL + calls_++; }

  Transformer policy_;
  const Task& task_;
  Problem problem_;
  int max_new_tokens_;
  SamplingConfig sampling_;
  FlopCounter* flops_;
  std::vector<int> prompt_;  // <bos> + prompt
  Transformer value_{nullptr};

 private:
  uint64_t seed_, calls_ = 0;
};

class PolicyTokenEnv : public PolicySearchEnv {
 public:
  PolicyTokenEnv(Transformer policy, const Task& task, const Problem& problem, int max_children, int max_new_tokens,
                 const SamplingConfig& rollout, uint64_t seed, FlopCounter* flops);
  std::vector<LeafEval> Evaluate(const std::vector<std::string>& texts) override;

 private:
  int max_children_;
};

// The policy as an MCTS environment over steps: a node appends one line
// (through its '\n', or the rest of the completion when no line break comes
// before <eos>). Evaluating a batch of leaves samples `samples` complete
// continuations of each unfinished leaf in one batched generation; their
// distinct first lines are the children, with priors from the line's
// log-probability under the policy, and the leaf's value is the share of
// the continuations the verifier accepts (or the value network's estimate,
// set_value_model, which never consults the gold answer).
class PolicyStepEnv : public PolicySearchEnv {
 public:
  PolicyStepEnv(Transformer policy, const Task& task, const Problem& problem, int samples, int max_new_tokens,
                const SamplingConfig& sampling, uint64_t seed, FlopCounter* flops);
  std::vector<LeafEval> Evaluate(const std::vector<std::string>& texts) override;

 private:
  int samples_;
};

}  // namespace r1lab

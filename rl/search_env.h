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
#include <vector>

#include "flops.h"
#include "mcts.h"
#include "r1lab.pb.h"
#include "task.h"
#include "transformer.h"

namespace r1lab {

class PolicyTokenEnv : public SearchEnv {
 public:
  PolicyTokenEnv(Transformer policy, const Task& task, const Problem& problem, int max_children, int max_new_tokens,
                 const SamplingConfig& rollout, uint64_t seed, FlopCounter* flops);
  std::vector<LeafEval> Evaluate(const std::vector<std::string>& texts) override;
  // Values from `value` (needs prm_head) instead of verified rollouts.
  void set_value_model(Transformer value);

 private:
  Transformer policy_;
  const Task& task_;
  Problem problem_;
  int max_children_, max_new_tokens_;
  SamplingConfig rollout_;
  uint64_t seed_, calls_ = 0;
  FlopCounter* flops_;
  std::vector<int> prompt_;  // <bos> + prompt
  Transformer value_{nullptr};
};

// The policy as an MCTS environment over steps: a node appends one line
// (through its '\n', or the rest of the completion when no line break comes
// before <eos>). Evaluating a batch of leaves samples `samples` complete
// continuations of each unfinished leaf in one batched generation; their
// distinct first lines are the children, with priors from the line's
// log-probability under the policy, and the leaf's value is the share of
// the continuations the verifier accepts (or the value network's estimate,
// set_value_model, which never consults the gold answer).
class PolicyStepEnv : public SearchEnv {
 public:
  PolicyStepEnv(Transformer policy, const Task& task, const Problem& problem, int samples, int max_new_tokens,
                const SamplingConfig& sampling, uint64_t seed, FlopCounter* flops);
  std::vector<LeafEval> Evaluate(const std::vector<std::string>& texts) override;
  void set_value_model(Transformer value);

 private:
  Transformer policy_;
  const Task& task_;
  Problem problem_;
  int samples_, max_new_tokens_;
  SamplingConfig sampling_;
  uint64_t seed_, calls_ = 0;
  FlopCounter* flops_;
  std::vector<int> prompt_;
  Transformer value_{nullptr};
};

}  // namespace r1lab

// Where a policy-gradient step's reward comes from beyond the rule chain.
//
// Every rollout is first scored by the rule verifier chain (verify/reward.h):
// that is the truth the metrics always report. A RewardSource may then replace
// what the policy learns from: a learned PRM or ORM (prm/prm_rl.h), mixed
// with the rule reward or not. With no RewardSource the rule reward is the
// reward (GRPO as R1 ran it).
#pragma once

namespace r1lab {

class MetricsLine;
struct Rollouts;

class RewardSource {
 public:
  virtual ~RewardSource() = default;
  // Called on every fresh batch of whole groups before advantages are taken.
  // Replaces rewards[i].total (leaving the rule terms and verdict for the
  // metrics) and may set ro.proxy and ro.token_advantages (which then replace
  // the group advantages).
  virtual void Score(Rollouts& ro) = 0;
  // Metrics of the step's final rollouts.
  virtual void Metrics(const Rollouts& ro, MetricsLine* m) = 0;
  // Whether the rewards learned from still include the rule reward (and so
  // its gold-based verdicts: oracle calls, core/flops.h).
  virtual bool UsesRuleReward() const = 0;
};

}  // namespace r1lab

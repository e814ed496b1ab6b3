// PRM-RL: GRPO rewarded by a learned reward model, the report's first failed
// attempt (PrmRlConfig in proto/r1lab.proto).
//
// Before step 0 the arm samples the base on training problems, labels the
// samples (Monte Carlo step labels for a PRM, the verifier's outcome for an
// ORM) and trains the reward model; every FLOP of that is charged to the
// arm. Each GRPO step then scores its rollouts with the reward model
// (LearnedReward) and learns from that proxy instead of (or mixed with) the
// rule reward. The metrics log the proxy next to the truth on the same
// samples (hacking), the degeneration signs, and the proxy's power to tell
// right from wrong; after the last step, the reward model's accuracy on base
// samples and on the final policy's samples (distribution shift).
#pragma once

#include <string>
#include <vector>

#include "flops.h"
#include "grpo_trainer.h"
#include "r1lab.pb.h"
#include "steps.h"
#include "transformer.h"

namespace r1lab {

struct Rollouts;
struct StrategyContext;
class Task;

class LearnedReward : public RewardSource {
 public:
  // `rm` is shared (a module holder): retraining it changes what this scores.
  // `rm` may be null for reward_model.kind STEP_TRUTH (the task's exact step
  // truth scores each step).
  LearnedReward(const PrmRlConfig& cfg, Transformer rm, const Task& task, FlopCounter* flops);
  void Score(Rollouts& ro) override;
  void Metrics(const Rollouts& ro, MetricsLine* m) override;
  bool UsesRuleReward() const override;

 private:
  PrmRlConfig cfg_;
  Transformer rm_;
  const Task& task_;
  FlopCounter* flops_;
  SegmenterSpec segmenter_;
  Aggregation aggregation_;
};

// The learned reward of one response from its reward model's scores (per
// step for a PRM, one for an ORM): 0 when nothing was scored (a response
// with no step), and 0 when cfg.answer_required() and the response has no
// final answer the task can extract; else the ORM's score or the steps'
// aggregate (`how`).
double ProxyOf(const std::vector<double>& scores, bool has_answer, const PrmRlConfig& cfg, Aggregation how);

void RunPrmRl(const PrmRlConfig& cfg, StrategyContext& ctx);

}  // namespace r1lab

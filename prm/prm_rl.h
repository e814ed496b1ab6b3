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

#include "flops.h"
#include "grpo_trainer.h"
#include "r1lab.pb.h"
#include "steps.h"
#include "transformer.h"

namespace r1lab {

struct Rollouts;
struct StrategyContext;

class LearnedReward : public RewardSource {
 public:
  // `rm` is shared (a module holder): retraining it changes what this scores.
  LearnedReward(const PrmRlConfig& cfg, Transformer rm, FlopCounter* flops);
  void Score(Rollouts& ro) override;
  void Metrics(const Rollouts& ro, MetricsLine* m) override;
  bool UsesRuleReward() const override;

 private:
  PrmRlConfig cfg_;
  Transformer rm_;
  FlopCounter* flops_;
  SegmenterSpec segmenter_;
  Aggregation aggregation_;
};

void RunPrmRl(const PrmRlConfig& cfg, StrategyContext& ctx);

}  // namespace r1lab

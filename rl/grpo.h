// GRPO with rule rewards (R1-Zero), with the published variants as knobs
// (GrpoConfig in proto/r1lab.proto): Dr. GRPO, DAPO, RLOO advantages, KL
// estimators and placements, loss aggregations.
//
// One step: sample P training prompts, G completions each from the current
// (= old) policy, score them with the reward chain, turn rewards into group
// advantages, then run `epochs` passes of `minibatches` optimizer steps on the
// clipped surrogate. Log-probs are taken at the sampling temperature. With
// one epoch and one mini-batch the old log-probs are the current ones
// detached, so the ratio is exactly 1; otherwise they come from a no-grad
// pass before the first update, chunked like the updates, so the first
// mini-batch still sees ratio 1 exactly.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "flops.h"
#include "r1lab.pb.h"
#include "reward.h"
#include "rng.h"
#include "task.h"
#include "transformer.h"

namespace r1lab {

struct Rollouts;

// A learned reward on the GRPO path (PRM-RL): called on every fresh batch of
// whole groups before advantages are taken. It replaces rewards[i].total
// (leaving the rule terms and verdict for the metrics) and may set
// ro.proxy and ro.token_advantages (which then replace the group advantages).
class RolloutRescorer {
 public:
  virtual ~RolloutRescorer() = default;
  virtual void Rescore(Rollouts& ro) = 0;
  // Metrics of the step's final rollouts, as JSON members (no braces).
  virtual std::string Metrics(const Rollouts& ro) = 0;
};

class GrpoTrainer {
 public:
  GrpoTrainer(Transformer& policy, const Task& task, const GrpoConfig& cfg, uint64_t seed, FlopCounter* flops);
  // One generation step and its updates; returns metrics as JSON members
  // (no braces) and writes a short progress note.
  std::string Step(int64_t step, std::string* note);
  void set_rescorer(RolloutRescorer* r) { rescorer_ = r; }

  torch::optim::AdamW& optimizer() { return *optimizer_; }
  Rng& rng() { return rng_; }
  Transformer* reference() { return ref_ ? &*ref_ : nullptr; }
  int64_t* mutable_tokens_generated() { return &tokens_generated_; }
  // Largest |ratio - 1| on the first mini-batch of the last step (0 exactly
  // when on-policy); exposed for tests.
  double last_first_ratio_dev() const { return first_ratio_dev_; }

 private:
  Transformer& policy_;
  const Task& task_;
  GrpoConfig cfg_;
  uint64_t seed_;
  Rng rng_;
  FlopCounter* flops_;
  RewardChain reward_;
  std::unique_ptr<torch::optim::AdamW> optimizer_;
  std::optional<Transformer> ref_;
  int64_t tokens_generated_ = 0;
  double first_ratio_dev_ = 0;
  RolloutRescorer* rescorer_ = nullptr;
};

struct StrategyContext;
// The arm: runs GRPO under the shared loop with eval, checkpoints and resume.
void RunGrpo(const GrpoConfig& cfg, StrategyContext& ctx);

}  // namespace r1lab

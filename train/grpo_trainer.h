// The GRPO step (R1 report, eq. 1-3), with the published variants as knobs
// (GrpoConfig in proto/r1lab.proto): Dr. GRPO, DAPO, RLOO advantages, KL
// estimators and placements, loss aggregations. Shared by the GRPO arm
// (rl/grpo.cc) and PRM-RL (prm/prm_rl.cc, GRPO with a learned RewardSource).
//
// One step is four named parts:
//   SampleGroups      P training prompts, G completions each from the current
//                     (= old) policy, scored by the rule chain and the reward
//                     source; DAPO re-samples zero-variance groups;
//   BuildMinibatches  group advantages, shuffled minibatches, old and
//                     reference log-probs (KL in the reward, PPO style, here);
//   Update            `epochs` passes of the clipped surrogate over them;
//   StepMetrics       what the metrics line reports.
// Log-probs are taken at the sampling temperature. With one epoch and one
// minibatch the old log-probs are the current ones detached, so the ratio is
// exactly 1; otherwise they come from a no-grad pass before the first update,
// chunked like the updates, so the first minibatch still sees ratio 1 exactly.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "flops.h"
#include "policy_update.h"
#include "r1lab.pb.h"
#include "reward.h"
#include "reward_source.h"
#include "loop.h"
#include "rng.h"
#include "rollout.h"
#include "task.h"
#include "transformer.h"

namespace r1lab {

// Cross-field rules of a GrpoConfig at `path`; ConfigError naming the field.
void CheckGrpoConfig(const GrpoConfig& g, const std::string& path, const std::string& source);

class GrpoTrainer {
 public:
  GrpoTrainer(Transformer& policy, const Task& task, const GrpoConfig& cfg, uint64_t seed, FlopCounter* flops);
  // One generation step and its updates; returns its metrics and writes a
  // short progress note.
  MetricsLine Step(int64_t step, std::string* note);
  // The loop that runs this trainer: its steps, optimizer, RNG, reference
  // model and token counter, stepping with Step. The trainer must outlive it.
  StrategyLoop Loop();
  // A learned reward replacing the rule reward (not owned; may be null).
  void set_reward_source(RewardSource* r) { reward_source_ = r; }
  // Data-parallel steps over `d`'s ranks (not owned; train/data_parallel.h):
  // each rank samples prompts_per_step / world_size prompts (ConfigError
  // naming `field` unless that divides), from its own stream; the shuffle
  // into minibatches, the advantages and the updates are the whole batch's.
  void set_data_parallel(Dist* d, const std::string& field);
  // The updates of one step on rollouts already sampled (this rank's shard
  // when data-parallel: ranks in order make up the batch).
  void TrainOn(const Rollouts& ro, int64_t step);

  Transformer* reference() { return ref_ ? &*ref_ : nullptr; }
  // Largest |ratio - 1| on the first mini-batch of the last step (0 exactly
  // when on-policy); exposed for tests.
  double last_first_ratio_dev() const { return first_ratio_dev_; }

 private:
  struct Sampled {
    Rollouts ro;
    double t_gen = 0, t_score = 0;
    int sampled_groups = 0, zero_std_groups = 0, dropped = 0, rounds = 0;
  };
  struct Updated {
    PolicyLossStats sum;  // summed over updates
    double grad_norm_sum = 0, loss_sum = 0, kl_reward_sum = 0, t_train = 0;
    int updates = 0;
    int64_t tokens_trained = 0;
  };
  Sampled SampleGroups(int64_t step);
  // Minibatches and updates of step `step`; returns the learning rate.
  double Train(const Rollouts& ro, int64_t step, Updated* u);
  std::vector<PolicyBatch> BuildMinibatches(const Rollouts& ro, Updated* u);
  void Update(std::vector<PolicyBatch>& mbs, double lr, Updated* u);
  MetricsLine StepMetrics(const Sampled& s, const Updated& u, double lr, double t_step);

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
  RewardSource* reward_source_ = nullptr;
  Dist* dp_ = nullptr;
};

}  // namespace r1lab

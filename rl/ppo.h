// PPO with a critic (the R1 report's baseline; Ouyang et al. 2022 style).
//
// One step: P prompts, one completion each from the current policy, scored by
// the rule reward. Per-token rewards: -beta * KL(old || ref) on every token,
// plus the rule reward on the last. The critic (a separate model with a value
// head, as large as the policy by default) gives V_t for the state before each
// completion token; GAE(gamma, lambda) gives advantages (whitened over the
// step) and returns. Policy: clipped surrogate (train/policy_loss.h). Critic:
// clipped value loss 0.5 * max((V - R)^2, (V_old + clip(V - V_old) - R)^2).
//
// Metrics add what the report's argument against PPO needs measured: the
// critic's explained variance, its error against the realised return at each
// relative position of the response (binned; absolute and squared, the
// squared next to the best constant's),
// and the parameter + optimizer memory of policy, critic and reference.
//
// Before the first step the critic can be warmed up on the base policy's own
// rollouts (PpoConfig.critic_warmup_batches; charged to the arm), so that a
// failing critic is one that cannot learn, not one that never trained.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dist.h"
#include "flops.h"
#include "r1lab.pb.h"
#include "reward.h"
#include "rng.h"
#include "task.h"
#include "rollout.h"
#include "token_batch.h"
#include "transformer.h"

namespace r1lab {

// GAE over one response. rewards, values: per completion token. Returns
// advantages; writes returns (= advantages + values).
std::vector<double> Gae(const std::vector<double>& rewards, const std::vector<double>& values, double gamma,
                        double lambda, std::vector<double>* returns);

ModelConfig CriticConfig(const ModelConfig& policy, const PpoConfig& cfg);

class PpoTrainer {
 public:
  PpoTrainer(Transformer& policy, const Task& task, const PpoConfig& cfg, uint64_t seed, FlopCounter* flops);
  MetricsLine Step(int64_t step, std::string* note);
  // The warm-up (a no-op record with 0 batches): regression of the critic on
  // the realised returns of the current policy's rollouts, with its error on
  // one more batch, held out and not charged, before and after.
  CriticWarmup WarmUpCritic();
  // Data-parallel steps over `d`'s ranks (not owned; train/data_parallel.h):
  // each rank samples prompts_per_step / world_size prompts (ConfigError
  // naming `field` unless that divides); whitening, minibatches and the
  // policy's and critic's updates are the whole batch's.
  void set_data_parallel(Dist* d, const std::string& field);
  // The updates of one step on rollouts already sampled (this rank's shard
  // when data-parallel: ranks in order make up the batch).
  void TrainOn(const Rollouts& ro, int64_t step);

  torch::optim::AdamW& optimizer() { return *optimizer_; }
  torch::optim::AdamW& critic_optimizer() { return *critic_optimizer_; }
  Transformer& critic() { return critic_; }
  Transformer* reference() { return ref_ ? &*ref_ : nullptr; }
  Rng& rng() { return rng_; }
  int64_t* mutable_tokens_generated() { return &tokens_generated_; }

 private:
  struct MiniBatch {
    TokenBatch batch;
    torch::Tensor mask;        // [n, T-1]
    torch::Tensor old_lp;      // [n, T-1]
    torch::Tensor old_values;  // [n, T-1]
    torch::Tensor advantages;  // [n, T-1]
    torch::Tensor returns;     // [n, T-1]
    double tokens_all = 0;     // data-parallel: the whole minibatch's trained tokens
  };
  // What the step measures of the critic: realised returns against its
  // values, by relative position (bins), and the KL it adds to the reward.
  struct CriticStats {
    explicit CriticStats(int bins) : bin_err(bins, 0.0), bin_sq_err(bins, 0.0), bin_n(bins, 0.0), bin_returns(bins) {}
    std::vector<double> bin_err, bin_sq_err, bin_n;
    std::vector<std::vector<double>> bin_returns;
    std::vector<double> returns, values, advantages;
    double kl_sum = 0, kl_tokens = 0;
    void AddRealised(const std::vector<double>& rewards, const std::vector<double>& values, double gamma);
    double ExplainedVariance() const;
    std::vector<double> ErrorByPosition() const;
    std::vector<double> SquaredErrorByPosition() const;
    // The squared error of each bin's best constant (its mean return).
    std::vector<double> ConstantSquaredErrorByPosition() const;
  };
  struct UpdateSums {
    double pg = 0, vf = 0, entropy = 0, clip = 0, clip_low = 0, clip_high = 0;
    int updates = 0;
  };
  // Minibatches and updates of step `step` into *u; returns the learning rate.
  double Train(const Rollouts& ro, int64_t step, CriticStats* cs, UpdateSums* u);
  std::vector<MiniBatch> BuildMinibatches(const Rollouts& ro, CriticStats* cs);
  // Rollouts as a batch with the realised return (gamma-discounted rule
  // reward, no KL: the policy is the reference) at each completion token.
  std::pair<TokenBatch, torch::Tensor> ReturnTargets(const Rollouts& ro) const;
  // The critic's squared error on `ro`, the best constant's and the means.
  struct HeldoutError {
    double mse = 0, mse_constant = 0, mean_target = 0, mean_prediction = 0;
  };
  HeldoutError CriticError(const Rollouts& ro);
  // One critic optimiser step on 0.5 (V - R)^2 over `mask`'s tokens, value-
  // clipped around `old_values` where they are given. Returns the loss.
  // Data-parallel: the token mean over `tokens_all`, the whole batch's
  // tokens, and gradients summed over the ranks (no rows: zeros added).
  double CriticStep(const torch::Tensor& tokens, const torch::Tensor& mask, const torch::Tensor& returns,
                    const torch::Tensor& old_values, double tokens_all = 0);
  int LocalPrompts() const { return cfg_.prompts_per_step() / (dp_ ? dp_->world_size() : 1); }
  void WhitenAdvantages(std::vector<MiniBatch>& mbs, const std::vector<double>& all_adv) const;
  UpdateSums Update(std::vector<MiniBatch>& mbs, double lr, double critic_lr);

  Transformer& policy_;
  const Task& task_;
  PpoConfig cfg_;
  uint64_t seed_;
  Rng rng_;
  FlopCounter* flops_;
  RewardChain reward_;
  Transformer critic_;
  std::unique_ptr<torch::optim::AdamW> optimizer_, critic_optimizer_;
  std::optional<Transformer> ref_;
  int64_t tokens_generated_ = 0;
  Dist* dp_ = nullptr;
};

}  // namespace r1lab

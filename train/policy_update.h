// The policy update every policy-gradient strategy shares (GRPO, PRM-RL, PPO):
// shuffled minibatches, log-probs under a model, and one optimiser step of
// the clipped surrogate (train/policy_loss.h) with gradient clipping.
#pragma once

#include <torch/torch.h>

#include <vector>

#include "policy_loss.h"
#include "r1lab.pb.h"
#include "rng.h"
#include "token_batch.h"
#include "transformer.h"

namespace r1lab {

// Rows 0..n-1 shuffled (Fisher-Yates, drawing from `rng`) and cut into m
// contiguous minibatches of n/m rows (the remainder spread over them).
std::vector<std::vector<int>> ShuffledMinibatches(int n, int m, Rng& rng);

// Log-probability of each next token at `temperature`: [B, T-1].
torch::Tensor SequenceLogprobs(Transformer& model, const torch::Tensor& tokens, double temperature);

// One minibatch of the surrogate, with everything computed before the first update.
struct PolicyBatch {
  TokenBatch batch;
  torch::Tensor mask;        // [n, T-1] trained tokens
  torch::Tensor advantages;  // [n, T-1]
  torch::Tensor old_lp;      // [n, T-1], or undefined: the current log-probs, detached (ratio 1)
  torch::Tensor ref_lp;      // [n, T-1], or undefined: no KL term in the loss
};

struct PolicyUpdateResult {
  PolicyLossStats stats;
  double loss = 0;
  double grad_norm = 0;  // before clipping
};

// One optimiser step on `mb`: forward at `temperature`, the surrogate with
// `opt` (KL to ref_lp by `kl_estimator` where ref_lp is set), backward,
// clipping to `grad_clip` (0: none), step. Training FLOPs are the caller's to count.
PolicyUpdateResult PolicyUpdate(Transformer& policy, torch::optim::Optimizer& optimizer, const PolicyBatch& mb,
                                const PolicyLossOptions& opt, double temperature, double grad_clip,
                                KlEstimator kl_estimator);

}  // namespace r1lab

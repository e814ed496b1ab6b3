// The policy update every policy-gradient strategy shares (GRPO, PRM-RL, PPO):
// shuffled minibatches, log-probs under a model, and one optimiser step of
// the clipped surrogate (train/policy_loss.h) with gradient clipping.
#pragma once

#include <torch/torch.h>

#include <vector>

#include "dist.h"
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
  LossDenominators denominators;  // data-parallel: the whole minibatch's (else zero: this one's)
};

struct PolicyUpdateResult {
  PolicyLossStats stats;
  double loss = 0;
  double grad_norm = 0;  // before clipping
};

// One optimiser step on `mb`: forward at `temperature`, the surrogate with
// `opt` (KL to ref_lp by `kl_estimator` where ref_lp is set), backward,
// clipping to `grad_clip` (0: none), step. Training FLOPs are the caller's to count.
// Data-parallel (`dp` set): `mb` is this rank's part of the minibatch (maybe
// no rows), opt.denominators the whole minibatch's; the gradients and the
// loss are summed over the ranks before clipping (train/data_parallel.h).
PolicyUpdateResult PolicyUpdate(Transformer& policy, torch::optim::Optimizer& optimizer, const PolicyBatch& mb,
                                const PolicyLossOptions& opt, double temperature, double grad_clip,
                                KlEstimator kl_estimator, Dist* dp = nullptr);

}  // namespace r1lab

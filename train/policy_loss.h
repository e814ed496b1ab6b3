// The pieces of the GRPO/PPO objective, as pure functions (reference-checked
// in tests/policy_loss_test.cc).
//
// Per token t of completion i (R1 report, eq. 1-3; DAPO; Dr. GRPO):
//   ratio = exp(logp - old_logp)
//   pg    = -min(ratio * A, clip(ratio, 1 - clip_low, 1 + clip_high) * A)
//   dual-clip (A < 0, c > 1): pg = min(pg, -c * A)
//   loss  = pg + beta * KL(pi || pi_ref) - entropy_coef * H
// aggregated over the mask by LossAggregation. Advantages are per token, so
// outcome rewards (one A per completion) and process rewards (PRM step
// rewards summed over later steps) share this code.
#pragma once

#include <torch/torch.h>

#include <vector>

#include "r1lab.pb.h"

namespace r1lab {

// rewards: P groups of G consecutive samples. Returns one advantage per sample.
std::vector<double> GroupAdvantages(const std::vector<double>& rewards, int group_size, AdvantageEstimator est,
                                    double eps);

// Per-token KL estimate from log-probs under the policy and the reference.
torch::Tensor KlPerToken(const torch::Tensor& logp, const torch::Tensor& ref_logp, KlEstimator est);

// Sum over t' >= t along dim 1 (returns-to-go of a per-token quantity).
torch::Tensor ReverseCumsum(const torch::Tensor& x);

// The denominators of a loss mean. Zero: this batch's own rows and masked
// tokens. A data-parallel rank (train/data_parallel.h) sets the whole
// minibatch's, summed over the ranks, so the ranks' losses add up to the one
// a single process computes on the whole minibatch.
struct LossDenominators {
  double rows = 0, tokens = 0;
};

// Masked aggregation of a per-token loss [N, T].
torch::Tensor AggregateLoss(const torch::Tensor& per_token, const torch::Tensor& mask, LossAggregation agg,
                            double max_length, const LossDenominators& denominators = {});

struct PolicyLossInputs {
  torch::Tensor logprobs;      // [N, T] current policy (requires grad)
  torch::Tensor old_logprobs;  // [N, T] the policy that sampled (no grad)
  torch::Tensor advantages;    // [N, T]
  torch::Tensor mask;          // [N, T] float: 1 on trained completion tokens
  torch::Tensor kl;            // [N, T] KL to the reference, or undefined
  torch::Tensor entropy;       // [N, T] or undefined
};

struct PolicyLossOptions {
  double clip_low = 0.2, clip_high = 0.2, dual_clip = 0;
  double kl_coef = 0, entropy_coef = 0;
  LossAggregation aggregation = SEQ_MEAN_TOKEN_MEAN;
  double max_length = 1;  // for SEQ_MEAN_TOKEN_SUM_NORM
  LossDenominators denominators;
};

// Token means over the mask, for metrics.
struct PolicyLossStats {
  double pg_loss = 0, kl = 0, entropy = 0;
  double clip_low_frac = 0, clip_high_frac = 0, clip_region_frac = 0;
  double ratio_max_abs_dev = 0;  // max |ratio - 1| over masked tokens
};

torch::Tensor PolicyLoss(const PolicyLossInputs& in, const PolicyLossOptions& opt, PolicyLossStats* stats);

}  // namespace r1lab

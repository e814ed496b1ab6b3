// Rollouts shared by the RL strategies: draw training problems, sample G
// completions each from the current policy, score them with the reward chain.
#pragma once

#include <string>
#include <vector>

#include "flops.h"
#include "generate.h"
#include "r1lab.pb.h"
#include "reward.h"
#include "rng.h"
#include "optim.h"
#include "token_batch.h"
#include "task.h"
#include "transformer.h"

namespace r1lab {

struct Rollouts {
  int group_size = 1;
  std::vector<Problem> problems;          // one per group
  std::vector<std::vector<int>> prompts;  // one per sample: <bos> + prompt ids
  std::vector<Generation> gens;           // one per sample
  std::vector<RewardBreakdown> rewards;   // one per sample: the rule reward's terms and verdict
  const Tokenizer* tokenizer = nullptr;   // the policy's
  // Set by a learned reward (a RewardSource, train/reward_source.h), else empty:
  std::vector<double> proxy;                         // per sample, the learned score
  std::vector<std::vector<float>> token_advantages;  // per sample, one per completion token
  double t_generate = 0, t_score = 0;     // seconds
  int size() const { return static_cast<int>(gens.size()); }
  std::vector<double> totals() const;
  // Appends group g of `src` (G consecutive samples).
  void AppendGroup(Rollouts& src, int g);
};

// Draws `n_problems` training problems and samples `group_size` completions of
// each (rows grouped consecutively). Generation FLOPs go to `flops`.
Rollouts SampleRollouts(Transformer& policy, const Task& task, Rng& rng, int n_problems, int group_size,
                        const SamplingConfig& sampling, uint64_t seed, const RewardChain& reward,
                        FlopCounter* flops);
// The same for problems already drawn.
Rollouts SampleRollouts(Transformer& policy, const Task& task, std::vector<Problem> problems, int group_size,
                        const SamplingConfig& sampling, uint64_t seed, const RewardChain& reward,
                        FlopCounter* flops);

// Right-padded training batch of the samples `rows`, with their completion
// mask (zeroed for truncated samples if mask_truncated).
TokenBatch RolloutBatch(const Rollouts& r, const std::vector<int>& rows, bool mask_truncated);

// Reward, per-term and length statistics into *m.
void RolloutMetrics(const Rollouts& r, const RewardChain& reward, MetricsLine* m);
// The progress note: "reward 0.61 acc 0.51 len 26.3".
std::string RolloutNote(const Rollouts& r);

}  // namespace r1lab

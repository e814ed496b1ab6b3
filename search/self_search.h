// MCTS self-search (the report's second failed attempt) as an arm, and the
// pieces `r1lab search` shares with it: the value network and the policy
// search environment built from a SearchConfig.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "flops.h"
#include "scorer.h"
#include "r1lab.pb.h"
#include "search_env.h"
#include "strategy.h"
#include "task.h"
#include "token_batch.h"
#include "transformer.h"

namespace r1lab {

// A value network for `policy`: its trunk with the PRM head, trained on
// soft Monte Carlo targets (the share of cfg.label_n completions from a
// prefix that reach the gold answer) at every cfg.chunk_tokens-token prefix
// of cfg.pretrain_traces policy samples of training problems. Labelling
// FLOPs are booked to kLabel, training FLOPs to kRewardTrain of `flops`.
// `value` is trained in place (RewardModelFrom makes one). Data-parallel
// ranks (`shard`) share the sampling and each training step by rows: one
// process's fit.
void PretrainValueNetwork(Transformer& policy, Transformer& value, const Task& task, const ValueNetConfig& cfg,
                          const SamplingConfig& sampling, uint64_t seed, FlopCounter* flops, Dist* shard = nullptr);

// Value-network examples from finished lines: every chunk_tokens-token
// prefix of each completion, all with the line's outcome as target.
std::vector<PrmExample> OutcomePrefixExamples(const std::vector<std::string>& prompts,
                                              const std::vector<std::string>& completions,
                                              const std::vector<bool>& correct, int chunk_tokens);

// How well `value` predicts success as the prefix grows: on one fresh
// sample of `policy` per problem, its estimate at every chunk_tokens-token
// prefix against the Monte Carlo target there (the share of 4 completions
// that reach the gold), by depth (bins of 1, 2, ..., 7 and 8+ chunks), next
// to the error of the best constant (the mean target of the bin). Not
// charged to any budget: it is a measurement. Ranks of `shard` share its
// sampling, and each gets the whole measurement.
struct ValueErrorBin {
  int depth = 0;  // chunks in the prefix (the last bin: at least this many)
  size_t count = 0;
  double mean_target = 0, mean_prediction = 0;  // calibration: the two should match
  double mae = 0, constant_mae = 0;
};
std::vector<ValueErrorBin> ValueErrorByDepth(Transformer& policy, Transformer& value, const Task& task,
                                             const std::vector<Problem>& problems, const SamplingConfig& sampling,
                                             int chunk_tokens, uint64_t seed, Dist* shard = nullptr);
// One bin's figures from (prediction, target) pairs.
ValueErrorBin ValueError(const std::vector<std::pair<double, double>>& pairs);
// All bins together: count-weighted means of every figure (so the constant
// is the per-depth one).
ValueErrorBin OverallValueError(const std::vector<ValueErrorBin>& bins);

// Whether a completion's reasoning holds up line by line, where the task
// can judge lines (nullopt otherwise): a <think>..</think> block with at
// least one line, every line a computation the task judges right.
std::optional<bool> SoundChain(const Task& task, const std::string& completion);

// The search's tree parameters from the config.
SearchParams SearchParamsFrom(const SearchConfig& cfg, uint64_t noise_seed);
// The leaf evaluator a search config runs: as configured, except that MIX at
// mix 0 is VALUE_NETWORK and at mix 1 ROLLOUT (a MIX pays for both).
LeafValueSource EffectiveLeafValue(const SearchConfig& cfg);
// The policy environment (token or step nodes) over `problems`.
std::unique_ptr<PolicySearchEnv> MakePolicyEnv(const SearchConfig& cfg, Transformer policy, const Task& task,
                                               std::vector<Problem> problems, Transformer value,
                                               bool verify_terminals, uint64_t seed, FlopCounter* flops);

// One update of AlphaZero's joint loss on the two-headed `model` (the policy
// with the value head on its trunk): the mean token cross-entropy on
// `lines` plus joint_weight x the value head's BCE on `outcomes` (every
// step of them), one backward through the shared trunk, one step of `opt`
// at `lr`. FLOPs: the lines' forward and backward to kTrain, the outcomes'
// to kRewardTrain. With `dp` each rank takes its rows of both batches
// (RankRows), each loss divided by its whole batch's count (loss tokens,
// value steps), and the ranks sum their gradients, losses and FLOPs: one
// process's update, on every rank.
struct JointLosses {
  double ce = 0, bce = 0;
};
JointLosses JointStep(Transformer& model, torch::optim::AdamW& opt, const TokenBatch& lines,
                      const std::vector<PrmExample>& outcomes, double joint_weight, double lr, double grad_clip,
                      FlopCounter* flops, Dist* dp = nullptr);

}  // namespace r1lab

// Data-parallel training inside one run (issue #20). Every rank of a Dist
// group samples its own shard of a step's prompts; the loss's denominators
// and the gradients are summed over the ranks before clipping, so every rank
// takes the optimiser step one process would take on the whole batch, and
// the ranks' weights stay identical. FLOPs and token counts are summed, so
// the budget stops every rank at the same step.
#pragma once

#include <torch/torch.h>

#include <array>
#include <string>
#include <utility>
#include <vector>

#include "dist.h"
#include "flops.h"
#include "r1lab.pb.h"

namespace r1lab {

// Rank `rank`'s share of `n` prompts: n / world each. ConfigError naming
// `field` (at `source`) unless `world` divides n.
int ShardSize(int n, int world, const std::string& field, const std::string& source);

// Rank d's rows [n r / W, n (r + 1) / W) of a batch of n (possibly none):
// all of them without `d`.
std::pair<int64_t, int64_t> RankRows(int64_t n, const Dist* d);

// A rank's own sampling seed: `seed` itself without data parallelism.
uint64_t RankSeed(uint64_t seed, const Dist* d);

// Sums the values over the ranks, in one all-reduce.
std::vector<double> SumOverRanks(std::vector<double> values, Dist& d);

// Sums every parameter's gradient over the ranks (a rank without one, e.g.
// with no rows in this minibatch, adds zeros; a parameter gets a gradient
// wherever any rank has one), with `extra` values summed alongside in the
// same all-reduce.
void SumGradients(const std::vector<torch::Tensor>& params, Dist& d, std::vector<double>* extra = nullptr);

// A FLOP counter's state: per phase, oracle calls, and a token count.
struct FlopMark {
  std::array<double, static_cast<size_t>(FlopPhase::kCount)> phase{};
  int64_t oracle_calls = 0, tokens = 0;
};
FlopMark MarkFlops(const FlopCounter& f, int64_t tokens);
// Sets `f` and `tokens` to `before` plus every rank's spending since it.
void SumFlopsSince(const FlopMark& before, Dist& d, FlopCounter* f, int64_t* tokens);

// Every floating-point field of `m` (repeated ones element by element)
// becomes its mean over the ranks. Shards are of equal size, so per-sample
// means are the whole batch's exactly; per-token means are weighted by shard
// rather than by token.
void AverageOverRanks(MetricsLine* m, Dist& d);

}  // namespace r1lab

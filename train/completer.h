// The policy as a Monte Carlo completer (train/mc_labels.h): every
// (problem, prefix) x n row decoded in one batched generation.
#pragma once

#include "flops.h"
#include "generate.h"
#include "mc_labels.h"
#include "r1lab.pb.h"
#include "transformer.h"

namespace r1lab {

class Dist;

// The decoded texts of one batched generation of `rows`. With `shard`
// (every rank of it calls, with the same model and rows), each rank
// generates its share of the rows, whole chunks of one process's batch
// (ShardRows, model/generate.h), so every text is one process's, and every
// rank gets every text; `flops` gets the ranks' sum, on every rank.
std::vector<std::string> GenerateTexts(Transformer& model, const std::vector<std::vector<int>>& rows,
                                       const GenerateOptions& opt, FlopCounter* flops, Dist* shard = nullptr);

// k sampled completions of each problem from `model` (rows problem-major),
// in one batched generation (shared over `shard` as GenerateTexts). FLOPs go
// to `flops` (phase kGenerate).
struct Samples {
  std::vector<const Problem*> problems;  // per sample
  std::vector<std::string> completions;  // decoded, specials by name
};
Samples SampleCompletions(Transformer& model, const std::vector<Problem>& problems, int k,
                          const SamplingConfig& sampling, uint64_t seed, FlopCounter* flops, Dist* shard = nullptr);

// The completer shares `model` (a module holder). Each call uses a fresh seed
// stream (seed, call number), and is shared over `shard` as GenerateTexts.
// FLOPs go to `flops` (phase kGenerate).
Completer ModelCompleter(Transformer model, const SamplingConfig& sampling, uint64_t seed, FlopCounter* flops,
                         Dist* shard = nullptr);

}  // namespace r1lab

// The policy as a Monte Carlo completer (train/mc_labels.h): every
// (problem, prefix) x n row decoded in one batched generation.
#pragma once

#include "flops.h"
#include "mc_labels.h"
#include "r1lab.pb.h"
#include "transformer.h"

namespace r1lab {

// k sampled completions of each problem from `model` (rows problem-major),
// in one batched generation. FLOPs go to `flops` (phase kGenerate).
struct Samples {
  std::vector<const Problem*> problems;  // per sample
  std::vector<std::string> completions;  // decoded, specials by name
};
Samples SampleCompletions(Transformer& model, const std::vector<Problem>& problems, int k,
                          const SamplingConfig& sampling, uint64_t seed, FlopCounter* flops);

// The completer shares `model` (a module holder). Each call uses a fresh seed
// stream (seed, call number). FLOPs go to `flops` (phase kGenerate).
Completer ModelCompleter(Transformer model, const SamplingConfig& sampling, uint64_t seed, FlopCounter* flops);

}  // namespace r1lab

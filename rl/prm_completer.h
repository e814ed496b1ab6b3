// The policy as a Monte Carlo completer (prm/mc_labels.h): every
// (problem, prefix) x n row decoded in one batched generation.
#pragma once

#include "flops.h"
#include "mc_labels.h"
#include "r1lab.pb.h"
#include "transformer.h"

namespace r1lab {

// The completer shares `model` (a module holder). Each call uses a fresh seed
// stream (seed, call number). FLOPs go to `flops` (phase kGenerate).
Completer ModelCompleter(Transformer model, const SamplingConfig& sampling, uint64_t seed, FlopCounter* flops);

}  // namespace r1lab

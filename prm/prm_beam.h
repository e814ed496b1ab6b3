// PRM-guided step-level beam search: each round, every live beam of a
// problem is extended by `expansions` sampled next steps (one line each, all
// rows of all problems in one batched generation); the PRM scores every
// candidate's steps so far, and the `beam_width` best by the aggregated score
// (finished beams compete too) survive. A beam finishes at <eos> or at the
// token limit. The answer is the best-scored finished beam.
#pragma once

#include <string>
#include <vector>

#include "flops.h"
#include "r1lab.pb.h"
#include "steps.h"
#include "task.h"
#include "transformer.h"

namespace r1lab {

struct BeamSpec {
  int beam_width = 4;
  int expansions = 4;  // sampled next steps per live beam
  int max_rounds = 16;
  Aggregation aggregation = Aggregation::kMin;
  SamplingConfig sampling;  // max_new_tokens bounds a whole completion
  uint64_t seed = 1;
};

struct BeamResult {
  std::vector<std::string> answers;  // best completion per problem
  std::vector<bool> correct;
  double accuracy = 0;
  double generated_tokens = 0;  // over all problems, every candidate
};

// FLOPs: generation to kGenerate, PRM scoring to kScore of `flops`.
BeamResult PrmBeamSearch(Transformer& policy, Transformer& prm, const Task& task, const std::vector<Problem>& problems,
                         const BeamSpec& spec, FlopCounter* flops);

}  // namespace r1lab

// Process supervision advantages (DeepSeekMath's GRPO with a PRM): each
// step reward is normalised by the mean and standard deviation of all step
// rewards in its group; a token's advantage is the sum of the normalised
// rewards of the steps that end at or after it.
#pragma once

#include <vector>

namespace r1lab {

struct StepRewards {
  std::vector<double> rewards;  // per step
  std::vector<int> end_tokens;  // per step: index of its last token in the completion (0-based, increasing)
  int length = 0;               // completion tokens
};

// samples: G consecutive samples per group. Returns per-token advantages
// (length entries per sample). Std with Bessel's correction, as in
// GROUP_ZSCORE; a group whose step rewards are all equal gets zeros.
std::vector<std::vector<double>> ProcessAdvantages(const std::vector<StepRewards>& samples, int group_size,
                                                   double std_epsilon);

}  // namespace r1lab

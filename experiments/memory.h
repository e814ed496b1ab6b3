// A lower bound on the memory an experiment needs, checked before anything
// is allocated: a config that cannot fit is refused with what to lower,
// instead of growing until the kernel kills it.
#pragma once

#include <string>

#include "r1lab.pb.h"

namespace r1lab {

struct MemoryEstimate {
  double params = 0;        // parameters of one model
  double train_state_gb = 0;  // the policy's weights, gradients and Adam moments
  double activations_gb = 0;  // a training forward's saved activations and logits
  double kv_cache_gb = 0;     // generation's key/value cache and logits
  double total_gb = 0;        // state + the larger of the two phases
  int64_t train_rows = 0;     // the largest training batch in the config (rows)
  int64_t sample_rows = 0;    // the largest sampling.batch_size in the config
};

// Counts the policy only (references, critics and reward models come on
// top), so it never refuses a config that fits.
MemoryEstimate EstimateMemory(const ExperimentConfig& cfg, int vocab);

// ConfigError naming the estimate's parts and what to lower when the lower
// bound exceeds `available_mb` (the model's device's: DeviceMemoryMb in
// model/machine.h); no check when it is 0 (unknown).
void CheckMemory(const ExperimentConfig& cfg, int vocab, double available_mb, const std::string& source);

}  // namespace r1lab

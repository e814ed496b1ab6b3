// The optimiser and its schedule, one definition for every strategy.
#pragma once

#include <torch/torch.h>

#include "r1lab.pb.h"
#include "transformer.h"

namespace r1lab {

torch::optim::AdamW MakeAdamW(Transformer& model, const OptimConfig& cfg);
// Over `params` only (e.g. one head of a model).
torch::optim::AdamW MakeAdamW(const std::vector<torch::Tensor>& params, const OptimConfig& cfg);
// Learning rate at `step` (0-based) of `total` steps: linear warm-up, then
// cosine decay to lr * min_lr_ratio.
double ScheduledLr(const OptimConfig& cfg, int64_t step, int64_t total);
// Sets every parameter group's learning rate.
void SetLr(torch::optim::AdamW& opt, double lr);

}  // namespace r1lab

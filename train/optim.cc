#include "optim.h"

#include <algorithm>
#include <cmath>

namespace r1lab {

torch::optim::AdamW MakeAdamW(const std::vector<torch::Tensor>& params, const OptimConfig& cfg) {
  return torch::optim::AdamW(
      params, torch::optim::AdamWOptions(cfg.lr()).betas({cfg.beta1(), cfg.beta2()}).weight_decay(cfg.weight_decay()));
}

torch::optim::AdamW MakeAdamW(Transformer& model, const OptimConfig& cfg) { return MakeAdamW(model->parameters(), cfg); }

double ScheduledLr(const OptimConfig& cfg, int64_t step, int64_t total) {
  if (step < cfg.warmup_steps()) return cfg.lr() * (step + 1) / cfg.warmup_steps();
  const double span = std::max<int64_t>(1, total - cfg.warmup_steps());
  const double progress = std::min(1.0, (step - cfg.warmup_steps()) / span);
  const double floor = cfg.min_lr_ratio();
  return cfg.lr() * (floor + (1 - floor) * 0.5 * (1 + std::cos(M_PI * progress)));
}

void SetLr(torch::optim::AdamW& opt, double lr) {
  for (auto& g : opt.param_groups()) static_cast<torch::optim::AdamWOptions&>(g.options()).lr(lr);
}

}  // namespace r1lab

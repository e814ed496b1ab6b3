#include "policy_loss.h"

#include <cmath>

#include "error.h"

namespace r1lab {

std::vector<double> GroupAdvantages(const std::vector<double>& r, int G, AdvantageEstimator est, double eps) {
  R1_CHECK(G >= 2 && r.size() % G == 0, "GroupAdvantages: rewards must form whole groups of >= 2");
  const size_t n = r.size();
  std::vector<double> a(n);
  double batch_std = 0;
  if (est == BATCH_STD) {
    double m = 0;
    for (double x : r) m += x;
    m /= n;
    for (double x : r) batch_std += (x - m) * (x - m);
    batch_std = n > 1 ? std::sqrt(batch_std / (n - 1)) : 0;
  }
  for (size_t g = 0; g < n; g += G) {
    double sum = 0;
    for (int i = 0; i < G; ++i) sum += r[g + i];
    const double mean = sum / G;
    double var = 0;
    for (int i = 0; i < G; ++i) var += (r[g + i] - mean) * (r[g + i] - mean);
    const double std = std::sqrt(var / (G - 1));  // Bessel-corrected
    for (int i = 0; i < G; ++i) {
      const double x = r[g + i];
      switch (est) {
        case GROUP_ZSCORE: a[g + i] = (x - mean) / (std + eps); break;
        case GROUP_MEAN: a[g + i] = x - mean; break;
        case RLOO: a[g + i] = x - (sum - x) / (G - 1); break;
        case BATCH_STD: a[g + i] = (x - mean) / (batch_std + eps); break;
      }
    }
  }
  return a;
}

torch::Tensor KlPerToken(const torch::Tensor& logp, const torch::Tensor& ref_logp, KlEstimator est) {
  const torch::Tensor d = logp - ref_logp;  // log(pi / pi_ref)
  switch (est) {
    case K1: return d;
    case K2: return 0.5 * d * d;
    case K3: return torch::exp(-d) + d - 1;  // pi_ref/pi - log(pi_ref/pi) - 1
  }
  throw InternalError("KlPerToken: unknown estimator");
}

torch::Tensor ReverseCumsum(const torch::Tensor& x) { return x.flip({1}).cumsum(1).flip({1}); }

torch::Tensor AggregateLoss(const torch::Tensor& per_token, const torch::Tensor& mask, LossAggregation agg,
                            double max_length, const LossDenominators& d) {
  const torch::Tensor masked = per_token * mask;
  auto seq_mean = [&](const torch::Tensor& per_seq) { return d.rows > 0 ? per_seq.sum() / d.rows : per_seq.mean(); };
  switch (agg) {
    case SEQ_MEAN_TOKEN_MEAN: return seq_mean(masked.sum(1) / mask.sum(1).clamp_min(1));
    case TOKEN_MEAN: return d.tokens > 0 ? masked.sum() / d.tokens : masked.sum() / mask.sum().clamp_min(1);
    case SEQ_MEAN_TOKEN_SUM_NORM: return seq_mean(masked.sum(1) / max_length);
  }
  throw InternalError("AggregateLoss: unknown aggregation");
}

torch::Tensor PolicyLoss(const PolicyLossInputs& in, const PolicyLossOptions& o, PolicyLossStats* stats) {
  const torch::Tensor& A = in.advantages;
  const torch::Tensor ratio = torch::exp(in.logprobs - in.old_logprobs);
  const torch::Tensor clipped = ratio.clamp(1 - o.clip_low, 1 + o.clip_high);
  torch::Tensor pg = -torch::min(ratio * A, clipped * A);
  if (o.dual_clip > 0) pg = torch::where(A < 0, torch::min(pg, -o.dual_clip * A), pg);
  torch::Tensor per_token = pg;
  if (in.kl.defined() && o.kl_coef > 0) per_token = per_token + o.kl_coef * in.kl;
  if (in.entropy.defined() && o.entropy_coef > 0) per_token = per_token - o.entropy_coef * in.entropy;
  const torch::Tensor loss = AggregateLoss(per_token, in.mask, o.aggregation, o.max_length, o.denominators);
  if (stats) {
    torch::NoGradGuard ng;
    const torch::Tensor m = in.mask;
    const double n = std::max(1.0, m.sum().item<double>());
    auto mean = [&](const torch::Tensor& x) { return (x.to(m.scalar_type()) * m).sum().item<double>() / n; };
    stats->pg_loss = mean(pg);
    if (in.kl.defined()) stats->kl = mean(in.kl);
    if (in.entropy.defined()) stats->entropy = mean(in.entropy);
    const torch::Tensor low = ratio < 1 - o.clip_low, high = ratio > 1 + o.clip_high;
    stats->clip_low_frac = mean(low & (A < 0));
    stats->clip_high_frac = mean(high & (A > 0));
    stats->clip_region_frac = mean(low | high);
    stats->ratio_max_abs_dev = ((ratio - 1).abs() * m).max().item<double>();
  }
  return loss;
}

}  // namespace r1lab

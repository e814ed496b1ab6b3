#include "policy_update.h"

#include <cmath>
#include <utility>

#include "data_parallel.h"
#include "transformer.h"

namespace r1lab {

std::vector<std::vector<int>> ShuffledMinibatches(int n, int m, Rng& rng) {
  std::vector<int> order(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) order[static_cast<size_t>(i)] = i;
  for (int i = n - 1; i > 0; --i) std::swap(order[static_cast<size_t>(i)], order[static_cast<size_t>(rng.Int(0, i))]);
  std::vector<std::vector<int>> out;
  for (int k = 0; k < m; ++k) out.emplace_back(order.begin() + k * n / m, order.begin() + (k + 1) * n / m);
  return out;
}

torch::Tensor SequenceLogprobs(Transformer& model, const torch::Tensor& tokens, double temperature) {
  return NextTokenStats(model->forward(tokens).logits, tokens, temperature).logprobs;
}

PolicyUpdateResult PolicyUpdate(Transformer& policy, torch::optim::Optimizer& optimizer, const PolicyBatch& mb,
                                const PolicyLossOptions& opt, double temperature, double grad_clip,
                                KlEstimator kl_estimator, Dist* dp) {
  optimizer.zero_grad();
  PolicyUpdateResult r;
  if (mb.batch.tokens.defined() && mb.batch.tokens.size(0) > 0) {
    const TokenStats ts = NextTokenStats(policy->forward(mb.batch.tokens).logits, mb.batch.tokens, temperature);
    PolicyLossInputs in;
    in.logprobs = ts.logprobs;
    in.old_logprobs = mb.old_lp.defined() ? mb.old_lp : ts.logprobs.detach();
    // Advantages and mask are filled in on the CPU; the loss meets the log-probs on the model's device.
    in.advantages = mb.advantages.to(ts.logprobs.device());
    in.mask = mb.mask.to(ts.logprobs.device());
    in.entropy = ts.entropy;
    if (mb.ref_lp.defined()) in.kl = KlPerToken(ts.logprobs, mb.ref_lp, kl_estimator);
    torch::Tensor loss = PolicyLoss(in, opt, &r.stats);
    loss.backward();
    r.loss = loss.item<double>();
  }
  if (dp) {
    std::vector<double> loss = {r.loss};
    SumGradients(policy->parameters(), *dp, &loss);
    r.loss = loss[0];
  }
  // The pre-clip norm; an infinite max norm leaves the gradient as it is.
  r.grad_norm = torch::nn::utils::clip_grad_norm_(policy->parameters(), grad_clip > 0 ? grad_clip : INFINITY);
  optimizer.step();
  return r;
}

}  // namespace r1lab

#include "token_batch.h"

#include <algorithm>

#include "data_parallel.h"
#include "error.h"
#include "optim.h"
#include "tokenizer.h"

namespace r1lab {

TokenBatch BatchFromIds(const std::vector<std::vector<int>>& prompts,
                        const std::vector<std::vector<int>>& completions) {
  R1_CHECK(prompts.size() == completions.size(), "BatchFromIds: prompts and completions differ in number");
  const int64_t B = static_cast<int64_t>(prompts.size());
  int64_t T = 2;
  for (int64_t i = 0; i < B; ++i)
    T = std::max<int64_t>(T, static_cast<int64_t>(prompts[i].size() + completions[i].size()));
  TokenBatch b;
  b.tokens = torch::zeros({B, T}, torch::kLong);  // right padding: never attended to, never trained
  b.loss_mask = torch::zeros({B, T - 1}, torch::kFloat);
  auto ta = b.tokens.accessor<int64_t, 2>();
  auto ma = b.loss_mask.accessor<float, 2>();
  for (int64_t i = 0; i < B; ++i) {
    const int64_t P = static_cast<int64_t>(prompts[i].size());
    const int64_t L = P + static_cast<int64_t>(completions[i].size());
    for (int64_t t = 0; t < P; ++t) ta[i][t] = prompts[i][t];
    for (int64_t t = P; t < L; ++t) ta[i][t] = completions[i][t - P];
    for (int64_t t = P - 1; t < L - 1; ++t) ma[i][t] = 1.0f;
    b.lengths.push_back(L);
  }
  return b;
}

TokenBatch MakeTokenBatch(const std::vector<std::pair<std::string, std::string>>& pc, const Tokenizer& tok,
                          int max_seq_len) {
  std::vector<std::vector<int>> prompts, completions;
  for (const auto& [prompt, completion] : pc) {
    const std::vector<int> p = tok.EncodePrompt(prompt);
    std::vector<int> c = tok.Encode(completion);
    c.push_back(tok.eos());
    if (static_cast<int>(p.size() + c.size()) > max_seq_len)
      throw InputError("a training sequence of " + std::to_string(p.size() + c.size()) +
                       " tokens exceeds model.max_seq_len=" + std::to_string(max_seq_len) + " (prompt '" + prompt +
                       "')");
    prompts.push_back(std::move(p));
    completions.push_back(std::move(c));
  }
  return BatchFromIds(prompts, completions);
}

torch::Tensor CrossEntropyLoss(Transformer& model, const TokenBatch& b, double* forward_flops, double loss_tokens) {
  const auto dev = model->device();
  const torch::Tensor tokens = b.tokens.to(dev);
  const torch::Tensor logits = model->forward(tokens).logits;
  torch::Tensor lp;  // [B, T-1]: the log-likelihood of each position's target
  if (b.targets.defined()) {
    const torch::Tensor logp = torch::log_softmax(logits.narrow(1, 0, logits.size(1) - 1), -1);
    lp = (b.targets.to(dev, logp.scalar_type()) * logp).sum(-1);
  } else {
    lp = NextTokenStats(logits, tokens, 1.0).logprobs;
  }
  torch::Tensor mask = b.loss_mask.to(dev, lp.scalar_type());
  if (forward_flops) {
    *forward_flops = 0;
    for (int64_t L : b.lengths) *forward_flops += ForwardFlopsSequence(model->config(), model->vocab_size(), L);
  }
  return loss_tokens > 0 ? -(lp * mask).sum() / loss_tokens : -(lp * mask).sum() / mask.sum();
}

double CrossEntropyStep(Transformer& model, torch::optim::Optimizer& opt, const TokenBatch& b, double lr,
                        double grad_clip, FlopCounter* flops, Dist* dp, double loss_tokens) {
  model->train();
  for (auto& g : opt.param_groups()) static_cast<torch::optim::AdamWOptions&>(g.options()).lr(lr);
  opt.zero_grad();
  double forward = 0;
  std::vector<double> loss = {0.0};
  if (b.tokens.size(0) > 0) {
    const torch::Tensor l = CrossEntropyLoss(model, b, &forward, dp ? loss_tokens : 0);
    l.backward();
    loss[0] = l.item<double>();
  }
  if (dp) SumGradients(model->parameters(), *dp, &loss);
  if (grad_clip > 0) torch::nn::utils::clip_grad_norm_(model->parameters(), grad_clip);
  opt.step();
  if (flops) flops->Add(FlopPhase::kTrain, 3 * forward);
  return loss[0];
}

TokenBatch BatchRows(const TokenBatch& b, int64_t first, int64_t n) {
  TokenBatch out;
  out.lengths.assign(b.lengths.begin() + first, b.lengths.begin() + first + n);
  // Without the padding past these rows' longest (no position attends to a
  // later one, so each row's loss is the same).
  int64_t T = 2;
  for (int64_t L : out.lengths) T = std::max(T, L);
  T = std::min(T, b.tokens.size(1));
  out.tokens = b.tokens.narrow(0, first, n).narrow(1, 0, T);
  out.loss_mask = b.loss_mask.narrow(0, first, n).narrow(1, 0, T - 1);
  if (b.targets.defined()) out.targets = b.targets.narrow(0, first, n).narrow(1, 0, T - 1);
  return out;
}

double SharedCrossEntropyStep(Transformer& model, torch::optim::Optimizer& opt, const TokenBatch& whole, double lr,
                              double grad_clip, FlopCounter* flops, Dist* dp) {
  if (!dp) return CrossEntropyStep(model, opt, whole, lr, grad_clip, flops);
  FlopCounter scratch;  // the FLOPs' sum is a collective: every rank takes part, counting or not
  FlopCounter* counted = flops ? flops : &scratch;
  int64_t unused = 0;
  const FlopMark before = MarkFlops(*counted, unused);
  const auto [lo, hi] = RankRows(whole.tokens.size(0), dp);
  const double loss = CrossEntropyStep(model, opt, BatchRows(whole, lo, hi - lo), lr, grad_clip, counted, dp,
                                       whole.loss_mask.sum().item<double>());
  SumFlopsSince(before, *dp, counted, &unused);
  return loss;
}

double SupervisedSteps(Transformer& model, torch::optim::Optimizer& opt,
                       const std::vector<std::pair<std::string, std::string>>& data, int steps, int batch_size,
                       const OptimConfig& optim, int64_t first_step, int64_t total_steps, Rng& rng,
                       FlopCounter* flops, int64_t* tokens, Dist* dp) {
  R1_CHECK(!data.empty(), "SupervisedSteps: no data");
  double loss = 0;
  for (int s = 0; s < steps; ++s) {
    std::vector<std::pair<std::string, std::string>> pc;
    for (int b = 0; b < batch_size; ++b)
      pc.push_back(data[static_cast<size_t>(rng.Int(0, static_cast<int64_t>(data.size()) - 1))]);
    const TokenBatch batch = MakeTokenBatch(pc, model->tokenizer(), model->config().max_seq_len());
    const double lr = ScheduledLr(optim, first_step + s, total_steps);
    loss = SharedCrossEntropyStep(model, opt, batch, lr, optim.grad_clip(), flops, dp);
    for (int64_t len : batch.lengths) *tokens += len;
  }
  return loss;
}

}  // namespace r1lab

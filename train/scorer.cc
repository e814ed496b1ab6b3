#include "scorer.h"

#include "data_parallel.h"
#include "error.h"
#include "optim.h"
#include "token_batch.h"
#include "tokenizer.h"

namespace r1lab {

namespace {

struct PrmBatch {
  torch::Tensor tokens;                      // [B, T]
  torch::Tensor rows, positions;             // [S] step ends, flattened
  std::vector<size_t> steps_per_item;
  std::vector<int64_t> lengths;
};

PrmBatch Build(const Tokenizer& tok, const std::vector<PrmExample>& items) {
  std::vector<std::vector<int>> prompts, completions;
  std::vector<int64_t> rows, positions;
  PrmBatch b;
  for (size_t i = 0; i < items.size(); ++i) {
    const std::vector<int> p = tok.EncodePrompt(items[i].prompt);
    prompts.push_back(p);
    completions.push_back(tok.Encode(items[i].completion));
    const auto pos = StepEndPositions(tok, items[i].prompt, items[i].completion, items[i].steps);
    for (int64_t q : pos) {
      rows.push_back(static_cast<int64_t>(i));
      positions.push_back(q);
    }
    b.steps_per_item.push_back(pos.size());
  }
  const TokenBatch tb = BatchFromIds(prompts, completions);
  b.tokens = tb.tokens;
  b.lengths = tb.lengths;
  b.rows = torch::tensor(rows, torch::kLong);
  b.positions = torch::tensor(positions, torch::kLong);
  return b;
}

double BatchFlops(const Transformer& m, const PrmBatch& b) {
  double f = 0;
  for (int64_t len : b.lengths) f += ForwardFlopsSequence(m->config(), m->vocab_size(), len);
  return f;
}

}  // namespace

std::vector<int> StepEndTokenIndex(const Tokenizer& tok, const std::vector<int>& tokens, const std::vector<Segment>& steps) {
  std::vector<size_t> char_end;  // one past each token's last character
  size_t at = 0;
  for (int t : tokens) char_end.push_back(at += tok.Piece(t).size());
  std::vector<int> out;
  size_t k = 0;
  for (const Segment& s : steps) {
    if (s.end == 0) throw InputError("PRM: an empty step");
    while (k < char_end.size() && char_end[k] < s.end) ++k;
    if (k >= char_end.size()) throw InputError("PRM: a step ends outside its completion");
    out.push_back(static_cast<int>(k));
  }
  return out;
}

std::vector<int64_t> StepEndPositions(const Tokenizer& tok, const std::string& prompt, const std::string& completion,
                                      const std::vector<Segment>& steps) {
  const int64_t prompt_len = static_cast<int64_t>(tok.EncodePrompt(prompt).size());
  std::vector<int64_t> out;
  for (int k : StepEndTokenIndex(tok, tok.Encode(completion), steps)) out.push_back(prompt_len + k);
  return out;
}

PrmExample OutcomeExample(const std::string& prompt, const std::string& completion, bool correct) {
  if (completion.empty()) throw InputError("ORM: empty completion");
  return {prompt, completion, {{0, completion.size()}}, {correct ? 1.0 : 0.0}};
}

namespace {

// The model's PRM head's parameters (head = true) or all the others.
std::vector<torch::Tensor> HeadParams(Transformer& m, bool head) {
  std::vector<torch::Tensor> out;
  for (const auto& p : m->named_parameters())
    if ((p.key().rfind("prm_head.", 0) == 0) == head) out.push_back(p.value());
  return out;
}

}  // namespace

PrmTrainer::PrmTrainer(Transformer model, const OptimConfig& optim, int64_t total_steps, bool head_only)
    : model_(model), optim_(optim), total_(total_steps),
      params_(head_only ? HeadParams(model_, true) : model_->parameters()),
      frozen_(head_only ? HeadParams(model_, false) : std::vector<torch::Tensor>{}), opt_(MakeAdamW(params_, optim)) {
  if (!model_->config().prm_head()) throw ConfigError("PRM training needs a model with prm_head: true");
}

torch::Tensor PrmLoss(Transformer& model, const std::vector<PrmExample>& batch, double* forward_flops) {
  const PrmBatch b = Build(model->tokenizer(), batch);
  std::vector<float> targets;
  for (const PrmExample& e : batch) {
    if (e.targets.size() != e.steps.size()) throw InputError("PRM: targets and steps differ in number");
    for (double t : e.targets) targets.push_back(static_cast<float>(t));
  }
  const auto dev = model->device();
  const torch::Tensor logits =
      model->forward(b.tokens.to(dev)).prm_logits.index({b.rows.to(dev), b.positions.to(dev)});
  if (forward_flops) *forward_flops = BatchFlops(model, b);
  return torch::binary_cross_entropy_with_logits(logits, torch::tensor(targets).to(dev, logits.scalar_type()));
}

torch::Tensor PreferenceLoss(Transformer& model, const std::vector<PreferencePair>& batch, double* forward_flops) {
  if (batch.empty()) throw InputError("preference loss: no pairs");
  std::vector<PrmExample> items;
  for (const PreferencePair& p : batch) items.push_back(p.chosen);
  for (const PreferencePair& p : batch) items.push_back(p.rejected);
  for (const PrmExample& e : items)
    if (e.steps.size() != 1) throw InputError("preference loss: a response must be one step (an ORM example)");
  const PrmBatch b = Build(model->tokenizer(), items);
  const auto dev = model->device();
  const torch::Tensor logits =
      model->forward(b.tokens.to(dev)).prm_logits.index({b.rows.to(dev), b.positions.to(dev)});
  if (forward_flops) *forward_flops = BatchFlops(model, b);
  const int64_t n = static_cast<int64_t>(batch.size());
  // -log sigmoid(c - r) = softplus(r - c)
  return torch::softplus(logits.slice(0, n, 2 * n) - logits.slice(0, 0, n)).mean();
}

double PrmTrainer::Step(const std::vector<PrmExample>& batch, FlopCounter* flops) {
  if (!dp_) return Apply([&](double* forward) { return PrmLoss(model_, batch, forward); }, flops);
  const auto [lo, hi] = RankRows(static_cast<int64_t>(batch.size()), dp_);
  const std::vector<PrmExample> mine(batch.begin() + lo, batch.begin() + hi);
  double steps = 0, my_steps = 0;  // the BCE is a mean over every step of the batch
  for (const PrmExample& e : batch) steps += static_cast<double>(e.steps.size());
  for (const PrmExample& e : mine) my_steps += static_cast<double>(e.steps.size());
  if (mine.empty()) return Apply(nullptr, flops);
  return Apply([&](double* forward) { return PrmLoss(model_, mine, forward) * (my_steps / steps); }, flops);
}

double PrmTrainer::Step(const std::vector<PreferencePair>& batch, FlopCounter* flops) {
  if (!dp_) return Apply([&](double* forward) { return PreferenceLoss(model_, batch, forward); }, flops);
  const auto [lo, hi] = RankRows(static_cast<int64_t>(batch.size()), dp_);
  const std::vector<PreferencePair> mine(batch.begin() + lo, batch.begin() + hi);
  if (mine.empty()) return Apply(nullptr, flops);
  const double share = static_cast<double>(mine.size()) / static_cast<double>(batch.size());
  return Apply([&](double* forward) { return PreferenceLoss(model_, mine, forward) * share; }, flops);
}

double PrmTrainer::Apply(const std::function<torch::Tensor(double*)>& loss_of, FlopCounter* flops) {
  const double lr = ScheduledLr(optim_, step_++, total_);
  SetLr(opt_, lr);
  model_->train();
  opt_.zero_grad();
  // Head only: the rest of the model is frozen for this step (no gradients
  // reach it), then thawed.
  for (auto& p : frozen_) p.requires_grad_(false);
  std::vector<double> sums = {0, 0};  // the loss, the forward FLOPs: summed over data-parallel ranks
  if (loss_of) {
    const torch::Tensor loss = loss_of(&sums[1]);
    loss.backward();
    sums[0] = loss.item<double>();
  }
  for (auto& p : frozen_) p.requires_grad_(true);
  if (dp_) SumGradients(params_, *dp_, &sums);
  const double forward = sums[1];
  if (optim_.grad_clip() > 0) torch::nn::utils::clip_grad_norm_(params_, optim_.grad_clip());
  opt_.step();
  // The head's gradient is gone again: another optimizer over the same model
  // (a policy's, on a shared trunk) must not see it, even as zeros.
  if (!frozen_.empty())
    for (auto& p : params_) p.mutable_grad() = torch::Tensor();
  // Forward and backward; head only: the forward (the head's own backward is negligible).
  if (flops) flops->Add(FlopPhase::kTrain, (frozen_.empty() ? 3 : 1) * forward);
  return sums[0];
}

std::vector<std::vector<double>> ScoreSteps(Transformer& prm, const std::vector<PrmExample>& items, FlopCounter* flops,
                                            FlopPhase phase) {
  if (!prm->config().prm_head()) throw ConfigError("PRM scoring needs a model with prm_head: true");
  std::vector<std::vector<double>> out;
  constexpr size_t kChunk = 256;
  prm->eval();
  torch::NoGradGuard no_grad;
  for (size_t start = 0; start < items.size(); start += kChunk) {
    const std::vector<PrmExample> chunk(items.begin() + static_cast<long>(start),
                                        items.begin() + static_cast<long>(std::min(items.size(), start + kChunk)));
    const PrmBatch b = Build(prm->tokenizer(), chunk);
    const auto dev = prm->device();
    const torch::Tensor p =
        torch::sigmoid(prm->forward(b.tokens.to(dev)).prm_logits.index({b.rows.to(dev), b.positions.to(dev)}))
            .to(torch::kCPU, torch::kDouble)
            .contiguous();
    const double* v = p.data_ptr<double>();
    size_t k = 0;
    for (size_t n : b.steps_per_item) {
      out.emplace_back(v + k, v + k + n);
      k += n;
    }
    if (flops) flops->Add(phase, BatchFlops(prm, b));
  }
  return out;
}

}  // namespace r1lab

#include "search_env.h"

#include <algorithm>

#include "error.h"
#include "generate.h"
#include "sft.h"
#include "tokenizer.h"

namespace r1lab {

PolicyTokenEnv::PolicyTokenEnv(Transformer policy, const Task& task, const Problem& problem, int max_children,
                               int max_new_tokens, const SamplingConfig& rollout, uint64_t seed, FlopCounter* flops)
    : policy_(policy), task_(task), problem_(problem), max_children_(max_children), max_new_tokens_(max_new_tokens),
      rollout_(rollout), seed_(seed), flops_(flops) {
  prompt_ = Tokenizer::Get().EncodePrompt(problem.prompt);
  const int room = policy_->config().max_seq_len() - static_cast<int>(prompt_.size());
  if (room < 1) throw InputError("search: the prompt fills the model's context");
  max_new_tokens_ = std::min(max_new_tokens_, room);
}

void PolicyTokenEnv::set_value_model(Transformer value) {
  if (!value->config().prm_head()) throw ConfigError("search: the value network needs a model with prm_head: true");
  value_ = value;
}

std::vector<LeafEval> PolicyTokenEnv::Evaluate(const std::vector<std::string>& texts) {
  const Tokenizer& tok = Tokenizer::Get();
  std::vector<LeafEval> out(texts.size());
  std::vector<size_t> open;  // unfinished leaves
  std::vector<std::vector<int>> completions;
  if (value_) {
    // Every leaf's value: the network's estimate at its last token.
    std::vector<std::vector<int>> all;
    for (const std::string& t : texts) all.push_back(tok.Encode(t));
    const TokenBatch b = BatchFromIds(std::vector<std::vector<int>>(texts.size(), prompt_), all);
    value_->eval();
    torch::NoGradGuard no_grad;
    const torch::Tensor logits = value_->forward(b.tokens.to(value_->device())).prm_logits.to(torch::kCPU, torch::kFloat);
    for (size_t i = 0; i < texts.size(); ++i) {
      const int64_t last = static_cast<int64_t>(prompt_.size() + all[i].size()) - 1;
      out[i].value = torch::sigmoid(logits[static_cast<int64_t>(i)][last]).item<double>();
      if (flops_) flops_->Add(FlopPhase::kScore, ForwardFlopsSequence(value_->config(), value_->vocab_size(), b.lengths[i]));
    }
  }
  for (size_t i = 0; i < texts.size(); ++i) {
    std::vector<int> ids = tok.Encode(texts[i]);
    const bool done = (!ids.empty() && ids.back() == Tokenizer::kEos) || static_cast<int>(ids.size()) >= max_new_tokens_;
    if (done) {
      if (!value_) out[i].value = task_.Verify(texts[i], problem_).correct ? 1.0 : 0.0;
    } else {
      open.push_back(i);
      completions.push_back(std::move(ids));
    }
  }
  if (open.empty()) return out;
  policy_->eval();
  torch::NoGradGuard no_grad;
  // Priors: one forward over every open leaf; the next-token distribution at its last position.
  const TokenBatch b = BatchFromIds(std::vector<std::vector<int>>(open.size(), prompt_), completions);
  const auto dev = policy_->device();
  const torch::Tensor logits = policy_->forward(b.tokens.to(dev)).logits.to(torch::kCPU, torch::kFloat);
  if (flops_)
    for (int64_t len : b.lengths) flops_->Add(FlopPhase::kScore, ForwardFlopsSequence(policy_->config(), policy_->vocab_size(), len));
  const int vocab = static_cast<int>(logits.size(2));
  for (size_t k = 0; k < open.size(); ++k) {
    const int64_t last = static_cast<int64_t>(prompt_.size() + completions[k].size()) - 1;
    const torch::Tensor p = torch::softmax(logits[static_cast<int64_t>(k)][last], -1);
    const auto top = torch::topk(p, std::min(max_children_, vocab));
    const torch::Tensor probs = std::get<0>(top), ids = std::get<1>(top);
    for (int64_t j = 0; j < probs.size(0); ++j) {
      const int id = static_cast<int>(ids[j].item<int64_t>());
      if (id == Tokenizer::kPad || id == Tokenizer::kBos) continue;
      out[open[k]].children.emplace_back(tok.Decode({id}), probs[j].item<double>());
    }
  }
  if (value_) return out;
  // Values: one rollout per open leaf, all in one batched generation.
  std::vector<std::vector<int>> prefixes;
  for (size_t k = 0; k < open.size(); ++k) {
    std::vector<int> row = prompt_;
    row.insert(row.end(), completions[k].begin(), completions[k].end());
    prefixes.push_back(std::move(row));
  }
  GenerateOptions go;
  go.sampling = rollout_;
  go.sampling.set_max_new_tokens(max_new_tokens_);
  go.seed = seed_ * 1000003ULL + calls_++;
  const auto gens = Generate(policy_, prefixes, go, flops_);
  for (size_t k = 0; k < open.size(); ++k)
    out[open[k]].value = task_.Verify(texts[open[k]] + tok.Decode(gens[k].tokens), problem_).correct ? 1.0 : 0.0;
  return out;
}

}  // namespace r1lab

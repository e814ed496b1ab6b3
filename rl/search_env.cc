#include "search_env.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "error.h"
#include "generate.h"
#include "sft.h"
#include "tokenizer.h"

namespace r1lab {

PolicySearchEnv::PolicySearchEnv(Transformer policy, const Task& task, const Problem& problem, int max_new_tokens,
                                 const SamplingConfig& sampling, uint64_t seed, FlopCounter* flops)
    : policy_(policy), task_(task), problem_(problem), max_new_tokens_(max_new_tokens), sampling_(sampling),
      flops_(flops), seed_(seed) {
  prompt_ = Tokenizer::Get().EncodePrompt(problem.prompt);
  const int room = policy_->config().max_seq_len() - static_cast<int>(prompt_.size());
  if (room < 1) throw InputError("search: the prompt fills the model's context");
  max_new_tokens_ = std::min(max_new_tokens_, room);
}

void PolicySearchEnv::set_value_model(Transformer value) {
  if (!value->config().prm_head()) throw ConfigError("search: the value network needs a model with prm_head: true");
  value_ = value;
}

std::vector<std::pair<size_t, std::vector<int>>> PolicySearchEnv::Triage(const std::vector<std::string>& texts,
                                                                         std::vector<LeafEval>* out) {
  const Tokenizer& tok = Tokenizer::Get();
  out->assign(texts.size(), LeafEval{});
  std::vector<std::vector<int>> ids;
  for (const std::string& t : texts) ids.push_back(tok.Encode(t));
  if (value_) {
    // Every leaf's value: the network's estimate at its last token.
    const TokenBatch b = BatchFromIds(std::vector<std::vector<int>>(texts.size(), prompt_), ids);
    value_->eval();
    torch::NoGradGuard no_grad;
    const torch::Tensor logits =
        value_->forward(b.tokens.to(value_->device())).prm_logits.to(torch::kCPU, torch::kFloat);
    for (size_t i = 0; i < texts.size(); ++i) {
      const int64_t last = static_cast<int64_t>(prompt_.size() + ids[i].size()) - 1;
      (*out)[i].value = torch::sigmoid(logits[static_cast<int64_t>(i)][last]).item<double>();
      if (flops_)
        flops_->Add(FlopPhase::kScore, ForwardFlopsSequence(value_->config(), value_->vocab_size(), b.lengths[i]));
    }
  }
  std::vector<std::pair<size_t, std::vector<int>>> open;
  for (size_t i = 0; i < texts.size(); ++i) {
    const bool done = (!ids[i].empty() && ids[i].back() == Tokenizer::kEos) ||
                      static_cast<int>(ids[i].size()) >= max_new_tokens_;
    if (!done) open.emplace_back(i, std::move(ids[i]));
    else if (!value_) (*out)[i].value = task_.Verify(texts[i], problem_).correct ? 1.0 : 0.0;
  }
  return open;
}

PolicyTokenEnv::PolicyTokenEnv(Transformer policy, const Task& task, const Problem& problem, int max_children,
                               int max_new_tokens, const SamplingConfig& rollout, uint64_t seed, FlopCounter* flops)
    : PolicySearchEnv(policy, task, problem, max_new_tokens, rollout, seed, flops), max_children_(max_children) {}

std::vector<LeafEval> PolicyTokenEnv::Evaluate(const std::vector<std::string>& texts) {
  const Tokenizer& tok = Tokenizer::Get();
  std::vector<LeafEval> out;
  const auto open = Triage(texts, &out);
  if (open.empty()) return out;
  std::vector<std::vector<int>> completions;
  for (const auto& [i, ids] : open) completions.push_back(ids);
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
      out[open[k].first].children.emplace_back(tok.Decode({id}), probs[j].item<double>());
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
  go.sampling = sampling_;
  go.sampling.set_max_new_tokens(max_new_tokens_);
  go.seed = NextSeed();
  const auto gens = Generate(policy_, prefixes, go, flops_);
  for (size_t k = 0; k < open.size(); ++k) {
    const size_t i = open[k].first;
    out[i].value = task_.Verify(texts[i] + tok.Decode(gens[k].tokens), problem_).correct ? 1.0 : 0.0;
  }
  return out;
}

PolicyStepEnv::PolicyStepEnv(Transformer policy, const Task& task, const Problem& problem, int samples,
                             int max_new_tokens, const SamplingConfig& sampling, uint64_t seed, FlopCounter* flops)
    : PolicySearchEnv(policy, task, problem, max_new_tokens, sampling, seed, flops), samples_(samples) {
  if (samples < 1) throw ConfigError("search: step-level search needs at least 1 sample per leaf");
}

std::vector<LeafEval> PolicyStepEnv::Evaluate(const std::vector<std::string>& texts) {
  const Tokenizer& tok = Tokenizer::Get();
  const int newline = tok.Encode("\n").at(0);
  std::vector<LeafEval> out;
  const auto open = Triage(texts, &out);
  if (open.empty()) return out;
  std::vector<std::vector<int>> rows;
  std::vector<int> room;
  for (const auto& [i, ids] : open) {
    std::vector<int> row = prompt_;
    row.insert(row.end(), ids.begin(), ids.end());
    for (int k = 0; k < samples_; ++k) rows.push_back(row);
    room.push_back(max_new_tokens_ - static_cast<int>(ids.size()));
  }
  GenerateOptions go;
  go.sampling = sampling_;
  go.sampling.set_max_new_tokens(*std::max_element(room.begin(), room.end()));
  go.seed = NextSeed();
  policy_->eval();
  const std::vector<Generation> gens = Generate(policy_, rows, go, flops_);
  for (size_t k = 0; k < open.size(); ++k) {
    const size_t leaf = open[k].first;
    std::map<std::string, double> children;  // first line -> its probability
    double right = 0;
    for (int j = 0; j < samples_; ++j) {
      const Generation& g = gens[k * static_cast<size_t>(samples_) + static_cast<size_t>(j)];
      const size_t n = std::min(g.tokens.size(), static_cast<size_t>(room[k]));
      size_t cut = n;  // the first line: through its '\n'
      for (size_t t = 0; t < n; ++t)
        if (g.tokens[t] == newline) {
          cut = t + 1;
          break;
        }
      double lp = 0;
      for (size_t t = 0; t < cut; ++t) lp += g.logprobs[t];
      const std::vector<int> first(g.tokens.begin(), g.tokens.begin() + static_cast<long>(cut));
      if (!first.empty()) children[tok.Decode(first)] = std::exp(lp);
      if (!value_) {
        const std::vector<int> all(g.tokens.begin(), g.tokens.begin() + static_cast<long>(n));
        right += task_.Verify(texts[leaf] + tok.Decode(all), problem_).correct;
      }
    }
    for (const auto& [text, p] : children) out[leaf].children.emplace_back(text, p);
    if (!value_) out[leaf].value = right / samples_;
  }
  return out;
}

}  // namespace r1lab

#include "search_env.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "error.h"
#include "generate.h"
#include "optim.h"
#include "token_batch.h"
#include "tokenizer.h"

namespace r1lab {

PolicySearchEnv::PolicySearchEnv(Transformer policy, const Task& task, std::vector<Problem> problems,
                                 const PolicyEnvSpec& spec, FlopCounter* flops)
    : policy_(policy), task_(task), problems_(std::move(problems)), spec_(spec), flops_(flops),
      policy_kv_(policy, spec.kv_reuse) {
  if (spec_.width < 1) throw ConfigError("search: the environment needs a width of at least 1");
  if (spec_.step_end.empty()) throw ConfigError("search.step_end: a step needs a non-empty end marker");
  if (spec_.mix < 0 || spec_.mix > 1) throw ConfigError("search: the rollout mix weight must be in [0, 1]");
  const bool needs_net = spec_.leaf_value != LeafValue::kRollout || !spec_.verify_terminals;
  if (needs_net && !spec_.value) throw ConfigError("search: these leaf values need a value network");
  if (spec_.value && !spec_.value->config().prm_head())
    throw ConfigError("search: the value network needs a model with prm_head: true");
  shared_trunk_ = spec_.value && spec_.value.ptr() == policy_.ptr();
  if (spec_.value && !shared_trunk_) value_kv_ = std::make_unique<PrefixKvStore>(spec_.value, spec_.kv_reuse);
  for (const Problem& p : problems_) {
    prompts_.push_back(policy_->tokenizer().EncodePrompt(p.prompt));
    const int room = policy_->config().max_seq_len() - static_cast<int>(prompts_.back().size());
    if (room < 1) throw InputError("search: the prompt '" + p.prompt.substr(0, 40) + "' fills the model's context");
    spec_.max_new_tokens = std::min(spec_.max_new_tokens, room);
  }
}

std::vector<PolicySearchEnv::Open> PolicySearchEnv::Triage(const std::vector<LeafQuery>& leaves,
                                                            std::vector<LeafEval>* out) {
  const Tokenizer& tok = policy_->tokenizer();
  out->assign(leaves.size(), LeafEval{});
  net_value_.assign(leaves.size(), 0.0);
  std::vector<std::vector<int>> ids;
  std::vector<bool> done;
  for (const LeafQuery& q : leaves) {
    ids.push_back(q.ids.empty() ? tok.Encode(q.text) : q.ids);
    done.push_back((!ids.back().empty() && tok.IsStop(ids.back().back())) ||
                   static_cast<int>(ids.back().size()) >= spec_.max_new_tokens);
  }
  // The value network at the last token of every leaf that needs it. On the
  // policy's trunk, the same forward covers the open leaves, whose logits
  // OpenLogits then hands out.
  std::vector<size_t> scored, rows;
  for (size_t i = 0; i < leaves.size(); ++i) {
    const bool value = done[i] ? !spec_.verify_terminals : spec_.leaf_value != LeafValue::kRollout;
    if (value) scored.push_back(i);
    if (value || (shared_trunk_ && !done[i])) rows.push_back(i);
  }
  triage_row_.assign(leaves.size(), -1);
  if (!rows.empty()) {
    std::vector<std::vector<int>> seqs;
    for (size_t i : rows) seqs.push_back(Sequence(leaves[i], ids[i]));
    ForwardOutput o = (shared_trunk_ ? policy_kv_ : *value_kv_).Last(seqs, flops_, FlopPhase::kScore);
    for (size_t k = 0; k < rows.size(); ++k) triage_row_[rows[k]] = static_cast<int64_t>(k);
    for (size_t i : scored)
      net_value_[i] = torch::sigmoid(o.prm_logits[triage_row_[i]]).item<double>();
    if (shared_trunk_) triage_out_ = std::move(o);
  }
  std::vector<Open> open;
  for (size_t i = 0; i < leaves.size(); ++i) {
    if (!done[i]) open.push_back({i, std::move(ids[i])});
    else if (spec_.verify_terminals) {
      (*out)[i].value = task_.Verify(leaves[i].text, ProblemOf(leaves[i])).correct;
      if (flops_) flops_->AddOracleCalls(1);
    } else {
      (*out)[i].value = net_value_[i];
    }
  }
  return open;
}

std::vector<int> PolicySearchEnv::Sequence(const LeafQuery& q, const std::vector<int>& ids) const {
  std::vector<int> s = Prompt(q);
  s.insert(s.end(), ids.begin(), ids.end());
  return s;
}

torch::Tensor PolicySearchEnv::OpenLogits(const std::vector<LeafQuery>& leaves, const std::vector<Open>& open) {
  if (shared_trunk_) {
    std::vector<int64_t> idx;
    for (const Open& o : open) idx.push_back(triage_row_.at(o.leaf));
    return triage_out_.logits.index_select(0, torch::tensor(idx, torch::kLong).to(triage_out_.logits.device()));
  }
  std::vector<std::vector<int>> seqs;
  for (const Open& o : open) seqs.push_back(Sequence(leaves[o.leaf], o.ids));
  return policy_kv_.Last(seqs, flops_, FlopPhase::kScore).logits;
}

double PolicySearchEnv::Combine(size_t leaf, double rollout) const {
  switch (spec_.leaf_value) {
    case LeafValue::kRollout: return rollout;
    case LeafValue::kValueNetwork: return net_value_[leaf];
    case LeafValue::kMix: return (1 - spec_.mix) * net_value_[leaf] + spec_.mix * rollout;
  }
  return rollout;
}

PolicyTokenEnv::PolicyTokenEnv(Transformer policy, const Task& task, std::vector<Problem> problems,
                               const PolicyEnvSpec& spec, FlopCounter* flops)
    : PolicySearchEnv(policy, task, std::move(problems), spec, flops) {}

std::vector<LeafEval> PolicyTokenEnv::Evaluate(const std::vector<LeafQuery>& leaves) {
  const Tokenizer& tok = policy_->tokenizer();
  std::vector<LeafEval> out;
  const auto open = Triage(leaves, &out);
  if (open.empty()) return out;
  // Priors: the next-token distribution at each open leaf's last position.
  const torch::Tensor logits = OpenLogits(leaves, open).to(torch::kFloat);
  const int vocab = static_cast<int>(logits.size(1));
  for (size_t k = 0; k < open.size(); ++k) {
    const torch::Tensor p = torch::softmax(logits[static_cast<int64_t>(k)], -1);
    const auto top = torch::topk(p, std::min(spec_.width, vocab));
    const torch::Tensor probs = std::get<0>(top), ids = std::get<1>(top);
    for (int64_t j = 0; j < probs.size(0); ++j) {
      const int id = static_cast<int>(ids[j].item<int64_t>());
      if (id == tok.pad() || id == tok.bos()) continue;
      out[open[k].leaf].children.emplace_back(tok.Decode({id}), probs[j].item<double>());
      out[open[k].leaf].child_ids.push_back({id});
    }
  }
  std::vector<double> rollout(open.size(), 0.0);
  if (NeedsRollouts()) {
    // One rollout per open leaf, all in one batched generation.
    std::vector<std::vector<int>> seqs;
    for (const Open& o : open) seqs.push_back(Sequence(leaves[o.leaf], o.ids));
    GenerateOptions go;
    go.sampling = spec_.sampling;
    go.sampling.set_max_new_tokens(spec_.max_new_tokens);
    go.seed = NextSeed();
    const auto gens = Generate(policy_, seqs, go, flops_);
    for (size_t k = 0; k < open.size(); ++k) {
      const LeafQuery& q = leaves[open[k].leaf];
      rollout[k] = task_.Verify(q.text + tok.Decode(gens[k].tokens), ProblemOf(q)).correct ? 1.0 : 0.0;
    }
    if (flops_) flops_->AddOracleCalls(static_cast<int64_t>(open.size()));
  }
  for (size_t k = 0; k < open.size(); ++k) out[open[k].leaf].value = Combine(open[k].leaf, rollout[k]);
  return out;
}

PolicyStepEnv::PolicyStepEnv(Transformer policy, const Task& task, std::vector<Problem> problems,
                             const PolicyEnvSpec& spec, FlopCounter* flops)
    : PolicySearchEnv(policy, task, std::move(problems), spec, flops) {}

std::vector<LeafEval> PolicyStepEnv::Evaluate(const std::vector<LeafQuery>& leaves) {
  const Tokenizer& tok = policy_->tokenizer();
  const int width = spec_.width;
  std::vector<LeafEval> out;
  const auto open = Triage(leaves, &out);
  if (open.empty()) return out;
  std::vector<std::vector<int>> rows;
  std::vector<int> room;
  for (const Open& o : open) {
    const std::vector<int> row = Sequence(leaves[o.leaf], o.ids);
    for (int k = 0; k < width; ++k) rows.push_back(row);
    room.push_back(spec_.max_new_tokens - static_cast<int>(o.ids.size()));
  }
  GenerateOptions go;
  go.sampling = spec_.sampling;
  go.sampling.set_max_new_tokens(*std::max_element(room.begin(), room.end()));
  go.seed = NextSeed();
  policy_->eval();
  const std::vector<Generation> gens = Generate(policy_, rows, go, flops_);
  for (size_t k = 0; k < open.size(); ++k) {
    const size_t leaf = open[k].leaf;
    const LeafQuery& q = leaves[leaf];
    // first line -> its probability and token ids (the first sample's, where
    // two tokenisations decode to the same line)
    std::map<std::string, std::pair<double, std::vector<int>>> children;
    double right = 0;
    for (int j = 0; j < width; ++j) {
      const Generation& g = gens[k * static_cast<size_t>(width) + static_cast<size_t>(j)];
      const size_t n = std::min(g.tokens.size(), static_cast<size_t>(room[k]));
      size_t cut = n;  // the first step: through the first end of step
      std::string text;
      for (size_t t = 0; t < n; ++t) {
        text += tok.Piece(g.tokens[t]);
        if (text.size() >= spec_.step_end.size() &&
            text.compare(text.size() - spec_.step_end.size(), spec_.step_end.size(), spec_.step_end) == 0) {
          cut = t + 1;
          break;
        }
      }
      double lp = 0;
      for (size_t t = 0; t < cut; ++t) lp += g.logprobs[t];
      const std::vector<int> first(g.tokens.begin(), g.tokens.begin() + static_cast<long>(cut));
      if (!first.empty()) {
        auto [it, fresh] = children.try_emplace(tok.Decode(first), std::exp(lp), first);
        if (!fresh) it->second.first = std::exp(lp);
      }
      if (NeedsRollouts()) {
        const std::vector<int> all(g.tokens.begin(), g.tokens.begin() + static_cast<long>(n));
        right += task_.Verify(q.text + tok.Decode(all), ProblemOf(q)).correct;
        if (flops_) flops_->AddOracleCalls(1);
      }
    }
    for (const auto& [text, p_ids] : children) {
      out[leaf].children.emplace_back(text, p_ids.first);
      out[leaf].child_ids.push_back(p_ids.second);
    }
    out[leaf].value = Combine(leaf, right / width);
  }
  return out;
}

}  // namespace r1lab

#include "rollout.h"

#include <tbb/parallel_for.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "error.h"
#include "progress.h"
#include "tokenizer.h"

namespace r1lab {

std::vector<double> Rollouts::totals() const {
  std::vector<double> t(rewards.size());
  for (size_t i = 0; i < rewards.size(); ++i) t[i] = rewards[i].total;
  return t;
}

void Rollouts::AppendGroup(Rollouts& src, int g) {
  tokenizer = src.tokenizer;
  problems.push_back(src.problems[g]);
  for (int k = g * src.group_size; k < (g + 1) * src.group_size; ++k) {
    prompts.push_back(src.prompts[k]);
    gens.push_back(std::move(src.gens[k]));
    rewards.push_back(std::move(src.rewards[k]));
    if (!src.proxy.empty()) proxy.push_back(src.proxy[k]);
    if (!src.token_advantages.empty()) token_advantages.push_back(std::move(src.token_advantages[k]));
  }
}

Rollouts SampleRollouts(Transformer& policy, const Task& task, Rng& rng, int n_problems, int G,
                        const SamplingConfig& sampling, uint64_t seed, const RewardChain& reward,
                        FlopCounter* flops) {
  std::vector<Problem> problems;
  for (int i = 0; i < n_problems; ++i) problems.push_back(task.SampleTrain(rng));
  return SampleRollouts(policy, task, std::move(problems), G, sampling, seed, reward, flops);
}

Rollouts SampleRollouts(Transformer& policy, const Task& task, std::vector<Problem> problems, int G,
                        const SamplingConfig& sampling, uint64_t seed, const RewardChain& reward,
                        FlopCounter* flops) {
  const Tokenizer& tok = policy->tokenizer();
  Rollouts r;
  r.tokenizer = &tok;
  r.group_size = G;
  r.problems = std::move(problems);
  for (const Problem& pr : r.problems) {
    const std::vector<int> p = tok.EncodePrompt(pr.prompt);
    for (int g = 0; g < G; ++g) r.prompts.push_back(p);
  }
  GenerateOptions go;
  go.sampling = sampling;
  go.seed = seed;
  auto t0 = Clock::now();
  policy->eval();
  r.gens = Generate(policy, r.prompts, go, flops);
  r.t_generate = SecondsSince(t0);
  t0 = Clock::now();
  r.rewards.resize(r.gens.size());
  tbb::parallel_for(size_t{0}, r.gens.size(), [&](size_t k) {
    const Problem& p = r.problems[k / G];
    const Scored s{tok.Decode(r.gens[k].tokens), static_cast<int>(r.gens[k].tokens.size()), r.gens[k].truncated,
                   p.language};
    r.rewards[k] = reward.Score(s, task.Verify(s.completion, p));
  });
  r.t_score = SecondsSince(t0);
  return r;
}

TokenBatch RolloutBatch(const Rollouts& r, const std::vector<int>& rows, bool mask_truncated) {
  std::vector<std::vector<int>> ps, cs;
  for (int i : rows) {
    ps.push_back(r.prompts[i]);
    cs.push_back(r.gens[i].tokens);
  }
  TokenBatch b = BatchFromIds(ps, cs);
  if (mask_truncated)
    for (size_t k = 0; k < rows.size(); ++k)
      if (r.gens[rows[k]].truncated) b.loss_mask[k].zero_();
  return b;
}

void RolloutMetrics(const Rollouts& r, const RewardChain& reward, MetricsLine* m) {
  const int N = r.size();
  double mean = 0, sq = 0, len = 0, trunc = 0;
  int len_min = 1 << 30, len_max = 0;
  std::vector<double> terms(reward.term_names().size(), 0.0);
  for (int i = 0; i < N; ++i) {
    const double x = r.rewards[i].total;
    mean += x;
    sq += x * x;
    const int L = static_cast<int>(r.gens[i].tokens.size());
    len += L;
    len_min = std::min(len_min, L);
    len_max = std::max(len_max, L);
    trunc += r.gens[i].truncated;
    for (size_t t = 0; t < terms.size(); ++t) terms[t] += r.rewards[i].terms[t];
  }
  mean /= N;
  m->set_reward_mean(mean);
  m->set_reward_std(std::sqrt(std::max(0.0, sq / N - mean * mean)));
  // Each rule term has its field, reward_<term> (a term without one is a
  // MetricsLine to extend).
  const auto* desc = m->GetDescriptor();
  for (size_t t = 0; t < terms.size(); ++t) {
    const auto* field = desc->FindFieldByName("reward_" + reward.term_names()[t]);
    if (!field) throw InternalError("MetricsLine has no field reward_" + reward.term_names()[t]);
    m->GetReflection()->SetDouble(m, field, terms[t] / N);
  }
  m->set_len_mean(len / N);
  m->set_len_min(len_min);
  m->set_len_max(len_max);
  m->set_truncation_rate(trunc / N);
}

std::string RolloutNote(const Rollouts& r) {
  double reward = 0, acc = 0, len = 0;
  const double n = std::max(1, r.size());
  for (int i = 0; i < r.size(); ++i) {
    reward += r.rewards[i].total / n;
    acc += r.rewards[i].verdict.correct / n;
    len += static_cast<double>(r.gens[i].tokens.size()) / n;
  }
  char buf[96];
  std::snprintf(buf, sizeof buf, "reward %.3f acc %.3f len %.1f", reward, acc, len);
  return buf;
}

}  // namespace r1lab

#include "grpo_trainer.h"

#include <algorithm>
#include <cmath>

#include "config.h"
#include "data_parallel.h"
#include "optim.h"
#include "progress.h"

namespace r1lab {

void CheckGrpoConfig(const GrpoConfig& g, const std::string& p, const std::string& src) {
  const int max_new = g.sampling().max_new_tokens();
  if (g.reward().overlong_buffer() >= max_new)
    ConfigFail(src, p + ".reward.overlong_buffer", std::to_string(g.reward().overlong_buffer()) +
                                                       " must be below sampling.max_new_tokens=" + std::to_string(max_new));
  const int rows = g.prompts_per_step() * g.group_size();
  if (g.minibatches() > rows)
    ConfigFail(src, p + ".minibatches", std::to_string(g.minibatches()) + " exceeds the " + std::to_string(rows) +
                                            " samples of a step (prompts_per_step x group_size)");
  if (g.dual_clip() > 0 && g.dual_clip() <= 1) ConfigFail(src, p + ".dual_clip", "must be 0 (off) or greater than 1");
}

GrpoTrainer::GrpoTrainer(Transformer& policy, const Task& task, const GrpoConfig& cfg, uint64_t seed,
                         FlopCounter* flops)
    : policy_(policy), task_(task), cfg_(cfg), seed_(seed), rng_(seed), flops_(flops),
      reward_(cfg.reward(), cfg.sampling().max_new_tokens(), LineFormJudgeOf(task)),
      optimizer_(std::make_unique<torch::optim::AdamW>(MakeAdamW(policy, cfg.optim()))) {
  if (cfg.kl_coef() > 0) {
    ref_ = MakeModel(policy->config(), policy->vocab_size());
    CopyWeights(policy_, *ref_);
    (*ref_)->eval();
  }
}

void GrpoTrainer::set_data_parallel(Dist* d, const std::string& field) {
  if (d) ShardSize(cfg_.prompts_per_step(), d->world_size(), field, "the data-parallel run");
  dp_ = d;
}

MetricsLine GrpoTrainer::Step(int64_t step, std::string* note) {
  const auto t_start = Clock::now();
  if (ref_ && cfg_.ref_update_every() > 0 && step > 0 && step % cfg_.ref_update_every() == 0)
    CopyWeights(policy_, *ref_);
  const FlopMark before = MarkFlops(*flops_, tokens_generated_);
  const Sampled s = SampleGroups(step);
  Updated u;
  const double lr = Train(s.ro, step, &u);
  for (const Generation& g : s.ro.gens) tokens_generated_ += static_cast<int64_t>(g.tokens.size());
  if (dp_) SumFlopsSince(before, *dp_, flops_, &tokens_generated_);
  *note = RolloutNote(s.ro);
  MetricsLine m = StepMetrics(s, u, lr, SecondsSince(t_start));
  if (dp_) AverageOverRanks(&m, *dp_);
  return m;
}

void GrpoTrainer::TrainOn(const Rollouts& ro, int64_t step) {
  Updated u;
  Train(ro, step, &u);
}

double GrpoTrainer::Train(const Rollouts& ro, int64_t step, Updated* u) {
  const auto t0 = Clock::now();
  std::vector<PolicyBatch> mbs = BuildMinibatches(ro, u);
  const double lr = ScheduledLr(cfg_.optim(), step, cfg_.steps());
  Update(mbs, lr, u);
  u->t_train = SecondsSince(t0);
  return lr;
}

StrategyLoop GrpoTrainer::Loop() {
  StrategyLoop loop;
  loop.steps = cfg_.steps();
  loop.log_every = cfg_.log_every();
  loop.optimizer = &*optimizer_;
  loop.rng = &rng_;
  if (ref_) loop.parts.push_back({"ref", &*ref_, nullptr});
  loop.tokens = &tokens_generated_;
  loop.step = [this](int64_t step, MetricsLine* m, std::string* note) { *m = Step(step, note); };
  return loop;
}

// P groups of G; with drop_zero_variance_groups (DAPO), groups whose rewards
// are all equal are re-sampled for up to max_resample_rounds rounds.
GrpoTrainer::Sampled GrpoTrainer::SampleGroups(int64_t step) {
  const int P = dp_ ? cfg_.prompts_per_step() / dp_->world_size() : cfg_.prompts_per_step(), G = cfg_.group_size();
  Sampled s;
  s.ro.group_size = G;
  const int max_rounds = cfg_.drop_zero_variance_groups() ? cfg_.max_resample_rounds() : 0;
  while (static_cast<int>(s.ro.problems.size()) < P) {
    const int need = P - static_cast<int>(s.ro.problems.size());
    // Data-parallel: each rank's prompts and samples from its own stream,
    // a function of (seed, step, round, rank), so the shared `rng_` (the
    // minibatch shuffle) stays the same on every rank.
    const uint64_t seed = RankSeed(SplitMix64(seed_ ^ SplitMix64(static_cast<uint64_t>(step) * 1024 + s.rounds)), dp_);
    Rng rank_rng(seed ^ 0x9e3779b97f4a7c15ULL);
    Rollouts fresh = SampleRollouts(policy_, task_, dp_ ? rank_rng : rng_, need, G, cfg_.sampling(), seed, reward_, flops_);
    if (reward_source_) {
      const auto t0 = Clock::now();
      reward_source_->Score(fresh);
      fresh.t_score += SecondsSince(t0);
    }
    if (flops_ && (!reward_source_ || reward_source_->UsesRuleReward()))
      flops_->AddOracleCalls(static_cast<int64_t>(fresh.gens.size()));
    s.t_gen += fresh.t_generate;
    s.t_score += fresh.t_score;
    const bool last_round = s.rounds >= max_rounds;
    for (int i = 0; i < need; ++i) {
      double lo = fresh.rewards[i * G].total, hi = lo;
      for (int k = 1; k < G; ++k) {
        lo = std::min(lo, fresh.rewards[i * G + k].total);
        hi = std::max(hi, fresh.rewards[i * G + k].total);
      }
      ++s.sampled_groups;
      s.zero_std_groups += lo == hi;
      if (lo == hi && !last_round) {
        ++s.dropped;
        continue;
      }
      s.ro.AppendGroup(fresh, i);
    }
    ++s.rounds;
  }
  return s;
}

// Advantages per token: the group advantage on every completion token, or
// the reward source's per-token advantages (completion token j of a row with
// prompt length P is predicted at column P - 1 + j).
std::vector<PolicyBatch> GrpoTrainer::BuildMinibatches(const Rollouts& ro, Updated* u) {
  const ModelConfig& mc = policy_->config();
  const int V = policy_->vocab_size();
  const int N = ro.size();
  // Data-parallel: this rank holds rows [offset, offset + N) of the whole
  // batch. The rewards of every rank (gathered by a sum into each rank's
  // slots) give the whole batch's advantages, and the shuffle over the whole
  // batch (the same `rng_` everywhere) each rank's part of every minibatch.
  const int world = dp_ ? dp_->world_size() : 1, N_all = N * world, offset = dp_ ? dp_->rank() * N : 0;
  std::vector<double> totals = ro.totals();
  if (dp_) {
    std::vector<double> all(static_cast<size_t>(N_all), 0.0);
    std::copy(totals.begin(), totals.end(), all.begin() + offset);
    totals = SumOverRanks(std::move(all), *dp_);
  }
  std::vector<double> adv = GroupAdvantages(totals, ro.group_size, cfg_.advantage(), cfg_.std_epsilon());
  adv = std::vector<double>(adv.begin() + offset, adv.begin() + offset + N);
  const int M = std::min(cfg_.minibatches(), N_all);
  std::vector<std::vector<int>> parts = ShuffledMinibatches(N_all, M, rng_);
  std::vector<double> rows_all;
  for (std::vector<int>& rows : parts) {
    rows_all.push_back(static_cast<double>(rows.size()));
    std::vector<int> mine;
    for (int i : rows)
      if (i >= offset && i < offset + N) mine.push_back(i - offset);
    rows = std::move(mine);
  }
  const bool need_old = cfg_.epochs() > 1 || M > 1 || (ref_ && cfg_.kl_in_reward());
  const double temperature = cfg_.sampling().temperature() > 0 ? cfg_.sampling().temperature() : 1.0;
  std::vector<PolicyBatch> mbs;
  for (const std::vector<int>& rows : parts) {
    PolicyBatch mb;
    if (rows.empty()) {  // a data-parallel rank with no rows in this minibatch
      mbs.push_back(std::move(mb));
      continue;
    }
    mb.batch = RolloutBatch(ro, rows, cfg_.mask_truncated());
    mb.mask = mb.batch.loss_mask;
    if (ro.token_advantages.empty()) {
      std::vector<double> a;
      for (int i : rows) a.push_back(adv[i]);
      mb.advantages = torch::tensor(a, torch::kFloat).view({-1, 1}) * mb.mask;
    } else {
      mb.advantages = torch::zeros_like(mb.mask);
      auto acc = mb.advantages.accessor<float, 2>();
      for (size_t k = 0; k < rows.size(); ++k) {
        const auto& ta = ro.token_advantages[static_cast<size_t>(rows[k])];
        const int64_t P = static_cast<int64_t>(ro.prompts[static_cast<size_t>(rows[k])].size());
        for (size_t j = 0; j < ta.size(); ++j) acc[static_cast<int64_t>(k)][P - 1 + static_cast<int64_t>(j)] = ta[j];
      }
      mb.advantages *= mb.mask;
    }
    double fwd = 0;
    for (int64_t L : mb.batch.lengths) fwd += ForwardFlopsSequence(mc, V, L);
    torch::NoGradGuard ng;
    if (need_old) {
      mb.old_lp = SequenceLogprobs(policy_, mb.batch.tokens, temperature);
      flops_->Add(FlopPhase::kTrain, fwd);
    }
    if (ref_) {
      mb.ref_lp = SequenceLogprobs(*ref_, mb.batch.tokens, temperature);
      flops_->Add(FlopPhase::kScore, fwd);
      if (cfg_.kl_in_reward()) {
        // PPO style: -beta * KL per token in the return, so each token's
        // advantage loses the KL of itself and every later token; no KL in the loss.
        const torch::Tensor mask = mb.mask.to(mb.ref_lp.device());  // the models' device
        const torch::Tensor kl = KlPerToken(mb.old_lp, mb.ref_lp, cfg_.kl_estimator()) * mask;
        u->kl_reward_sum += kl.sum().item<double>();
        mb.advantages = mb.advantages.to(mask.device()) - cfg_.kl_coef() * ReverseCumsum(kl) * mask;
        mb.ref_lp = torch::Tensor();
      }
    }
    mbs.push_back(std::move(mb));
  }
  if (dp_) {
    // The whole minibatches' row and token counts: the loss's denominators.
    std::vector<double> tokens;
    for (const PolicyBatch& mb : mbs) tokens.push_back(mb.mask.defined() ? mb.mask.sum().item<double>() : 0.0);
    tokens = SumOverRanks(std::move(tokens), *dp_);
    for (size_t k = 0; k < mbs.size(); ++k) mbs[k].denominators = {rows_all[k], std::max(1.0, tokens[k])};
  }
  return mbs;
}

void GrpoTrainer::Update(std::vector<PolicyBatch>& mbs, double lr, Updated* u) {
  const ModelConfig& mc = policy_->config();
  const int V = policy_->vocab_size();
  policy_->train();
  PolicyLossOptions lo;
  lo.clip_low = cfg_.clip_low();
  lo.clip_high = cfg_.clip_high();
  lo.dual_clip = cfg_.dual_clip();
  lo.kl_coef = cfg_.kl_in_reward() ? 0 : cfg_.kl_coef();
  lo.entropy_coef = cfg_.entropy_coef();
  lo.aggregation = cfg_.loss_aggregation();
  lo.max_length = cfg_.loss_max_length() > 0 ? cfg_.loss_max_length() : cfg_.sampling().max_new_tokens();
  const double temperature = cfg_.sampling().temperature() > 0 ? cfg_.sampling().temperature() : 1.0;
  SetLr(*optimizer_, lr);
  for (int e = 0; e < cfg_.epochs(); ++e) {
    for (PolicyBatch& mb : mbs) {
      lo.denominators = mb.denominators;
      const PolicyUpdateResult r = PolicyUpdate(policy_, *optimizer_, mb, lo, temperature, cfg_.optim().grad_clip(),
                                                cfg_.kl_estimator(), dp_);
      if (u->updates == 0) first_ratio_dev_ = r.stats.ratio_max_abs_dev;
      ++u->updates;
      u->grad_norm_sum += r.grad_norm;
      u->loss_sum += r.loss;
      u->sum.pg_loss += r.stats.pg_loss;
      u->sum.kl += r.stats.kl;
      u->sum.entropy += r.stats.entropy;
      u->sum.clip_low_frac += r.stats.clip_low_frac;
      u->sum.clip_high_frac += r.stats.clip_high_frac;
      u->sum.clip_region_frac += r.stats.clip_region_frac;
      for (int64_t L : mb.batch.lengths) {
        flops_->Add(FlopPhase::kTrain, 3 * ForwardFlopsSequence(mc, V, L));
        u->tokens_trained += L;
      }
    }
  }
}

MetricsLine GrpoTrainer::StepMetrics(const Sampled& s, const Updated& u, double lr, double t_step) {
  const int n = u.updates;
  const double kl = cfg_.kl_in_reward() ? u.kl_reward_sum / std::max(1.0, static_cast<double>(u.tokens_trained))
                                        : u.sum.kl / n;
  MetricsLine m;
  RolloutMetrics(s.ro, reward_, &m);
  m.set_frac_reward_zero_std(static_cast<double>(s.zero_std_groups) / s.sampled_groups);
  m.set_groups_dropped(s.dropped);
  m.set_sampling_rounds(s.rounds);
  m.set_loss(u.loss_sum / n);
  m.set_pg_loss(u.sum.pg_loss / n);
  m.set_kl(kl);
  m.set_entropy(u.sum.entropy / n);
  m.set_clip_low_frac(u.sum.clip_low_frac / n);
  m.set_clip_high_frac(u.sum.clip_high_frac / n);
  m.set_clip_region_frac(u.sum.clip_region_frac / n);
  m.set_grad_norm(u.grad_norm_sum / n);
  m.set_first_ratio_dev(first_ratio_dev_);
  m.set_memory_policy_mb(TrainingStateBytes(policy_) / (1 << 20));
  m.set_memory_ref_mb(ref_ ? TrainingStateBytes(*ref_) / 3 / (1 << 20) : 0.0);
  m.set_lr(lr);
  m.set_tokens_generated(static_cast<double>(tokens_generated_));
  m.set_tokens_trained_step(static_cast<double>(u.tokens_trained));
  m.set_time_generate_s(s.t_gen);
  m.set_time_score_s(s.t_score);
  m.set_time_train_s(u.t_train);
  m.set_time_step_s(t_step);
  if (reward_source_) reward_source_->Metrics(s.ro, &m);
  return m;
}

}  // namespace r1lab

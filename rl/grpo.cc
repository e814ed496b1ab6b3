#include "grpo.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>

#include "json.h"
#include "policy_loss.h"
#include "progress.h"
#include "rollout.h"
#include "sft.h"
#include "strategy.h"

namespace r1lab {

namespace {

// One mini-batch, with everything computed before the first update.
struct MiniBatch {
  TokenBatch batch;
  torch::Tensor mask;        // [n, T-1] trained tokens
  torch::Tensor advantages;  // [n, T-1]
  torch::Tensor old_lp;      // [n, T-1] or undefined (then: current, detached)
  torch::Tensor ref_lp;      // [n, T-1] or undefined (no reference)
};

}  // namespace

GrpoTrainer::GrpoTrainer(Transformer& policy, const Task& task, const GrpoConfig& cfg, uint64_t seed,
                         FlopCounter* flops)
    : policy_(policy), task_(task), cfg_(cfg), seed_(seed), rng_(seed), flops_(flops),
      reward_(cfg.reward(), cfg.sampling().max_new_tokens()),
      optimizer_(std::make_unique<torch::optim::AdamW>(MakeAdamW(policy, cfg.optim()))) {
  if (cfg.kl_coef() > 0) {
    ref_ = MakeModel(policy->config(), policy->vocab_size());
    CopyWeights(policy_, *ref_);
    (*ref_)->eval();
  }
}

std::string GrpoTrainer::Step(int64_t step, std::string* note) {
  const auto t_start = Clock::now();
  const ModelConfig& mc = policy_->config();
  const int V = policy_->vocab_size();
  const int P = cfg_.prompts_per_step(), G = cfg_.group_size();
  if (ref_ && cfg_.ref_update_every() > 0 && step > 0 && step % cfg_.ref_update_every() == 0)
    CopyWeights(policy_, *ref_);

  // ---- rollouts: P groups of G, optionally re-sampling zero-variance groups (DAPO)
  Rollouts ro;
  ro.group_size = G;
  double t_gen = 0, t_score = 0;
  int sampled_groups = 0, zero_std_groups = 0, dropped = 0, rounds = 0;
  const int max_rounds = cfg_.drop_zero_variance_groups() ? cfg_.max_resample_rounds() : 0;
  while (static_cast<int>(ro.problems.size()) < P) {
    const int need = P - static_cast<int>(ro.problems.size());
    const uint64_t seed = SplitMix64(seed_ ^ SplitMix64(static_cast<uint64_t>(step) * 1024 + rounds));
    Rollouts fresh = SampleRollouts(policy_, task_, rng_, need, G, cfg_.sampling(), seed, reward_, flops_);
    if (rescorer_) {
      const auto t0 = Clock::now();
      rescorer_->Rescore(fresh);
      fresh.t_score += SecondsSince(t0);
    }
    t_gen += fresh.t_generate;
    t_score += fresh.t_score;
    const bool last_round = rounds >= max_rounds;
    for (int i = 0; i < need; ++i) {
      double lo = fresh.rewards[i * G].total, hi = lo;
      for (int k = 1; k < G; ++k) {
        lo = std::min(lo, fresh.rewards[i * G + k].total);
        hi = std::max(hi, fresh.rewards[i * G + k].total);
      }
      ++sampled_groups;
      zero_std_groups += lo == hi;
      if (lo == hi && !last_round) {
        ++dropped;
        continue;
      }
      ro.AppendGroup(fresh, i);
    }
    ++rounds;
  }

  // ---- advantages and mini-batches
  const int N = P * G;
  const std::vector<double> totals = ro.totals();
  const std::vector<double> adv = GroupAdvantages(totals, G, cfg_.advantage(), cfg_.std_epsilon());
  std::vector<int> order(N);
  std::iota(order.begin(), order.end(), 0);
  for (int i = N - 1; i > 0; --i) std::swap(order[i], order[rng_.Int(0, i)]);
  const int M = std::min(cfg_.minibatches(), N);
  const bool need_old = cfg_.epochs() > 1 || M > 1 || (ref_ && cfg_.kl_in_reward());
  const double temperature = cfg_.sampling().temperature() > 0 ? cfg_.sampling().temperature() : 1.0;
  const double beta = cfg_.kl_coef();
  std::vector<MiniBatch> mbs;
  const auto t_train0 = Clock::now();
  double kl_reward_sum = 0;
  for (int m = 0; m < M; ++m) {
    const std::vector<int> rows(order.begin() + m * N / M, order.begin() + (m + 1) * N / M);
    std::vector<double> a;
    for (int i : rows) a.push_back(adv[i]);
    MiniBatch mb;
    mb.batch = RolloutBatch(ro, rows, cfg_.mask_truncated());
    mb.mask = mb.batch.loss_mask;
    if (ro.token_advantages.empty()) {
      mb.advantages = torch::tensor(a, torch::kFloat).view({-1, 1}) * mb.mask;
    } else {
      // Completion token j of a row with prompt length P is predicted at column P - 1 + j.
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
      mb.old_lp = NextTokenStats(policy_->forward(mb.batch.tokens).logits, mb.batch.tokens, temperature).logprobs;
      flops_->Add(FlopPhase::kTrain, fwd);
    }
    if (ref_) {
      mb.ref_lp = NextTokenStats((*ref_)->forward(mb.batch.tokens).logits, mb.batch.tokens, temperature).logprobs;
      flops_->Add(FlopPhase::kScore, fwd);
      if (cfg_.kl_in_reward()) {
        // PPO style: -beta * KL per token in the return, so each token's
        // advantage loses the KL of itself and every later token.
        const torch::Tensor kl = KlPerToken(mb.old_lp, mb.ref_lp, cfg_.kl_estimator()) * mb.mask;
        kl_reward_sum += kl.sum().item<double>();
        mb.advantages = mb.advantages - beta * ReverseCumsum(kl) * mb.mask;
      }
    }
    mbs.push_back(std::move(mb));
  }

  // ---- updates
  policy_->train();
  PolicyLossOptions lo;
  lo.clip_low = cfg_.clip_low();
  lo.clip_high = cfg_.clip_high();
  lo.dual_clip = cfg_.dual_clip();
  lo.kl_coef = cfg_.kl_in_reward() ? 0 : beta;
  lo.entropy_coef = cfg_.entropy_coef();
  lo.aggregation = cfg_.loss_aggregation();
  lo.max_length = cfg_.loss_max_length() > 0 ? cfg_.loss_max_length() : cfg_.sampling().max_new_tokens();
  const double lr = ScheduledLr(cfg_.optim(), step, cfg_.steps());
  for (auto& g : optimizer_->param_groups()) static_cast<torch::optim::AdamWOptions&>(g.options()).lr(lr);
  PolicyLossStats sum_stats;
  double grad_norm_sum = 0, loss_sum = 0;
  int updates = 0;
  int64_t tokens_trained = 0;
  for (int e = 0; e < cfg_.epochs(); ++e) {
    for (MiniBatch& mb : mbs) {
      optimizer_->zero_grad();
      const TokenStats ts = NextTokenStats(policy_->forward(mb.batch.tokens).logits, mb.batch.tokens, temperature);
      PolicyLossInputs in;
      in.logprobs = ts.logprobs;
      in.old_logprobs = mb.old_lp.defined() ? mb.old_lp : ts.logprobs.detach();
      in.advantages = mb.advantages;
      in.mask = mb.mask;
      in.entropy = ts.entropy;
      if (mb.ref_lp.defined()) in.kl = KlPerToken(ts.logprobs, mb.ref_lp, cfg_.kl_estimator());
      PolicyLossStats st;
      torch::Tensor loss = PolicyLoss(in, lo, &st);
      loss.backward();
      // The pre-clip norm; an infinite max norm leaves the gradient as it is.
      const double clip = cfg_.optim().grad_clip() > 0 ? cfg_.optim().grad_clip() : INFINITY;
      const double gn = torch::nn::utils::clip_grad_norm_(policy_->parameters(), clip);
      optimizer_->step();
      if (updates == 0) first_ratio_dev_ = st.ratio_max_abs_dev;
      ++updates;
      grad_norm_sum += gn;
      loss_sum += loss.item<double>();
      sum_stats.pg_loss += st.pg_loss;
      sum_stats.kl += st.kl;
      sum_stats.entropy += st.entropy;
      sum_stats.clip_low_frac += st.clip_low_frac;
      sum_stats.clip_high_frac += st.clip_high_frac;
      sum_stats.clip_region_frac += st.clip_region_frac;
      for (int64_t L : mb.batch.lengths) {
        flops_->Add(FlopPhase::kTrain, 3 * ForwardFlopsSequence(mc, V, L));
        tokens_trained += L;
      }
    }
  }
  const double t_train = SecondsSince(t_train0);

  // ---- metrics
  for (const Generation& g : ro.gens) tokens_generated_ += static_cast<int64_t>(g.tokens.size());
  Json j;
  j.Add("frac_reward_zero_std", static_cast<double>(zero_std_groups) / sampled_groups)
      .Add("groups_dropped", dropped)
      .Add("sampling_rounds", rounds)
      .Add("loss", loss_sum / updates)
      .Add("pg_loss", sum_stats.pg_loss / updates)
      .Add("kl", cfg_.kl_in_reward() ? kl_reward_sum / std::max(1.0, static_cast<double>(tokens_trained)) : sum_stats.kl / updates)
      .Add("entropy", sum_stats.entropy / updates)
      .Add("clip_low_frac", sum_stats.clip_low_frac / updates)
      .Add("clip_high_frac", sum_stats.clip_high_frac / updates)
      .Add("clip_region_frac", sum_stats.clip_region_frac / updates)
      .Add("grad_norm", grad_norm_sum / updates)
      .Add("first_ratio_dev", first_ratio_dev_)
      .Add("memory_policy_mb", TrainingStateBytes(policy_) / (1 << 20))
      .Add("memory_ref_mb", ref_ ? TrainingStateBytes(*ref_) / 3 / (1 << 20) : 0.0)
      .Add("lr", lr)
      .Add("tokens_generated", tokens_generated_)
      .Add("tokens_trained_step", tokens_trained)
      .Add("time_generate_s", t_gen)
      .Add("time_score_s", t_score)
      .Add("time_train_s", t_train)
      .Add("time_step_s", SecondsSince(t_start));
  *note = RolloutNote(ro);
  std::string out = RolloutMetrics(ro, reward_) + "," + j.members();
  if (rescorer_) out += "," + rescorer_->Metrics(ro);
  return out;
}

void RunGrpo(const GrpoConfig& cfg, StrategyContext& ctx) {
  GrpoTrainer trainer(*ctx.policy, *ctx.task, cfg, ctx.seed, ctx.flops);
  StrategyLoop loop;
  loop.steps = cfg.steps();
  loop.log_every = cfg.log_every();
  loop.optimizer = &trainer.optimizer();
  loop.rng = &trainer.rng();
  if (trainer.reference()) loop.aux.push_back({".ref", trainer.reference(), nullptr});
  loop.tokens = trainer.mutable_tokens_generated();
  loop.step = [&](int64_t step, std::string* note) { return trainer.Step(step, note); };
  RunStrategyLoop(ctx, loop);
}

}  // namespace r1lab

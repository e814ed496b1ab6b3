#include "ppo.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>

#include "error.h"
#include "json.h"
#include "progress.h"
#include "policy_loss.h"
#include "rollout.h"
#include "sft.h"
#include "strategy.h"

namespace r1lab {

namespace {


struct MiniBatch {
  TokenBatch batch;
  torch::Tensor mask;        // [n, T-1]
  torch::Tensor old_lp;      // [n, T-1]
  torch::Tensor old_values;  // [n, T-1]
  torch::Tensor advantages;  // [n, T-1]
  torch::Tensor returns;     // [n, T-1]
};

}  // namespace

std::vector<double> Gae(const std::vector<double>& r, const std::vector<double>& v, double gamma, double lambda,
                        std::vector<double>* returns) {
  R1_CHECK(r.size() == v.size(), "Gae: rewards and values differ in length");
  const size_t n = r.size();
  std::vector<double> a(n);
  returns->assign(n, 0.0);
  double gae = 0;
  for (size_t k = n; k-- > 0;) {
    const double next_v = k + 1 < n ? v[k + 1] : 0.0;  // the episode ends after the last token
    const double delta = r[k] + gamma * next_v - v[k];
    gae = delta + gamma * lambda * gae;
    a[k] = gae;
    (*returns)[k] = gae + v[k];
  }
  return a;
}

ModelConfig CriticConfig(const ModelConfig& policy, const PpoConfig& cfg) {
  ModelConfig c = policy;
  c.set_value_head(true);
  c.set_prm_head(false);
  if (cfg.critic_d_model() > 0) {
    c.set_d_model(cfg.critic_d_model());
    c.set_d_ff(4 * cfg.critic_d_model());
  }
  if (cfg.critic_n_layers() > 0) c.set_n_layers(cfg.critic_n_layers());
  c.set_init_seed(policy.init_seed() + 1);
  return c;
}

PpoTrainer::PpoTrainer(Transformer& policy, const Task& task, const PpoConfig& cfg, uint64_t seed,
                       FlopCounter* flops)
    : policy_(policy), task_(task), cfg_(cfg), seed_(seed), rng_(seed), flops_(flops),
      reward_(cfg.reward(), cfg.sampling().max_new_tokens()),
      critic_(MakeModel(CriticConfig(policy->config(), cfg), policy->vocab_size())) {
  if (cfg.critic_from_base()) CopyWeights(policy_, critic_, /*strict=*/false);
  optimizer_ = std::make_unique<torch::optim::AdamW>(MakeAdamW(policy_, cfg.optim()));
  critic_optimizer_ = std::make_unique<torch::optim::AdamW>(MakeAdamW(critic_, cfg.critic_optim()));
  if (cfg.kl_coef() > 0) {
    ref_ = MakeModel(policy->config(), policy->vocab_size());
    CopyWeights(policy_, *ref_);
  }
}

std::string PpoTrainer::Step(int64_t step, std::string* note) {
  const auto t_start = Clock::now();
  const ModelConfig& mc = policy_->config();
  const ModelConfig& cc = critic_->config();
  const int V = policy_->vocab_size();
  const int N = cfg_.prompts_per_step();
  const double temperature = cfg_.sampling().temperature() > 0 ? cfg_.sampling().temperature() : 1.0;
  const uint64_t seed = SplitMix64(seed_ ^ SplitMix64(static_cast<uint64_t>(step) * 1024));
  Rollouts ro = SampleRollouts(policy_, task_, rng_, N, 1, cfg_.sampling(), seed, reward_, flops_);

  // ---- old log-probs, reference log-probs, values; per-token rewards; GAE
  std::vector<int> order(N);
  std::iota(order.begin(), order.end(), 0);
  for (int i = N - 1; i > 0; --i) std::swap(order[i], order[rng_.Int(0, i)]);
  const int M = std::min(cfg_.minibatches(), N);
  const auto t_train0 = Clock::now();
  std::vector<MiniBatch> mbs;
  const int bins = cfg_.value_error_bins();
  std::vector<double> bin_err(bins, 0.0), bin_n(bins, 0.0);
  std::vector<double> all_ret, all_val, all_adv;
  double kl_sum = 0, kl_tokens = 0;
  for (int m = 0; m < M; ++m) {
    const std::vector<int> rows(order.begin() + m * N / M, order.begin() + (m + 1) * N / M);
    MiniBatch mb;
    mb.batch = RolloutBatch(ro, rows, cfg_.mask_truncated());
    mb.mask = mb.batch.loss_mask;
    torch::NoGradGuard ng;
    double fwd = 0, cfwd = 0;
    for (int64_t L : mb.batch.lengths) {
      fwd += ForwardFlopsSequence(mc, V, L);
      cfwd += ForwardFlopsSequence(cc, V, L);
    }
    mb.old_lp = NextTokenStats(policy_->forward(mb.batch.tokens).logits, mb.batch.tokens, temperature).logprobs;
    const int64_t T1 = mb.old_lp.size(1);
    mb.old_values = critic_->forward(mb.batch.tokens).values.narrow(1, 0, T1).to(torch::kFloat).contiguous();
    flops_->Add(FlopPhase::kTrain, fwd + cfwd);
    torch::Tensor kl = torch::zeros_like(mb.old_lp);
    if (ref_) {
      const torch::Tensor ref_lp =
          NextTokenStats((*ref_)->forward(mb.batch.tokens).logits, mb.batch.tokens, temperature).logprobs;
      flops_->Add(FlopPhase::kScore, fwd);
      kl = KlPerToken(mb.old_lp, ref_lp, cfg_.kl_estimator());
    }
    kl = (kl * mb.mask).to(torch::kDouble).cpu().contiguous();
    const torch::Tensor vals = mb.old_values.to(torch::kDouble).cpu().contiguous();
    const torch::Tensor mask = mb.mask.to(torch::kDouble).cpu().contiguous();
    torch::Tensor adv = torch::zeros({static_cast<int64_t>(rows.size()), T1}, torch::kDouble);
    torch::Tensor ret = torch::zeros_like(adv);
    auto ka = kl.accessor<double, 2>();
    auto va = vals.accessor<double, 2>();
    auto ma = mask.accessor<double, 2>();
    auto aa = adv.accessor<double, 2>();
    auto ra = ret.accessor<double, 2>();
    for (size_t r = 0; r < rows.size(); ++r) {
      const int64_t first = static_cast<int64_t>(ro.prompts[rows[r]].size()) - 1;
      const int64_t n = static_cast<int64_t>(ro.gens[rows[r]].tokens.size());
      if (ma[r][first] == 0) continue;  // masked (truncated) response
      std::vector<double> rew(n), v(n);
      for (int64_t k = 0; k < n; ++k) {
        rew[k] = -cfg_.kl_coef() * ka[r][first + k];
        v[k] = va[r][first + k];
        kl_sum += ka[r][first + k];
      }
      kl_tokens += n;
      rew[n - 1] += ro.rewards[rows[r]].total;
      std::vector<double> returns;
      const std::vector<double> a = Gae(rew, v, cfg_.gamma(), cfg_.gae_lambda(), &returns);
      // The realised (Monte Carlo) return from each position, for the critic's error.
      double g = 0;
      for (int64_t k = n; k-- > 0;) {
        g = rew[k] + cfg_.gamma() * g;
        const int b = std::min<int>(bins - 1, static_cast<int>(bins * k / n));
        bin_err[b] += std::abs(v[k] - g);
        bin_n[b] += 1;
        all_ret.push_back(g);
        all_val.push_back(v[k]);
      }
      for (int64_t k = 0; k < n; ++k) {
        aa[r][first + k] = a[k];
        ra[r][first + k] = returns[k];
        all_adv.push_back(a[k]);
      }
    }
    mb.advantages = adv;
    mb.returns = ret.to(torch::kFloat);
    mbs.push_back(std::move(mb));
  }
  // Whitening over every trained token of the step.
  double adv_mean = 0, adv_std = 1;
  if (cfg_.whiten_advantages() && all_adv.size() > 1) {
    adv_mean = std::accumulate(all_adv.begin(), all_adv.end(), 0.0) / all_adv.size();
    double var = 0;
    for (double a : all_adv) var += (a - adv_mean) * (a - adv_mean);
    adv_std = std::sqrt(var / (all_adv.size() - 1)) + 1e-8;
  }
  for (MiniBatch& mb : mbs)
    mb.advantages = (((mb.advantages - adv_mean) / adv_std) * mb.mask.to(torch::kDouble)).to(torch::kFloat);

  // ---- updates
  policy_->train();
  critic_->train();
  PolicyLossOptions lo;
  lo.clip_low = lo.clip_high = cfg_.clip();
  lo.entropy_coef = cfg_.entropy_coef();
  lo.aggregation = TOKEN_MEAN;
  const double lr = ScheduledLr(cfg_.optim(), step, cfg_.steps());
  const double clr = ScheduledLr(cfg_.critic_optim(), step, cfg_.steps());
  for (auto& g : optimizer_->param_groups()) static_cast<torch::optim::AdamWOptions&>(g.options()).lr(lr);
  for (auto& g : critic_optimizer_->param_groups()) static_cast<torch::optim::AdamWOptions&>(g.options()).lr(clr);
  double pg_sum = 0, vf_sum = 0, ent_sum = 0, clip_sum = 0;
  int updates = 0;
  for (int e = 0; e < cfg_.epochs(); ++e) {
    for (MiniBatch& mb : mbs) {
      const int64_t T1 = mb.old_lp.size(1);
      optimizer_->zero_grad();
      const TokenStats ts = NextTokenStats(policy_->forward(mb.batch.tokens).logits, mb.batch.tokens, temperature);
      PolicyLossInputs in;
      in.logprobs = ts.logprobs;
      in.old_logprobs = mb.old_lp;
      in.advantages = mb.advantages;
      in.mask = mb.mask;
      in.entropy = ts.entropy;
      PolicyLossStats st;
      PolicyLoss(in, lo, &st).backward();
      if (cfg_.optim().grad_clip() > 0) torch::nn::utils::clip_grad_norm_(policy_->parameters(), cfg_.optim().grad_clip());
      optimizer_->step();

      critic_optimizer_->zero_grad();
      const torch::Tensor v = critic_->forward(mb.batch.tokens).values.narrow(1, 0, T1);
      torch::Tensor vf = (v - mb.returns).pow(2);
      if (cfg_.value_clip() > 0) {
        const torch::Tensor vc = mb.old_values + (v - mb.old_values).clamp(-cfg_.value_clip(), cfg_.value_clip());
        vf = torch::max(vf, (vc - mb.returns).pow(2));
      }
      const torch::Tensor vf_loss = 0.5 * AggregateLoss(vf, mb.mask, TOKEN_MEAN, 1);
      vf_loss.backward();
      if (cfg_.critic_optim().grad_clip() > 0)
        torch::nn::utils::clip_grad_norm_(critic_->parameters(), cfg_.critic_optim().grad_clip());
      critic_optimizer_->step();

      for (int64_t L : mb.batch.lengths)
        flops_->Add(FlopPhase::kTrain, 3 * (ForwardFlopsSequence(mc, V, L) + ForwardFlopsSequence(cc, V, L)));
      pg_sum += st.pg_loss;
      ent_sum += st.entropy;
      clip_sum += st.clip_region_frac;
      vf_sum += vf_loss.item<double>();
      ++updates;
    }
  }
  const double t_train = SecondsSince(t_train0);

  // ---- metrics
  for (const Generation& g : ro.gens) tokens_generated_ += static_cast<int64_t>(g.tokens.size());
  double ret_mean = 0;
  for (double r : all_ret) ret_mean += r / std::max<size_t>(1, all_ret.size());
  double var_ret = 0, var_res = 0;
  for (size_t k = 0; k < all_ret.size(); ++k) {
    var_ret += (all_ret[k] - ret_mean) * (all_ret[k] - ret_mean);
    var_res += (all_ret[k] - all_val[k]) * (all_ret[k] - all_val[k]);
  }
  std::vector<double> err(bins);
  for (int b = 0; b < bins; ++b) err[b] = bin_n[b] > 0 ? bin_err[b] / bin_n[b] : 0;
  Json j;
  j.Add("pg_loss", pg_sum / updates)
      .Add("vf_loss", vf_sum / updates)
      .Add("kl", kl_tokens > 0 ? kl_sum / kl_tokens : 0)
      .Add("entropy", ent_sum / updates)
      .Add("clip_region_frac", clip_sum / updates)
      .Add("explained_variance", var_ret > 0 ? 1 - var_res / var_ret : 0)
      .Add("value_error_by_position", err)
      .Add("memory_policy_mb", TrainingStateBytes(policy_) / (1 << 20))
      .Add("memory_critic_mb", TrainingStateBytes(critic_) / (1 << 20))
      .Add("memory_ref_mb", ref_ ? TrainingStateBytes(*ref_) / 3 / (1 << 20) : 0.0)
      .Add("lr", lr)
      .Add("tokens_generated", tokens_generated_)
      .Add("time_generate_s", ro.t_generate)
      .Add("time_score_s", ro.t_score)
      .Add("time_train_s", t_train)
      .Add("time_step_s", SecondsSince(t_start));
  char buf[32];
  std::snprintf(buf, sizeof buf, " EV %.2f", var_ret > 0 ? 1 - var_res / var_ret : 0);
  *note = RolloutNote(ro) + buf;
  return RolloutMetrics(ro, reward_) + "," + j.members();
}

void RunPpo(const PpoConfig& cfg, StrategyContext& ctx) {
  PpoTrainer trainer(*ctx.policy, *ctx.task, cfg, ctx.seed, ctx.flops);
  StrategyLoop loop;
  loop.steps = cfg.steps();
  loop.log_every = cfg.log_every();
  loop.optimizer = &trainer.optimizer();
  loop.rng = &trainer.rng();
  loop.aux.push_back({".critic", &trainer.critic(), &trainer.critic_optimizer()});
  if (trainer.reference()) loop.aux.push_back({".ref", trainer.reference(), nullptr});
  loop.tokens = trainer.mutable_tokens_generated();
  loop.step = [&](int64_t step, std::string* note) { return trainer.Step(step, note); };
  RunStrategyLoop(ctx, loop);
}

}  // namespace r1lab

#include "ppo.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <utility>

#include "error.h"
#include "progress.h"
#include "policy_loss.h"
#include "rollout.h"
#include "config.h"
#include "data_parallel.h"
#include "optim.h"
#include "policy_update.h"
#include "records.h"
#include "strategy.h"

namespace r1lab {

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
      reward_(cfg.reward(), cfg.sampling().max_new_tokens(), LineFormJudgeOf(task)),
      critic_(MakeModel(CriticConfig(policy->config(), cfg), policy->vocab_size())) {
  if (cfg.critic_from_base()) CopyWeights(policy_, critic_, /*strict=*/false);
  optimizer_ = std::make_unique<torch::optim::AdamW>(MakeAdamW(policy_, cfg.optim()));
  critic_optimizer_ = std::make_unique<torch::optim::AdamW>(MakeAdamW(critic_, cfg.critic_optim()));
  if (cfg.kl_coef() > 0) {
    ref_ = MakeModel(policy->config(), policy->vocab_size());
    CopyWeights(policy_, *ref_);
  }
}

void PpoTrainer::set_data_parallel(Dist* d, const std::string& field) {
  if (d) ShardSize(cfg_.prompts_per_step(), d->world_size(), field, "the data-parallel run");
  dp_ = d;
}

void PpoTrainer::TrainOn(const Rollouts& ro, int64_t step) {
  CriticStats cs(cfg_.value_error_bins());
  UpdateSums u;
  Train(ro, step, &cs, &u);
}

double PpoTrainer::Train(const Rollouts& ro, int64_t step, CriticStats* cs, UpdateSums* u) {
  std::vector<MiniBatch> mbs = BuildMinibatches(ro, cs);
  WhitenAdvantages(mbs, cs->advantages);
  const double lr = ScheduledLr(cfg_.optim(), step, cfg_.steps());
  *u = Update(mbs, lr, ScheduledLr(cfg_.critic_optim(), step, cfg_.steps()));
  return lr;
}

MetricsLine PpoTrainer::Step(int64_t step, std::string* note) {
  const auto t_start = Clock::now();
  const FlopMark before = MarkFlops(*flops_, tokens_generated_);
  // Data-parallel: each rank's prompts and samples from its own stream, so
  // the shared `rng_` (the minibatch shuffle) stays the same on every rank.
  const uint64_t seed = RankSeed(SplitMix64(seed_ ^ SplitMix64(static_cast<uint64_t>(step) * 1024)), dp_);
  Rng rank_rng(seed ^ 0x9e3779b97f4a7c15ULL);
  const Rollouts ro = SampleRollouts(policy_, task_, dp_ ? rank_rng : rng_, LocalPrompts(), 1, cfg_.sampling(), seed,
                                     reward_, flops_);
  if (flops_) flops_->AddOracleCalls(static_cast<int64_t>(ro.gens.size()));  // the rule reward's verdicts
  const auto t_train0 = Clock::now();
  CriticStats cs(cfg_.value_error_bins());
  UpdateSums u;
  const double lr = Train(ro, step, &cs, &u);
  const double t_train = SecondsSince(t_train0);
  for (const Generation& g : ro.gens) tokens_generated_ += static_cast<int64_t>(g.tokens.size());
  if (dp_) SumFlopsSince(before, *dp_, flops_, &tokens_generated_);
  const double ev = cs.ExplainedVariance();
  MetricsLine m;
  RolloutMetrics(ro, reward_, &m);
  m.set_pg_loss(u.pg / u.updates);
  m.set_vf_loss(u.vf / u.updates);
  m.set_kl(cs.kl_tokens > 0 ? cs.kl_sum / cs.kl_tokens : 0);
  m.set_entropy(u.entropy / u.updates);
  m.set_clip_region_frac(u.clip / u.updates);
  m.set_clip_low_frac(u.clip_low / u.updates);
  m.set_clip_high_frac(u.clip_high / u.updates);
  m.set_explained_variance(ev);
  for (double e : cs.ErrorByPosition()) m.add_value_error_by_position(e);
  for (double e : cs.SquaredErrorByPosition()) m.add_value_mse_by_position(e);
  for (double e : cs.ConstantSquaredErrorByPosition()) m.add_value_mse_constant_by_position(e);
  m.set_memory_policy_mb(TrainingStateBytes(policy_) / (1 << 20));
  m.set_memory_critic_mb(TrainingStateBytes(critic_) / (1 << 20));
  m.set_memory_ref_mb(ref_ ? TrainingStateBytes(*ref_) / 3 / (1 << 20) : 0.0);
  m.set_lr(lr);
  m.set_tokens_generated(static_cast<double>(tokens_generated_));
  m.set_time_generate_s(ro.t_generate);
  m.set_time_score_s(ro.t_score);
  m.set_time_train_s(t_train);
  m.set_time_step_s(SecondsSince(t_start));
  char buf[32];
  std::snprintf(buf, sizeof buf, " EV %.2f", ev);
  *note = RolloutNote(ro) + buf;
  if (dp_) AverageOverRanks(&m, *dp_);
  return m;
}

double PpoTrainer::CriticStats::ExplainedVariance() const {
  double ret_mean = 0;
  for (double r : returns) ret_mean += r / std::max<size_t>(1, returns.size());
  double var_ret = 0, var_res = 0;
  for (size_t k = 0; k < returns.size(); ++k) {
    var_ret += (returns[k] - ret_mean) * (returns[k] - ret_mean);
    var_res += (returns[k] - values[k]) * (returns[k] - values[k]);
  }
  return var_ret > 0 ? 1 - var_res / var_ret : 0;
}

std::vector<double> PpoTrainer::CriticStats::ErrorByPosition() const {
  std::vector<double> err(bin_err.size());
  for (size_t b = 0; b < err.size(); ++b) err[b] = bin_n[b] > 0 ? bin_err[b] / bin_n[b] : 0;
  return err;
}

std::vector<double> PpoTrainer::CriticStats::SquaredErrorByPosition() const {
  std::vector<double> err(bin_sq_err.size());
  for (size_t b = 0; b < err.size(); ++b) err[b] = bin_n[b] > 0 ? bin_sq_err[b] / bin_n[b] : 0;
  return err;
}

std::vector<double> PpoTrainer::CriticStats::ConstantSquaredErrorByPosition() const {
  std::vector<double> err(bin_returns.size(), 0.0);
  for (size_t b = 0; b < err.size(); ++b) {
    const std::vector<double>& g = bin_returns[b];
    if (g.empty()) continue;
    const double n = static_cast<double>(g.size());
    const double mean = std::accumulate(g.begin(), g.end(), 0.0) / n;
    for (double x : g) err[b] += (x - mean) * (x - mean) / n;
  }
  return err;
}

std::pair<TokenBatch, torch::Tensor> PpoTrainer::ReturnTargets(const Rollouts& ro) const {
  std::vector<int> rows(static_cast<size_t>(ro.size()));
  std::iota(rows.begin(), rows.end(), 0);
  TokenBatch b = RolloutBatch(ro, rows, cfg_.mask_truncated());
  torch::Tensor ret = torch::zeros(b.loss_mask.sizes(), torch::kFloat);
  auto ra = ret.accessor<float, 2>();
  for (int r = 0; r < ro.size(); ++r) {
    const int64_t first = static_cast<int64_t>(ro.prompts[r].size()) - 1;
    const int64_t n = static_cast<int64_t>(ro.gens[r].tokens.size());
    for (int64_t k = 0; k < n; ++k)
      ra[r][first + k] = static_cast<float>(ro.rewards[r].total * std::pow(cfg_.gamma(), static_cast<double>(n - 1 - k)));
  }
  return {std::move(b), ret};
}

PpoTrainer::HeldoutError PpoTrainer::CriticError(const Rollouts& ro) {
  torch::NoGradGuard ng;
  critic_->eval();
  const auto [b, ret] = ReturnTargets(ro);
  const torch::Tensor mask = b.loss_mask.to(torch::kDouble).cpu();
  const torch::Tensor target = ret.to(torch::kDouble).cpu();
  const torch::Tensor v = critic_->forward(b.tokens).values.narrow(1, 0, ret.size(1)).to(torch::kDouble).cpu();
  const double n = std::max(1.0, mask.sum().item<double>());
  HeldoutError h;
  h.mean_target = (target * mask).sum().item<double>() / n;
  h.mean_prediction = (v * mask).sum().item<double>() / n;
  h.mse = ((v - target).pow(2) * mask).sum().item<double>() / n;
  h.mse_constant = ((target - h.mean_target).pow(2) * mask).sum().item<double>() / n;
  return h;
}

CriticWarmup PpoTrainer::WarmUpCritic() {
  CriticWarmup w;
  const int batches = cfg_.critic_warmup_batches(), P = cfg_.prompts_per_step();
  if (batches == 0) return w;
  // One more batch on its own problems and seed, never trained on: a
  // measurement, so not charged.
  Rng held_rng(SplitMix64(seed_ ^ 0xc1a1ULL));
  const Rollouts held = SampleRollouts(policy_, task_, held_rng, P, 1, cfg_.sampling(), SplitMix64(seed_ ^ 0xc1a2ULL),
                                       reward_, nullptr);
  const HeldoutError start = CriticError(held);
  const FlopMark before = MarkFlops(*flops_, tokens_generated_);
  std::vector<std::pair<TokenBatch, torch::Tensor>> data;
  std::vector<double> tokens_all;
  for (int i = 0; i < batches; ++i) {
    const uint64_t seed = RankSeed(SplitMix64(seed_ ^ SplitMix64(0xc1a3ULL + static_cast<uint64_t>(i))), dp_);
    Rng rank_rng(seed ^ 0x9e3779b97f4a7c15ULL);
    const Rollouts ro =
        SampleRollouts(policy_, task_, dp_ ? rank_rng : rng_, LocalPrompts(), 1, cfg_.sampling(), seed, reward_, flops_);
    flops_->AddOracleCalls(static_cast<int64_t>(ro.size()));
    for (const Generation& g : ro.gens) tokens_generated_ += static_cast<int64_t>(g.tokens.size());
    data.push_back(ReturnTargets(ro));
    tokens_all.push_back(data.back().first.loss_mask.sum().item<double>());
  }
  if (dp_) tokens_all = SumOverRanks(std::move(tokens_all), *dp_);
  const ModelConfig& cc = critic_->config();
  const int V = critic_->vocab_size();
  critic_->train();
  SetLr(*critic_optimizer_, cfg_.critic_optim().lr());
  for (int e = 0; e < cfg_.critic_warmup_epochs(); ++e)
    for (size_t i = 0; i < data.size(); ++i) {
      const auto& [b, ret] = data[i];
      CriticStep(b.tokens, b.loss_mask, ret, torch::Tensor(), dp_ ? std::max(1.0, tokens_all[i]) : 0);
      for (int64_t L : b.lengths) flops_->Add(FlopPhase::kTrain, 3 * ForwardFlopsSequence(cc, V, L));
      w.set_updates(w.updates() + 1);
    }
  if (dp_) SumFlopsSince(before, *dp_, flops_, &tokens_generated_);
  const HeldoutError end = CriticError(held);
  w.set_rollouts(batches * P);
  w.set_mse_start(start.mse);
  w.set_mse_end(end.mse);
  w.set_mse_constant(end.mse_constant);
  w.set_mean_target(end.mean_target);
  w.set_mean_prediction_start(start.mean_prediction);
  w.set_mean_prediction_end(end.mean_prediction);
  return w;
}

// Per minibatch: old log-probs, the critic's values and the reference's
// log-probs (no grad); per-token rewards -beta * KL plus the rule reward on
// the last token; GAE advantages and returns; the critic's error against the
// realised return by relative position.
std::vector<PpoTrainer::MiniBatch> PpoTrainer::BuildMinibatches(const Rollouts& ro, CriticStats* cs) {
  const ModelConfig& mc = policy_->config();
  const ModelConfig& cc = critic_->config();
  const int V = policy_->vocab_size();
  const int N = ro.size();
  const double temperature = cfg_.sampling().temperature() > 0 ? cfg_.sampling().temperature() : 1.0;
  // Data-parallel: this rank holds rows [offset, offset + N) of the whole
  // batch, and takes its rows of each minibatch of the whole batch's shuffle
  // (the same `rng_` on every rank).
  const int N_all = N * (dp_ ? dp_->world_size() : 1), offset = dp_ ? dp_->rank() * N : 0;
  std::vector<std::vector<int>> parts = ShuffledMinibatches(N_all, std::min(cfg_.minibatches(), N_all), rng_);
  for (std::vector<int>& rows : parts) {
    std::vector<int> mine;
    for (int i : rows)
      if (i >= offset && i < offset + N) mine.push_back(i - offset);
    rows = std::move(mine);
  }
  std::vector<MiniBatch> mbs;
  for (const std::vector<int>& rows : parts) {
    MiniBatch mb;
    if (rows.empty()) {  // a data-parallel rank with no rows in this minibatch
      mbs.push_back(std::move(mb));
      continue;
    }
    mb.batch = RolloutBatch(ro, rows, cfg_.mask_truncated());
    mb.mask = mb.batch.loss_mask;
    torch::NoGradGuard ng;
    double fwd = 0, cfwd = 0;
    for (int64_t L : mb.batch.lengths) {
      fwd += ForwardFlopsSequence(mc, V, L);
      cfwd += ForwardFlopsSequence(cc, V, L);
    }
    // The old log-probs feed the KL reward and the ratio of every update
    // after the first; with neither (no reference, one epoch of one
    // minibatch) the update's own forward gives them (ratio 1), as in GRPO.
    const bool need_old = ref_ || cfg_.epochs() > 1 || parts.size() > 1;
    const int64_t T1 = mb.batch.tokens.size(1) - 1;
    if (need_old) mb.old_lp = SequenceLogprobs(policy_, mb.batch.tokens, temperature);
    mb.old_values = critic_->forward(mb.batch.tokens).values.narrow(1, 0, T1).to(torch::kFloat).contiguous();
    flops_->Add(FlopPhase::kTrain, (need_old ? fwd : 0) + cfwd);
    torch::Tensor kl = torch::zeros({static_cast<int64_t>(rows.size()), T1}, torch::kFloat);
    if (ref_) {
      const torch::Tensor ref_lp = SequenceLogprobs(*ref_, mb.batch.tokens, temperature);
      flops_->Add(FlopPhase::kScore, fwd);
      kl = KlPerToken(mb.old_lp, ref_lp, cfg_.kl_estimator());
    }
    kl = (kl * mb.mask.to(kl.device())).to(torch::kDouble).cpu().contiguous();
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
        cs->kl_sum += ka[r][first + k];
      }
      cs->kl_tokens += n;
      rew[n - 1] += ro.rewards[rows[r]].total;
      std::vector<double> returns;
      const std::vector<double> a = Gae(rew, v, cfg_.gamma(), cfg_.gae_lambda(), &returns);
      cs->AddRealised(rew, v, cfg_.gamma());
      for (int64_t k = 0; k < n; ++k) {
        aa[r][first + k] = a[k];
        ra[r][first + k] = returns[k];
        cs->advantages.push_back(a[k]);
      }
    }
    mb.advantages = adv;
    mb.returns = ret.to(torch::kFloat);
    mbs.push_back(std::move(mb));
  }
  if (dp_) {
    std::vector<double> tokens;
    for (const MiniBatch& mb : mbs) tokens.push_back(mb.mask.defined() ? mb.mask.sum().item<double>() : 0.0);
    tokens = SumOverRanks(std::move(tokens), *dp_);
    for (size_t k = 0; k < mbs.size(); ++k) mbs[k].tokens_all = std::max(1.0, tokens[k]);
  }
  return mbs;
}

// The realised (Monte Carlo) return from each position, for the critic's error.
void PpoTrainer::CriticStats::AddRealised(const std::vector<double>& rew, const std::vector<double>& v, double gamma) {
  const int bins = static_cast<int>(bin_err.size());
  const int64_t n = static_cast<int64_t>(rew.size());
  double g = 0;
  for (int64_t k = n; k-- > 0;) {
    g = rew[k] + gamma * g;
    const int b = std::min<int>(bins - 1, static_cast<int>(bins * k / n));
    bin_err[b] += std::abs(v[k] - g);
    bin_sq_err[b] += (v[k] - g) * (v[k] - g);
    bin_n[b] += 1;
    bin_returns[b].push_back(g);
    returns.push_back(g);
    values.push_back(v[k]);
  }
}

// Whitening over every trained token of the step.
// (data-parallel: every rank's tokens).
void PpoTrainer::WhitenAdvantages(std::vector<MiniBatch>& mbs, const std::vector<double>& all_adv) const {
  double adv_mean = 0, adv_std = 1;
  if (cfg_.whiten_advantages()) {
    std::vector<double> sum_n = {std::accumulate(all_adv.begin(), all_adv.end(), 0.0),
                                 static_cast<double>(all_adv.size())};
    if (dp_) sum_n = SumOverRanks(std::move(sum_n), *dp_);
    if (sum_n[1] > 1) {
      adv_mean = sum_n[0] / sum_n[1];
      std::vector<double> var = {0.0};
      for (double a : all_adv) var[0] += (a - adv_mean) * (a - adv_mean);
      if (dp_) var = SumOverRanks(std::move(var), *dp_);
      adv_std = std::sqrt(var[0] / (sum_n[1] - 1)) + 1e-8;
    }
  }
  for (MiniBatch& mb : mbs)
    if (mb.advantages.defined())
      mb.advantages = (((mb.advantages - adv_mean) / adv_std) * mb.mask.to(torch::kDouble)).to(torch::kFloat);
}

double PpoTrainer::CriticStep(const torch::Tensor& tokens, const torch::Tensor& mask, const torch::Tensor& returns,
                              const torch::Tensor& old_values, double tokens_all) {
  critic_optimizer_->zero_grad();
  double loss_value = 0;
  if (tokens.defined() && tokens.size(0) > 0) {
    const torch::Tensor v = critic_->forward(tokens).values.narrow(1, 0, returns.size(1));
    const torch::Tensor target = returns.to(v.device());  // filled in on the CPU
    torch::Tensor vf = (v - target).pow(2);
    if (old_values.defined() && cfg_.value_clip() > 0) {
      const torch::Tensor vc = old_values + (v - old_values).clamp(-cfg_.value_clip(), cfg_.value_clip());
      vf = torch::max(vf, (vc - target).pow(2));
    }
    const torch::Tensor loss = 0.5 * AggregateLoss(vf, mask.to(v.device()), TOKEN_MEAN, 1, {0, tokens_all});
    loss.backward();
    loss_value = loss.item<double>();
  }
  if (dp_) {
    std::vector<double> loss = {loss_value};
    SumGradients(critic_->parameters(), *dp_, &loss);
    loss_value = loss[0];
  }
  if (cfg_.critic_optim().grad_clip() > 0)
    torch::nn::utils::clip_grad_norm_(critic_->parameters(), cfg_.critic_optim().grad_clip());
  critic_optimizer_->step();
  return loss_value;
}

// Each epoch, each minibatch: the policy's clipped surrogate step, then the
// critic's clipped value loss 0.5 * max((V - R)^2, (V_old + clip(V - V_old) - R)^2).
PpoTrainer::UpdateSums PpoTrainer::Update(std::vector<MiniBatch>& mbs, double lr, double critic_lr) {
  const ModelConfig& mc = policy_->config();
  const ModelConfig& cc = critic_->config();
  const int V = policy_->vocab_size();
  const double temperature = cfg_.sampling().temperature() > 0 ? cfg_.sampling().temperature() : 1.0;
  policy_->train();
  critic_->train();
  PolicyLossOptions lo;
  lo.clip_low = lo.clip_high = cfg_.clip();
  lo.entropy_coef = cfg_.entropy_coef();
  lo.aggregation = TOKEN_MEAN;
  SetLr(*optimizer_, lr);
  SetLr(*critic_optimizer_, critic_lr);
  UpdateSums u;
  for (int e = 0; e < cfg_.epochs(); ++e) {
    for (MiniBatch& mb : mbs) {
      PolicyBatch pb;
      pb.batch = mb.batch;
      pb.mask = mb.mask;
      pb.advantages = mb.advantages;
      pb.old_lp = mb.old_lp;
      lo.denominators = {0, mb.tokens_all};
      const PolicyUpdateResult r = PolicyUpdate(policy_, *optimizer_, pb, lo, temperature, cfg_.optim().grad_clip(),
                                                cfg_.kl_estimator(), dp_);
      const double vf_loss = CriticStep(mb.batch.tokens, mb.mask, mb.returns, mb.old_values, mb.tokens_all);

      for (int64_t L : mb.batch.lengths)
        flops_->Add(FlopPhase::kTrain, 3 * (ForwardFlopsSequence(mc, V, L) + ForwardFlopsSequence(cc, V, L)));
      u.pg += r.stats.pg_loss;
      u.entropy += r.stats.entropy;
      u.clip += r.stats.clip_region_frac;
      u.clip_low += r.stats.clip_low_frac;
      u.clip_high += r.stats.clip_high_frac;
      u.vf += vf_loss;
      ++u.updates;
    }
  }
  return u;
}

namespace {

class PpoStrategy : public Strategy {
 public:
  explicit PpoStrategy(const Arm& arm) : cfg_(arm.ppo()) {}
  void Train(StrategyContext& ctx) override {
    PpoTrainer trainer(*ctx.policy, *ctx.task, cfg_, ctx.seed, ctx.flops);
    trainer.set_data_parallel(ctx.data_parallel, "arm '" + ctx.arm->name() + "': ppo.prompts_per_step");
    StrategyLoop loop;
    loop.steps = cfg_.steps();
    loop.log_every = cfg_.log_every();
    loop.optimizer = &trainer.optimizer();
    loop.rng = &trainer.rng();
    loop.parts.push_back({"critic", &trainer.critic(), &trainer.critic_optimizer()});
    if (trainer.reference()) loop.parts.push_back({"ref", trainer.reference(), nullptr});
    loop.tokens = trainer.mutable_tokens_generated();
    loop.step = [&](int64_t step, MetricsLine* m, std::string* note) { *m = trainer.Step(step, note); };
    if (cfg_.critic_warmup_batches() > 0)
      loop.init = [&]() {
        std::fprintf(stderr, "%s: warming up the critic on %d base rollouts\n", ctx.label.c_str(),
                     cfg_.critic_warmup_batches() * cfg_.prompts_per_step());
        MetricsLine line;
        *line.mutable_critic_warmup() = trainer.WarmUpCritic();
        line.set_step(0);
        line.set_flops(ctx.flops->Total());
        if (ctx.metrics) ctx.metrics->Write(RecordToJson(line));
      };
    RunStrategyLoop(ctx, loop);
  }

 private:
  PpoConfig cfg_;
};

void CheckPpoArm(const Arm& a, const ExperimentConfig& e, const std::string& path, const std::string& src) {
  const PpoConfig& c = a.ppo();
  const ModelConfig& policy = e.model();
  const std::string p = path + ".ppo";
  if (c.reward().overlong_buffer() >= c.sampling().max_new_tokens())
    ConfigFail(src, p + ".reward.overlong_buffer",
               "must be below sampling.max_new_tokens=" + std::to_string(c.sampling().max_new_tokens()));
  if (c.minibatches() > c.prompts_per_step())
    ConfigFail(src, p + ".minibatches",
               std::to_string(c.minibatches()) + " exceeds prompts_per_step=" + std::to_string(c.prompts_per_step()));
  const int d = c.critic_d_model() > 0 ? c.critic_d_model() : policy.d_model();
  const int layers = c.critic_n_layers() > 0 ? c.critic_n_layers() : policy.n_layers();
  if (d % policy.n_heads() != 0)
    ConfigFail(src, p + ".critic_d_model",
               std::to_string(d) + " is not divisible by model.n_heads=" + std::to_string(policy.n_heads()));
  if (c.critic_from_base() && (d != policy.d_model() || layers != policy.n_layers()))
    ConfigFail(src, p + ".critic_from_base", "needs the critic to have the policy's size; set it false for another size");
}

void QuickPpo(Arm* a) { a->mutable_ppo()->set_steps(QuickSteps(a->ppo().steps())); }

void ScalePpo(Arm* a, double f) { a->mutable_ppo()->set_steps(ScaledSteps(a->ppo().steps(), f)); }

// The policy's and the critic's learning rates and the critic's warm-up.
constexpr const char* kPpoSpace = R"(
  params { path: "ppo.optim.lr" values: [3e-5, 1e-4, 3e-4] }
  params { path: "ppo.critic_optim.lr" values: [1e-4, 3e-4, 1e-3] }
  params { path: "ppo.critic_warmup_batches" values: [0, 4, 16] }
)";

R1LAB_REGISTER_STRATEGY(Arm::kPpo, PpoStrategy, CheckPpoArm, QuickPpo, ScalePpo, kPpoSpace);

}  // namespace

}  // namespace r1lab

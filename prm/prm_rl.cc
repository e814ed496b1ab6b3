#include "prm_rl.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "config.h"
#include "error.h"
#include "records.h"
#include "policy_loss.h"
#include "completer.h"
#include "process_advantage.h"
#include "reward_data.h"
#include "rollout.h"
#include "strategy.h"
#include "tokenizer.h"

namespace r1lab {

namespace {

// An ORM and a preference model give one score per completion.
bool OneScore(RewardModelKind k) { return k == ORM || k == PREFERENCE; }

// Of the pairs within each problem's samples (consecutive in `problems`)
// that `quality` tells apart, the share `proxy` orders alike; a proxy tie
// counts half. 0 when no pair differs.
double PairAccuracy(const std::vector<const Problem*>& problems, const std::vector<double>& quality,
                    const std::vector<double>& proxy) {
  double right = 0, pairs = 0;
  for (size_t i = 0; i < problems.size(); ++i)
    for (size_t j = i + 1; j < problems.size() && problems[j] == problems[i]; ++j) {
      if (quality[i] == quality[j]) continue;
      const double dq = quality[i] - quality[j], dp = proxy[i] - proxy[j];
      right += dp == 0 ? 0.5 : (dq > 0) == (dp > 0);
      pairs += 1;
    }
  return pairs > 0 ? right / pairs : 0;
}

// The reward model's view of completions: per-step scores (a PRM, steps cut
// by the segmenter) or one score (an ORM). Completions without a step get
// no scores.
std::vector<std::vector<double>> ScoreCompletions(Transformer& rm, const PrmRlConfig& cfg, const SegmenterSpec& seg,
                                                  const std::vector<std::string>& prompts,
                                                  const std::vector<std::string>& completions, const Task& task,
                                                  FlopCounter* flops) {
  if (cfg.reward_model().kind() == STEP_TRUTH) {  // the exact truth of each step, no model
    std::vector<std::vector<double>> out(completions.size());
    for (size_t i = 0; i < completions.size(); ++i) {
      const auto steps = SegmentSteps(completions[i], seg);
      if (steps.empty()) continue;
      for (bool wrong : SegmentTruth(completions[i], steps, [&task](const std::string& l) { return task.LineWrong(l); }))
        out[i].push_back(wrong ? 0.0 : 1.0);
      if (flops) flops->AddOracleCalls(1);
    }
    return out;
  }
  const bool orm = OneScore(cfg.reward_model().kind());
  std::vector<PrmExample> items;
  std::vector<size_t> where;
  for (size_t i = 0; i < completions.size(); ++i) {
    if (completions[i].empty()) continue;
    PrmExample e = orm ? OutcomeExample(prompts[i], completions[i], false)
                       : PrmExample{prompts[i], completions[i], SegmentSteps(completions[i], seg), {}};
    if (e.steps.empty()) continue;
    items.push_back(std::move(e));
    where.push_back(i);
  }
  std::vector<std::vector<double>> out(completions.size());
  const auto scores = ScoreSteps(rm, items, flops, FlopPhase::kRewardScore);
  for (size_t k = 0; k < where.size(); ++k) out[where[k]] = scores[k];
  return out;
}


// The reward model against the truth on samples of one model (for the
// distribution-shift measurement).
RewardOnSamples RewardOnSamplesOf(Transformer& sampler, Transformer& rm, const PrmRlConfig& cfg, const SegmenterSpec& seg,
                                  Aggregation how, const Task& task, const std::vector<Problem>& problems,
                                  const SamplingConfig& sampling, uint64_t seed, Dist* shard) {
  const Samples s = SampleCompletions(sampler, problems, 4, sampling, seed, nullptr, shard);
  std::vector<std::string> prompts;
  for (const Problem* p : s.problems) prompts.push_back(p->prompt);
  const auto scores = ScoreCompletions(rm, cfg, seg, prompts, s.completions, task, nullptr);
  std::vector<double> proxy, quality;
  std::vector<bool> correct;
  std::vector<double> step_scores;
  std::vector<bool> step_good;
  FirstErrorScore first_error;
  double hits = 0, acc = 0, mean = 0;
  const bool truth = task.LineWrong("1+1=2").has_value() && !OneScore(cfg.reward_model().kind());
  for (size_t i = 0; i < s.completions.size(); ++i) {
    const Verdict v = task.Verify(s.completions[i], *s.problems[i]);
    const bool c = v.correct;
    const double p = ProxyOf(scores[i], !v.extracted.empty(), cfg, how);
    proxy.push_back(p);
    quality.push_back(task.Quality(s.completions[i], *s.problems[i]));
    correct.push_back(c);
    acc += c;
    mean += p;
    hits += (p >= 0.5) == c;
    if (truth && !scores[i].empty()) {
      const auto steps = SegmentSteps(s.completions[i], seg);
      const auto wrong =
          SegmentTruth(s.completions[i], steps, [&task](const std::string& l) { return task.LineWrong(l); });
      const size_t n = std::min(wrong.size(), scores[i].size());
      for (size_t k = 0; k < n; ++k) {
        step_scores.push_back(scores[i][k]);
        step_good.push_back(!wrong[k]);
      }
      first_error.Add(std::vector<double>(scores[i].begin(), scores[i].begin() + static_cast<long>(n)),
                      std::vector<bool>(wrong.begin(), wrong.begin() + static_cast<long>(n)));
    }
  }
  const double n = std::max<double>(1, static_cast<double>(proxy.size()));
  RewardOnSamples r;
  r.set_samples(static_cast<int>(proxy.size()));
  r.set_accuracy(acc / n);
  r.set_proxy_mean(mean / n);
  r.set_outcome_accuracy(hits / n);
  r.set_outcome_auc(StepAuc(proxy, correct));
  r.set_pair_accuracy(PairAccuracy(s.problems, quality, proxy));
  double q = 0;
  for (double x : quality) q += x / n;
  r.set_quality_mean(q);
  if (truth) r.set_step_auc(StepAuc(step_scores, step_good));
  if (truth) r.set_first_error_f1(first_error.f1());
  return r;
}

}  // namespace

LearnedReward::LearnedReward(const PrmRlConfig& cfg, Transformer rm, const Task& task, FlopCounter* flops)
    : cfg_(cfg), rm_(rm), task_(task), flops_(flops), segmenter_(SegmenterFromConfig(cfg.reward_model().segmenter())),
      aggregation_(AggregationFromConfig(cfg.aggregation())) {
  if (cfg.dense() && OneScore(cfg.reward_model().kind()))
    throw ConfigError("prm_rl.dense: dense process rewards need step scores (an ORM or preference model has one score)");
  if (cfg.reward_model().kind() == STEP_TRUTH && !task.LineWrong("1+1=2").has_value())
    throw ConfigError("prm_rl.reward_model.kind: STEP_TRUTH needs a task with per-step truth (arith); task '" +
                      task.name() + "' has none");
}

double ProxyOf(const std::vector<double>& scores, bool has_answer, const PrmRlConfig& cfg, Aggregation how) {
  if (scores.empty() || (cfg.answer_required() && !has_answer)) return 0;
  return OneScore(cfg.reward_model().kind()) ? scores[0] : Aggregate(scores, how);
}

void LearnedReward::Score(Rollouts& ro) {
  const Tokenizer& tok = *ro.tokenizer;
  const int N = ro.size(), G = ro.group_size;
  std::vector<std::string> prompts, completions;
  for (int k = 0; k < N; ++k) {
    prompts.push_back(ro.problems[static_cast<size_t>(k / G)].prompt);
    completions.push_back(tok.Decode(ro.gens[static_cast<size_t>(k)].tokens));
  }
  const auto scores = ScoreCompletions(rm_, cfg_, segmenter_, prompts, completions, task_, flops_);
  const double lw = cfg_.learned_weight(), rw = cfg_.rule_weight();
  const std::vector<double> rule = ro.totals();
  ro.proxy.assign(static_cast<size_t>(N), 0.0);
  // Whether each response has a final answer the task could extract (the
  // rollout's verdict: extraction is a format check, no gold involved; the
  // verdict's error may also hold why a wrong answer is wrong, which a
  // learned reward must not see).
  auto answered = [&](int k) { return !ro.rewards[static_cast<size_t>(k)].verdict.extracted.empty(); };
  for (int k = 0; k < N; ++k)
    ro.proxy[static_cast<size_t>(k)] = ProxyOf(scores[static_cast<size_t>(k)], answered(k), cfg_, aggregation_);
  if (cfg_.route_by_prompt()) {  // the rule where it can judge, the reward model elsewhere
    for (int k = 0; k < N; ++k) {
      const bool rule_judges = task_.Verifiable(ro.problems[static_cast<size_t>(k / G)]);
      ro.rewards[static_cast<size_t>(k)].total = rule_judges ? rule[static_cast<size_t>(k)] : ro.proxy[static_cast<size_t>(k)];
    }
    return;
  }
  if (!cfg_.dense()) {
    for (int k = 0; k < N; ++k) ro.rewards[static_cast<size_t>(k)].total = lw * ro.proxy[static_cast<size_t>(k)] + rw * rule[static_cast<size_t>(k)];
    return;
  }
  // Dense: per-step rewards become per-token advantages (DeepSeekMath's
  // process supervision), plus rule_weight times the rule reward's group
  // advantage on every token.
  std::vector<StepRewards> steps(static_cast<size_t>(N));
  for (int k = 0; k < N; ++k) {
    StepRewards& s = steps[static_cast<size_t>(k)];
    const auto& toks = ro.gens[static_cast<size_t>(k)].tokens;
    s.length = static_cast<int>(toks.size());
    std::vector<double> sc = scores[static_cast<size_t>(k)];
    if (sc.empty()) continue;
    if (cfg_.answer_required() && !answered(k)) std::fill(sc.begin(), sc.end(), 0.0);  // every step scores 0
    const std::vector<Segment> segs = SegmentSteps(completions[static_cast<size_t>(k)], segmenter_);
    const std::vector<int> ends = StepEndTokenIndex(*ro.tokenizer, toks, segs);
    for (size_t q = 0; q < ends.size() && q < sc.size(); ++q) {
      if (!s.end_tokens.empty() && s.end_tokens.back() == ends[q]) {
        s.rewards.back() = sc[q];  // two steps ending in one token: the later score stands
      } else {
        s.end_tokens.push_back(ends[q]);
        s.rewards.push_back(sc[q]);
      }
    }
    double mean = 0;
    for (double x : sc) mean += x / static_cast<double>(sc.size());
    ro.rewards[static_cast<size_t>(k)].total = lw * mean + rw * rule[static_cast<size_t>(k)];
  }
  const auto process = ProcessAdvantages(steps, G, cfg_.grpo().std_epsilon());
  const auto outcome = GroupAdvantages(rule, G, GROUP_ZSCORE, cfg_.grpo().std_epsilon());
  ro.token_advantages.assign(static_cast<size_t>(N), {});
  for (int k = 0; k < N; ++k) {
    auto& ta = ro.token_advantages[static_cast<size_t>(k)];
    for (double a : process[static_cast<size_t>(k)])
      ta.push_back(static_cast<float>(lw * a + rw * outcome[static_cast<size_t>(k)]));
  }
}

bool LearnedReward::UsesRuleReward() const { return cfg_.rule_weight() > 0 || cfg_.route_by_prompt(); }

void LearnedReward::Metrics(const Rollouts& ro, MetricsLine* m) {
  const Tokenizer& tok = *ro.tokenizer;
  Degeneration degen;
  double proxy = 0, proxy_sq = 0, acc = 0;
  std::vector<bool> correct;
  const double n = std::max(1, ro.size());
  for (int k = 0; k < ro.size(); ++k) {
    const std::string c = tok.Decode(ro.gens[static_cast<size_t>(k)].tokens);
    const Verdict& v = ro.rewards[static_cast<size_t>(k)].verdict;
    degen.Add(c, SegmentSteps(c, segmenter_), !v.extracted.empty());
    const double p = ro.proxy.empty() ? 0 : ro.proxy[static_cast<size_t>(k)];
    proxy += p / n;
    proxy_sq += p * p / n;
    acc += v.correct / n;
    correct.push_back(v.correct);
  }
  m->set_proxy_reward(proxy);
  m->set_proxy_std(std::sqrt(std::max(0.0, proxy_sq - proxy * proxy)));
  m->set_true_accuracy(acc);
  m->set_hacking_gap(proxy - acc);
  m->set_proxy_auc(StepAuc(ro.proxy, correct));
  m->set_steps_mean(degen.steps_mean());
  m->set_repeated_step_rate(degen.repeated_rate());
  m->set_no_answer_rate(degen.no_answer_rate());
}

namespace {

// Labels `traces` fresh samples of `policy` (Monte Carlo or truth, as the
// config says) and trains `rm` on them for `steps`; FLOPs charged to label
// and reward_train. Returns what the fit measured.
RewardModelFit FitRewardModel(Transformer& policy, Transformer& rm, const Task& task, const PrmRlConfig& cfg,
                              int traces, int steps, uint64_t seed, FlopCounter* flops, Dist* shard) {
  const RewardModelConfig& rmc = cfg.reward_model();
  RewardDataSpec ds;
  ds.label_n = rmc.label_n();
  ds.soft_targets = rmc.soft_targets();
  ds.step_labels = rmc.kind() == PRM;
  ds.truth_labels = rmc.step_labels() == TRUTH;
  ds.pairs = rmc.kind() == PREFERENCE;
  ds.segmenter = SegmenterFromConfig(rmc.segmenter());
  ds.sampling = cfg.grpo().sampling();
  ds.seed = seed;
  Rng rng(seed);
  const TrainPromptsWhere unverifiable(task, false, "prm_rl.route_by_prompt");  // what the reward model is for
  const Task& source = cfg.route_by_prompt() ? static_cast<const Task&>(unverifiable) : task;
  std::vector<Problem> problems;
  for (int i = 0; i < traces; ++i) problems.push_back(source.SampleTrain(rng));
  const double label0 = flops->Get(FlopPhase::kLabel), train0 = flops->Get(FlopPhase::kRewardTrain);
  // Data-parallel ranks share the sampling, and then each step of the
  // model's training by rows: one process's fit.
  RewardData data;
  {
    FlopPhaseScope label(flops, FlopPhase::kLabel);
    data = BuildRewardData(policy, task, problems, ds, flops, shard);
  }
  const auto& examples = rmc.kind() == PRM ? data.prm : data.orm;
  double loss = 0;
  {
    FlopPhaseScope train(flops, FlopPhase::kRewardTrain);
    loss = ds.pairs ? TrainPreferenceModel(rm, data.pairs, steps, rmc.batch_size(), rmc.optim(), rng, flops, shard)
                    : TrainRewardModel(rm, examples, steps, rmc.batch_size(), rmc.optim(), rng, flops, false, shard);
  }
  RewardModelFit f;
  f.set_examples(static_cast<int>(ds.pairs ? data.pairs.size() : examples.size()));
  f.set_final_bce(loss);
  f.set_flops_label(flops->Get(FlopPhase::kLabel) - label0);
  f.set_flops_train(flops->Get(FlopPhase::kRewardTrain) - train0);
  if (data.has_truth && rmc.kind() == PRM) {
    f.set_label_precision(data.quality.precision());
    f.set_label_recall(data.quality.recall());
    f.set_label_f1(data.quality.f1());
    f.set_label_first_error_accuracy(data.quality.first_error_accuracy());
  }
  return f;
}

// Distribution shift: the same reward model on the base's samples and on the
// final policy's, of the same held-out problems (a measurement: not charged).
RewardShift MeasureShift(Transformer& base, Transformer& policy, Transformer& rm, const PrmRlConfig& cfg,
                         const StrategyContext& ctx) {
  Dist* shard = ctx.data_parallel;  // the ranks share the sampling
  const Task& task = *ctx.task;
  const int np = std::min<int>(cfg.shift_problems(), static_cast<int>(task.TestSet().size()));
  const std::vector<Problem> problems(task.TestSet().begin(), task.TestSet().begin() + np);
  const SegmenterSpec seg = SegmenterFromConfig(cfg.reward_model().segmenter());
  const Aggregation how = AggregationFromConfig(cfg.aggregation());
  const SamplingConfig& sampling = ctx.experiment->eval().sampling();
  const uint64_t seed = SplitMix64(ctx.seed ^ 0x5b1f7ULL);
  RewardShift shift;
  *shift.mutable_base() = RewardOnSamplesOf(base, rm, cfg, seg, how, task, problems, sampling, seed, shard);
  *shift.mutable_policy() = RewardOnSamplesOf(policy, rm, cfg, seg, how, task, problems, sampling, seed, shard);
  return shift;
}

}  // namespace

void RunPrmRl(const PrmRlConfig& cfg, StrategyContext& ctx) {
  const RewardModelConfig& rmc = cfg.reward_model();
  // The base, kept for the distribution-shift measurement (ctx.policy is
  // still the base here; a resumed checkpoint loads later).
  Transformer base = MakeModel((*ctx.policy)->config(), (*ctx.policy)->vocab_size());
  CopyWeights(*ctx.policy, base);
  const bool model = rmc.kind() != STEP_TRUTH;  // STEP_TRUTH: no model to train
  Transformer rm = model ? RewardModelFrom(*ctx.policy, rmc.from_base()) : Transformer(nullptr);
  LearnedReward reward(cfg, rm, *ctx.task, ctx.flops);
  GrpoTrainer trainer(*ctx.policy, *ctx.task, cfg.grpo(), ctx.seed, ctx.flops);
  trainer.set_reward_source(&reward);
  trainer.set_data_parallel(ctx.data_parallel, "arm '" + ctx.arm->name() + "': prm_rl.grpo.prompts_per_step");

  StrategyLoop loop = trainer.Loop();
  if (model) loop.parts.push_back({"rm", &rm, nullptr});
  if (cfg.reward_model_outside_budget()) loop.budget_exempt = {FlopPhase::kLabel, FlopPhase::kRewardTrain};
  if (model) loop.init = [&]() {
    std::fprintf(stderr, "%s: labelling %d base samples and training the %s\n", ctx.label.c_str(), rmc.label_traces(),
                 rmc.kind() == PRM ? "PRM" : rmc.kind() == ORM ? "ORM" : "preference model");
    MetricsLine line;
    *line.mutable_reward_model() = FitRewardModel(*ctx.policy, rm, *ctx.task, cfg, rmc.label_traces(),
                                                  rmc.train_steps(), SplitMix64(ctx.seed ^ 0x5e7a11ULL), ctx.flops,
                                                  ctx.data_parallel);
    line.set_step(0);
    line.set_flops(ctx.flops->Total());
    if (ctx.metrics) ctx.metrics->Write(RecordToJson(line));
  };
  loop.step = [&](int64_t step, MetricsLine* m, std::string* note) {
    RewardModelFit refit;
    const bool retrain = model && cfg.retrain_every() > 0 && step > 0 && step % cfg.retrain_every() == 0;
    if (retrain)
      refit = FitRewardModel(*ctx.policy, rm, *ctx.task, cfg, cfg.retrain_traces(), cfg.retrain_steps(),
                             SplitMix64(ctx.seed ^ SplitMix64(static_cast<uint64_t>(step))), ctx.flops,
                             ctx.data_parallel);
    *m = trainer.Step(step, note);
    if (retrain) *m->mutable_reward_model_retrain() = refit;
  };
  const int64_t last = RunStrategyLoop(ctx, loop);
  // Recorded by the rank that writes; data-parallel ranks share its sampling.
  if (!ctx.metrics && !ctx.data_parallel) return;  // nowhere to record the shift measurement
  MetricsLine line;
  line.set_step(static_cast<int32_t>(last));
  line.set_flops(ctx.flops->Total());
  *line.mutable_shift() = MeasureShift(base, *ctx.policy, rm, cfg, ctx);
  if (ctx.metrics) ctx.metrics->Write(RecordToJson(line));
}

namespace {

class PrmRlStrategy : public Strategy {
 public:
  explicit PrmRlStrategy(const Arm& arm) : cfg_(arm.prm_rl()) {}
  void Train(StrategyContext& ctx) override { RunPrmRl(cfg_, ctx); }

 private:
  PrmRlConfig cfg_;
};

void CheckPrmRlArm(const Arm& a, const ExperimentConfig&, const std::string& p, const std::string& src) {
  CheckGrpoConfig(a.prm_rl().grpo(), p + ".prm_rl.grpo", src);
  const PrmRlConfig& c = a.prm_rl();
  if (c.route_by_prompt() && (c.learned_weight() != 1 || c.rule_weight() != 0 || c.dense()))
    ConfigFail(src, p + ".prm_rl.route_by_prompt",
               "routes each prompt to the rule or the reward model; learned_weight, rule_weight and dense do not "
               "apply (leave them at 1, 0 and false)");
  if (c.route_by_prompt() && c.reward_model().kind() == STEP_TRUTH)
    ConfigFail(src, p + ".prm_rl.route_by_prompt", "needs a learned reward model for the non-verifiable prompts, not STEP_TRUTH");
  if (a.prm_rl().dense() && OneScore(a.prm_rl().reward_model().kind()))
    ConfigFail(src, p + ".prm_rl.dense", "dense process rewards need step scores (an ORM or preference model has one score)");
}

void QuickPrmRl(Arm* a) {
  PrmRlConfig* p = a->mutable_prm_rl();
  p->mutable_grpo()->set_steps(QuickSteps(p->grpo().steps()));
  p->mutable_reward_model()->set_label_traces(QuickSteps(p->reward_model().label_traces()));
  p->mutable_reward_model()->set_train_steps(QuickSteps(p->reward_model().train_steps()));
}

// The RL steps; the reward model's labels and training are the fixed cost.
void ScalePrmRl(Arm* a, double f) {
  a->mutable_prm_rl()->mutable_grpo()->set_steps(ScaledSteps(a->prm_rl().grpo().steps(), f));
}

// The policy's learning rate and KL (a stronger KL slows reward hacking) and
// the reward model's label budget.
constexpr const char* kPrmRlSpace = R"(
  params { path: "prm_rl.grpo.optim.lr" values: [3e-5, 1e-4, 3e-4] }
  params { path: "prm_rl.grpo.kl_coef" values: [0.001, 0.01, 0.1] }
  params { path: "prm_rl.reward_model.label_traces" values: [200, 400, 800] }
)";

R1LAB_REGISTER_STRATEGY(Arm::kPrmRl, PrmRlStrategy, CheckPrmRlArm, QuickPrmRl, ScalePrmRl, kPrmRlSpace);

}  // namespace

}  // namespace r1lab

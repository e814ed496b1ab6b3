#include "self_search.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <deque>
#include <optional>
#include <sstream>

#include "answer.h"
#include "config.h"
#include "data_parallel.h"
#include "dist.h"
#include "error.h"
#include "json.h"
#include "records.h"
#include "loop.h"
#include "mcts.h"
#include "reward_data.h"
#include "scorer.h"
#include "optim.h"
#include "token_batch.h"
#include "tokenizer.h"

namespace r1lab {

void PretrainValueNetwork(Transformer& policy, Transformer& value, const Task& task, const ValueNetConfig& cfg,
                          const SamplingConfig& sampling, uint64_t seed, FlopCounter* flops, Dist* shard) {
  Rng rng(seed);
  std::vector<Problem> problems;
  for (int i = 0; i < cfg.pretrain_traces(); ++i) problems.push_back(task.SampleTrain(rng));
  RewardDataSpec ds;
  ds.label_n = cfg.label_n();
  ds.soft_targets = true;
  ds.segmenter = {Segmenter::kTokenChunk, "", cfg.chunk_tokens()};
  ds.sampling = sampling;
  ds.seed = seed + 1;
  RewardData data;
  {
    FlopPhaseScope label(flops, FlopPhase::kLabel);
    data = BuildRewardData(policy, task, problems, ds, flops, shard);
  }
  FlopPhaseScope train(flops, FlopPhase::kRewardTrain);
  TrainRewardModel(value, data.prm, cfg.pretrain_steps(), cfg.batch_size(), cfg.optim(), rng, flops,
                   /*head_only=*/cfg.policy_trunk(), shard);
}

std::vector<PrmExample> OutcomePrefixExamples(const std::vector<std::string>& prompts,
                                              const std::vector<std::string>& completions,
                                              const std::vector<bool>& correct, int chunk_tokens) {
  R1_CHECK(prompts.size() == completions.size() && prompts.size() == correct.size(),
           "OutcomePrefixExamples: sizes differ");
  std::vector<PrmExample> out;
  const SegmenterSpec seg{Segmenter::kTokenChunk, "", chunk_tokens};
  for (size_t i = 0; i < completions.size(); ++i) {
    PrmExample e{prompts[i], completions[i], SegmentSteps(completions[i], seg), {}};
    if (e.steps.empty()) continue;
    e.targets.assign(e.steps.size(), correct[i] ? 1.0 : 0.0);
    out.push_back(std::move(e));
  }
  return out;
}

std::vector<ValueErrorBin> ValueErrorByDepth(Transformer& policy, Transformer& value, const Task& task,
                                             const std::vector<Problem>& problems, const SamplingConfig& sampling,
                                             int chunk_tokens, uint64_t seed, Dist* shard) {
  RewardDataSpec ds;
  ds.label_n = 4;
  ds.soft_targets = true;
  ds.segmenter = {Segmenter::kTokenChunk, "", chunk_tokens};
  ds.sampling = sampling;
  ds.seed = seed;
  const RewardData data = BuildRewardData(policy, task, problems, ds, nullptr, shard);
  const auto pred = ScoreSteps(value, data.prm);
  constexpr size_t kBins = 8;
  std::vector<std::vector<std::pair<double, double>>> pairs(kBins);  // (prediction, target)
  for (size_t i = 0; i < data.prm.size(); ++i)
    for (size_t k = 0; k < pred[i].size(); ++k)
      pairs[std::min(k, kBins - 1)].emplace_back(pred[i][k], data.prm[i].targets[k]);
  std::vector<ValueErrorBin> out;
  for (size_t b = 0; b < kBins; ++b) {
    if (pairs[b].empty()) continue;
    out.push_back(ValueError(pairs[b]));
    out.back().depth = static_cast<int>(b) + 1;
  }
  return out;
}

ValueErrorBin ValueError(const std::vector<std::pair<double, double>>& pairs) {
  ValueErrorBin bin;
  bin.count = pairs.size();
  const double n = static_cast<double>(bin.count);
  for (const auto& [p, t] : pairs) {
    bin.mean_target += t / n;
    bin.mean_prediction += p / n;
  }
  for (const auto& [p, t] : pairs) {
    bin.mae += std::abs(p - t) / n;
    bin.constant_mae += std::abs(bin.mean_target - t) / n;
  }
  return bin;
}

ValueErrorBin OverallValueError(const std::vector<ValueErrorBin>& bins) {
  ValueErrorBin all;
  for (const ValueErrorBin& b : bins) all.count += b.count;
  if (all.count == 0) return all;
  for (const ValueErrorBin& b : bins) {
    const double c = static_cast<double>(b.count);
    all.mean_target += b.mean_target * c;
    all.mean_prediction += b.mean_prediction * c;
    all.mae += b.mae * c;
    all.constant_mae += b.constant_mae * c;
  }
  const double n = static_cast<double>(all.count);
  all.mean_target /= n;
  all.mean_prediction /= n;
  all.mae /= n;
  all.constant_mae /= n;
  return all;
}

std::optional<bool> SoundChain(const Task& task, const std::string& completion) {
  if (!task.LineWrong("1+1=2").has_value()) return std::nullopt;
  const size_t open = completion.find("<think>"), close = completion.find("</think>");
  if (open == std::string::npos || close == std::string::npos || close < open) return false;
  const std::string chain = completion.substr(open + 7, close - open - 7);
  int lines = 0;
  for (size_t pos = 0; pos < chain.size();) {
    size_t end = chain.find('\n', pos);
    if (end == std::string::npos) end = chain.size();
    const std::string line = chain.substr(pos, end - pos);
    pos = end + 1;
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    const std::optional<bool> wrong = task.LineWrong(line);
    if (!wrong.has_value() || *wrong) return false;
    ++lines;
  }
  return lines > 0;
}

SearchParams SearchParamsFrom(const SearchConfig& cfg, uint64_t noise_seed) {
  SearchParams p;
  p.uct = cfg.uct();
  p.c_puct = cfg.c_puct();
  p.c_uct = cfg.c_uct();
  p.max_children = cfg.max_children();
  p.first_play = cfg.first_play();
  p.first_play_relative = cfg.first_play_relative();
  p.fpu_reduction = cfg.fpu_reduction();
  p.dirichlet_alpha = cfg.dirichlet_alpha();
  p.dirichlet_fraction = cfg.dirichlet_fraction();
  p.noise_seed = noise_seed;
  return p;
}

LeafValueSource EffectiveLeafValue(const SearchConfig& cfg) {
  if (cfg.leaf_value() == MIX && cfg.mix() == 0) return VALUE_NETWORK;
  if (cfg.leaf_value() == MIX && cfg.mix() == 1) return ROLLOUT;
  return cfg.leaf_value();
}

std::unique_ptr<PolicySearchEnv> MakePolicyEnv(const SearchConfig& cfg, Transformer policy, const Task& task,
                                               std::vector<Problem> problems, Transformer value,
                                               bool verify_terminals, uint64_t seed, FlopCounter* flops) {
  PolicyEnvSpec spec;
  spec.max_new_tokens = cfg.sampling().max_new_tokens();
  spec.sampling = cfg.sampling();
  spec.seed = seed;
  const LeafValueSource leaf = EffectiveLeafValue(cfg);
  spec.leaf_value = leaf == ROLLOUT ? LeafValue::kRollout : leaf == MIX ? LeafValue::kMix : LeafValue::kValueNetwork;
  spec.mix = cfg.mix();
  spec.verify_terminals = verify_terminals;
  spec.value = value;
  spec.kv_reuse = cfg.kv_reuse();
  if (cfg.nodes() == STEP_NODES) {
    spec.width = cfg.step_samples();
    spec.step_end = cfg.step_end();
    return std::make_unique<PolicyStepEnv>(policy, task, std::move(problems), spec, flops);
  }
  spec.width = cfg.max_children();
  return std::make_unique<PolicyTokenEnv>(policy, task, std::move(problems), spec, flops);
}

JointLosses JointStep(Transformer& model, torch::optim::AdamW& opt, const TokenBatch& lines,
                      const std::vector<PrmExample>& outcomes, double joint_weight, double lr, double grad_clip,
                      FlopCounter* flops, Dist* dp) {
  FlopCounter scratch;  // the FLOPs' sum is a collective: every rank takes part, counting or not
  FlopCounter* counted = flops ? flops : &scratch;
  int64_t no_tokens = 0;
  const FlopMark mark = MarkFlops(*counted, no_tokens);
  const auto [lo, hi] = RankRows(lines.tokens.size(0), dp);
  const auto [vlo, vhi] = RankRows(static_cast<int64_t>(outcomes.size()), dp);
  const std::vector<PrmExample> my_outcomes(outcomes.begin() + vlo, outcomes.begin() + vhi);
  double value_steps = 0, my_value_steps = 0;
  for (const PrmExample& e : outcomes) value_steps += static_cast<double>(e.steps.size());
  for (const PrmExample& e : my_outcomes) my_value_steps += static_cast<double>(e.steps.size());
  SetLr(opt, lr);
  model->train();
  opt.zero_grad();
  double ce_forward = 0, value_forward = 0;
  std::vector<double> losses = {0, 0};  // this rank's shares of the two losses
  torch::Tensor loss;
  if (hi > lo) {
    const torch::Tensor l = CrossEntropyLoss(model, dp ? BatchRows(lines, lo, hi - lo) : lines, &ce_forward,
                                             dp ? lines.loss_mask.sum().item<double>() : 0);
    losses[0] = l.item<double>();
    loss = l;
  }
  if (!my_outcomes.empty()) {
    const torch::Tensor l = PrmLoss(model, my_outcomes, &value_forward) * (my_value_steps / value_steps);
    losses[1] = l.item<double>();
    loss = loss.defined() ? loss + joint_weight * l : joint_weight * l;
  }
  if (loss.defined()) loss.backward();
  if (dp) SumGradients(model->parameters(), *dp, &losses);
  if (grad_clip > 0) torch::nn::utils::clip_grad_norm_(model->parameters(), grad_clip);
  opt.step();
  counted->Add(FlopPhase::kTrain, 3 * ce_forward);
  counted->Add(FlopPhase::kRewardTrain, 3 * value_forward);
  if (dp) SumFlopsSince(mark, *dp, counted, &no_tokens);
  return {losses[0], losses[1]};
}

namespace {

bool EndsWithEos(const std::string& line) { return StripEos(line).size() != line.size(); }

}  // namespace

namespace {

// Finished lines and their verdicts: what the value network learns from.
struct Outcomes {
  std::vector<std::string> prompts, lines;
  std::vector<bool> right;
  void Add(const std::string& prompt, const std::string& line, bool ok) {
    prompts.push_back(prompt);
    lines.push_back(line);
    right.push_back(ok);
  }
};

// What one iteration's search left: the best right line found per problem
// (the fine-tuning trace), the outcome lines the value network trains on
// (value.outcomes), and the tree statistics.
struct Harvest {
  std::vector<std::string> trace_prompts, traces;
  Outcomes value_lines;
  int solved = 0, found = 0, sound = 0, judged = 0;
  double visited = 0, branching = 0, depth = 0;
};

// A played line and, at each of its tokens, the search's visit
// distribution over that position's candidate tokens.
struct VisitExample {
  std::vector<int> prompt, completion;
  std::vector<std::vector<std::pair<int, double>>> targets;  // per completion token
};

// Every rank's harvest on every rank (data-parallel ranks each search their
// own share of a step's problems): lines in rank order, counts summed.
Harvest GatherHarvest(const Harvest& mine, Dist& dp) {
  Harvest all;
  std::vector<std::pair<std::string, std::string>> traces;
  for (size_t k = 0; k < mine.traces.size(); ++k) traces.emplace_back(mine.trace_prompts[k], mine.traces[k]);
  for (auto& [prompt, trace] : AllGatherPairs(dp, traces)) {
    all.trace_prompts.push_back(std::move(prompt));
    all.traces.push_back(std::move(trace));
  }
  const Outcomes& o = mine.value_lines;
  std::vector<std::string> texts;
  for (size_t k = 0; k < o.lines.size(); ++k) {
    texts.push_back(o.prompts[k]);
    texts.push_back(o.lines[k]);
    texts.push_back(o.right[k] ? "1" : "0");
  }
  texts = AllGatherTexts(dp, texts);
  for (size_t k = 0; k + 2 < texts.size(); k += 3) all.value_lines.Add(texts[k], texts[k + 1], texts[k + 2] == "1");
  const std::vector<double> sum =
      SumOverRanks({static_cast<double>(mine.solved), static_cast<double>(mine.found), static_cast<double>(mine.sound),
                    static_cast<double>(mine.judged), mine.visited, mine.branching, mine.depth},
                   dp);
  all.solved = static_cast<int>(sum[0]);
  all.found = static_cast<int>(sum[1]);
  all.sound = static_cast<int>(sum[2]);
  all.judged = static_cast<int>(sum[3]);
  all.visited = sum[4];
  all.branching = sum[5];
  all.depth = sum[6];
  return all;
}

// A visit example as text, and back (exact: 17 significant digits), to
// gather the ranks' examples: "prompt ids;completion ids" then, per
// completion token, ";id p id p ...".
std::string EncodeVisits(const VisitExample& e) {
  std::ostringstream out;
  out.precision(17);
  for (int id : e.prompt) out << id << ' ';
  out << ';';
  for (int id : e.completion) out << id << ' ';
  for (const auto& dist : e.targets) {
    out << ';';
    for (const auto& [id, p] : dist) out << id << ' ' << p << ' ';
  }
  return out.str();
}

VisitExample DecodeVisits(const std::string& text) {
  std::vector<std::string> parts;
  for (size_t at = 0;;) {
    const size_t end = text.find(';', at);
    parts.push_back(text.substr(at, end == std::string::npos ? std::string::npos : end - at));
    if (end == std::string::npos) break;
    at = end + 1;
  }
  R1_CHECK(parts.size() >= 2, "mcts: a gathered visit example lacks its ids");
  VisitExample e;
  std::istringstream prompt(parts[0]), completion(parts[1]);
  for (int id; prompt >> id;) e.prompt.push_back(id);
  for (int id; completion >> id;) e.completion.push_back(id);
  for (size_t k = 2; k < parts.size(); ++k) {
    std::istringstream in(parts[k]);
    std::vector<std::pair<int, double>> dist;
    int id = 0;
    for (double p = 0; in >> id >> p;) dist.emplace_back(id, p);
    e.targets.push_back(std::move(dist));
  }
  R1_CHECK(e.targets.size() == e.completion.size(), "mcts: a gathered visit example's targets and tokens differ");
  return e;
}

// The arm: pretrain the value network (unless leaves are rollouts), then
// each iteration search fresh problems, fine-tune on the best right lines
// (or toward the visit counts) and train the value network on the search's
// outcomes.
// What an MCTS config cannot do, as "field: reason", or "".
std::string MctsConfigProblem(const MctsConfig& cfg) {
  if (cfg.policy_target() == VISIT_COUNTS && cfg.search().nodes() != TOKEN_NODES)
    return "policy_target: VISIT_COUNTS needs search.nodes: TOKEN_NODES (a step node's children are lines, not "
           "next tokens)";
  if (cfg.value().policy_trunk() && EffectiveLeafValue(cfg.search()) == ROLLOUT)
    return "value.policy_trunk: rollout leaves (ROLLOUT, or MIX at mix 1) use no value network, so there is no "
           "value head to put on the policy's trunk";
  if (cfg.value().joint_weight() > 0 && !cfg.value().policy_trunk())
    return "value.joint_weight: a joint loss needs the value head on the policy's trunk (value.policy_trunk: true)";
  if (cfg.value().joint_weight() > 0 && cfg.policy_target() != BEST_LINE)
    return "value.joint_weight: the joint loss adds the value's BCE to the cross-entropy on the best lines "
           "(policy_target: BEST_LINE)";
  return "";
}

// The value network: the policy's weights with a fresh PRM head, as a model
// of its own, or (value.policy_trunk) the policy itself given that head, so
// the run's policy becomes the two-headed model.
Transformer ValueModel(const MctsConfig& cfg, StrategyContext& ctx) {
  const std::string problem = MctsConfigProblem(cfg);
  if (!problem.empty()) throw ConfigError("mcts." + problem);
  if (EffectiveLeafValue(cfg.search()) == ROLLOUT) return Transformer(nullptr);
  Transformer v = RewardModelFrom(*ctx.policy, /*from_base=*/true);
  if (cfg.value().policy_trunk()) *ctx.policy = v;
  return v;
}

class SelfSearch {
 public:
  SelfSearch(const MctsConfig& cfg, StrategyContext& ctx)
      : cfg_(cfg), ctx_(ctx), task_(*ctx.task), use_value_(EffectiveLeafValue(cfg.search()) != ROLLOUT),
        joint_(use_value_ && cfg.value().joint_weight() > 0),
        value_(ValueModel(cfg, ctx)), optimizer_(MakeAdamW(*ctx.policy, cfg.optim())),
        rng_(SplitMix64(ctx.seed ^ 0x5e1f5ea7c4ULL)), dp_(ctx.data_parallel),
        problems_(dp_ ? ShardSize(cfg.problems_per_step(), dp_->world_size(),
                                  "arm '" + ctx.arm->name() + "': mcts.problems_per_step", "the data-parallel run")
                      : cfg.problems_per_step()) {}

  void Run() {
    StrategyLoop loop;
    loop.steps = cfg_.steps();
    loop.log_every = cfg_.log_every();
    loop.optimizer = &optimizer_;
    loop.rng = &rng_;
    // On the policy's trunk the value head is part of the policy's checkpoint.
    if (use_value_ && !cfg_.value().policy_trunk()) loop.parts.push_back({"value", &value_, nullptr});
    loop.tokens = &tokens_trained_;
    if (use_value_) loop.init = [&]() { PretrainValue(); };
    if (use_value_) {
      loop.save_state = [&]() { return SaveReplay(); };
      loop.restore_state = [&](const std::string& state) { RestoreReplay(state); };
    }
    loop.step = [&](int64_t step, MetricsLine* m, std::string* note) { *m = Step(step, note); };
    const int64_t last = RunStrategyLoop(ctx_, loop);
    if (use_value_) HeldoutValue(last, "end");
  }

 private:
  void PretrainValue() {
    std::fprintf(stderr, "%s: labelling %d base samples and training the value network\n", ctx_.label.c_str(),
                 cfg_.value().pretrain_traces());
    const double label0 = ctx_.flops->Get(FlopPhase::kLabel), train0 = ctx_.flops->Get(FlopPhase::kRewardTrain);
    PretrainValueNetwork(*ctx_.policy, value_, task_, cfg_.value(), cfg_.search().sampling(),
                         SplitMix64(ctx_.seed ^ 0x7a1eULL), ctx_.flops, dp_);
    if (ctx_.metrics) {
      MetricsLine line;
      line.set_step(0);
      line.set_flops(ctx_.flops->Total());
      line.mutable_value_network()->set_flops_label(ctx_.flops->Get(FlopPhase::kLabel) - label0);
      line.mutable_value_network()->set_flops_train(ctx_.flops->Get(FlopPhase::kRewardTrain) - train0);
      ctx_.metrics->Write(RecordToJson(line));
    }
    HeldoutValue(0, "start");
  }

  // The value network on held-out problems, against Monte Carlo targets of
  // the current policy's samples (a measurement, not charged).
  void HeldoutValue(int64_t step, const char* when) {
    const int np = std::min<int>(cfg_.value().heldout_problems(), static_cast<int>(task_.TestSet().size()));
    const std::vector<Problem> problems(task_.TestSet().begin(), task_.TestSet().begin() + np);
    const auto bins = ValueErrorByDepth(*ctx_.policy, value_, task_, problems, ctx_.experiment->eval().sampling(),
                                        cfg_.value().chunk_tokens(), SplitMix64(ctx_.seed ^ 0x4e1dULL), dp_);
    const ValueErrorBin all = OverallValueError(bins);  // calibration: mean prediction against mean target
    if (!ctx_.metrics) return;
    MetricsLine line;
    line.set_step(static_cast<int32_t>(step));
    line.set_flops(ctx_.flops->Total());
    ValueHeldout* v = line.mutable_value_heldout();
    v->set_when(when);
    v->set_mae(all.mae);
    v->set_mae_constant(all.constant_mae);
    v->set_mean_target(all.mean_target);
    v->set_mean_prediction(all.mean_prediction);
    for (const ValueErrorBin& b : bins) {
      v->add_mae_by_depth(b.mae);
      v->add_mae_constant_by_depth(b.constant_mae);
      v->add_mean_target_by_depth(b.mean_target);
      v->add_mean_prediction_by_depth(b.mean_prediction);
    }
    ctx_.metrics->Write(RecordToJson(line));
  }

  // Data-parallel: each rank searches its share of a step's problems, drawn
  // from its own stream; the harvests are gathered, the policy's updates on
  // them are one process's, split by rows, and so are the value network's
  // steps on the whole replay.
  MetricsLine Step(int64_t step, std::string* note) {
    const SearchConfig& sc = cfg_.search();
    const uint64_t step_seed =
        RankSeed(SplitMix64(ctx_.seed ^ SplitMix64(static_cast<uint64_t>(step) + 0x5ea7c4ULL)), dp_);
    Rng prng(step_seed);
    std::vector<Problem> problems;
    for (int i = 0; i < problems_; ++i) problems.push_back(task_.SampleTrain(prng));

    // Search every problem at once: search as play to a finished line.
    const double flops_before = ctx_.flops->Total();
    int64_t no_tokens = 0;
    const FlopMark mark = MarkFlops(*ctx_.flops, no_tokens);
    auto env = MakePolicyEnv(sc, *ctx_.policy, task_, problems, value_, /*verify_terminals=*/true, step_seed, ctx_.flops);
    std::vector<Node> roots(problems.size());
    const ForestStats fs = SearchForest(*env, roots, {sc.simulations(), sc.leaf_batch(), sc.sampling().max_new_tokens()},
                                        SearchParamsFrom(sc, step_seed));
    Harvest h = HarvestTrees(problems, fs, roots);
    // The search's speed: leaves per second of a rank's search, summed over the ranks.
    std::vector<double> speed = {static_cast<double>(fs.leaves_evaluated), fs.seconds, fs.env_seconds,
                                 static_cast<double>(fs.env_calls)};
    std::vector<VisitExample> visits;
    if (cfg_.policy_target() == VISIT_COUNTS) visits = VisitExamples(problems, fs);
    if (dp_) {
      dp_->RoundBarrier();  // a rank whose search took longer is waited for, however long
      SumFlopsSince(mark, *dp_, ctx_.flops, &no_tokens);
      h = GatherHarvest(h, *dp_);
      speed = SumOverRanks(speed, *dp_);
      if (cfg_.policy_target() == VISIT_COUNTS) {
        std::vector<std::string> texts;
        for (const VisitExample& e : visits) texts.push_back(EncodeVisits(e));
        visits.clear();
        for (const std::string& t : AllGatherTexts(*dp_, texts)) visits.push_back(DecodeVisits(t));
      }
    }
    const double search_flops = ctx_.flops->Total() - flops_before;
    const double n = static_cast<double>(cfg_.problems_per_step());

    const int chunk = cfg_.value().chunk_tokens();
    const std::vector<PrmExample> examples =
        OutcomePrefixExamples(h.value_lines.prompts, h.value_lines.lines, h.value_lines.right, chunk);
    MetricsLine m;
    if (use_value_ && !examples.empty()) *m.mutable_value() = ValueErrorOnOutcomes(examples);
    // The replay buffer: the latest replay_iterations iterations' outcome lines.
    std::vector<PrmExample> replay;
    if (use_value_) {
      replay_.push_back(h.value_lines);
      while (static_cast<int>(replay_.size()) > cfg_.value().replay_iterations()) replay_.pop_front();
      for (const Outcomes& o : replay_) {
        const auto e = OutcomePrefixExamples(o.prompts, o.lines, o.right, chunk);
        replay.insert(replay.end(), e.begin(), e.end());
      }
      double right = 0;
      for (bool r : h.value_lines.right) right += r;
      const double lines = static_cast<double>(h.value_lines.lines.size());
      m.mutable_value()->set_lines(lines);
      if (lines > 0) m.mutable_value()->set_mean_target(right / lines);
      m.mutable_value()->set_replay_lines(static_cast<double>(replay.size()));
    }

    // Fine-tune the policy on the best traces, or toward the visit counts.
    double sft_loss = 0;
    if (cfg_.policy_target() == VISIT_COUNTS) {
      if (!visits.empty()) sft_loss = VisitTargetSteps(visits, step);
    } else if (!h.traces.empty()) {
      std::vector<std::pair<std::string, std::string>> pairs;
      for (size_t k = 0; k < h.traces.size(); ++k) pairs.emplace_back(h.trace_prompts[k], h.traces[k]);
      if (joint_ && !replay.empty()) {
        sft_loss = JointSteps(pairs, replay, step, &m);
      } else {
        sft_loss = SupervisedSteps(*ctx_.policy, optimizer_, pairs, cfg_.sft_steps(), cfg_.batch_size(),
                                   cfg_.optim(), step * cfg_.sft_steps(),
                                   static_cast<int64_t>(cfg_.steps()) * cfg_.sft_steps(), rng_, ctx_.flops,
                                   &tokens_trained_, dp_);
      }
    }

    // Train the value network on the search outcomes (the joint loss did, with the policy).
    if (use_value_ && !joint_ && cfg_.value().steps_per_iteration() > 0 && !replay.empty()) {
      FlopPhaseScope scope(ctx_.flops, FlopPhase::kRewardTrain);
      const double before = ctx_.flops->Get(FlopPhase::kRewardTrain);
      const double bce =
          TrainRewardModel(value_, replay, cfg_.value().steps_per_iteration(), cfg_.value().batch_size(),
                           cfg_.value().optim(), rng_, ctx_.flops, /*head_only=*/cfg_.value().policy_trunk(), dp_);
      m.mutable_value()->set_bce(bce);
      m.mutable_value()->set_flops_train(ctx_.flops->Get(FlopPhase::kRewardTrain) - before);
    }

    char buf[96];
    std::snprintf(buf, sizeof buf, "search solved %.0f%% found %.0f%%", 100 * h.solved / n, 100 * h.found / n);
    *note = buf;
    m.set_search_solved(h.solved / n);
    m.set_search_found(h.found / n);
    m.set_traces(static_cast<double>(h.traces.size()));
    if (h.judged > 0) m.set_traces_sound(static_cast<double>(h.sound) / h.judged);
    m.set_sft_loss(sft_loss);
    m.set_search_flops(search_flops);
    m.set_nodes_visited(h.visited / n);
    m.set_branching(h.branching / n);
    m.set_max_depth(h.depth / n);
    const double leaves = speed[0], seconds = speed[1], env_seconds = speed[2], env_calls = speed[3];
    const double ranks = dp_ ? dp_->world_size() : 1;
    m.set_mean_leaf_batch(env_calls > 0 ? leaves / env_calls : 0.0);
    m.set_simulations_per_s(seconds > 0 ? leaves / (seconds / ranks) : 0.0);
    m.set_env_share(seconds > 0 ? env_seconds / seconds : 0.0);
    if (use_value_) m.mutable_value();  // present (maybe empty) whenever a value network is in use
    return m;
  }

  // AlphaZero's joint loss on the two-headed policy: each of the sft_steps
  // updates is the cross-entropy on a batch of the best lines plus
  // joint_weight x the value head's BCE on a batch of replay lines, one
  // backward through the shared trunk, one step of the policy's AdamW (which
  // holds the head too). FLOPs: the lines' forward and backward to train,
  // the value batch's to reward_train. Returns the last cross-entropy; the
  // last BCE and the value FLOPs go to m's value record. Data-parallel ranks
  // share each update (JointStep).
  double JointSteps(const std::vector<std::pair<std::string, std::string>>& pairs,
                    const std::vector<PrmExample>& replay, int64_t step, MetricsLine* m) {
    Transformer& model = *ctx_.policy;
    const int steps = cfg_.sft_steps();
    const double before = ctx_.flops->Get(FlopPhase::kRewardTrain);
    double ce = 0, bce = 0;
    for (int s = 0; s < steps; ++s) {
      std::vector<std::pair<std::string, std::string>> lines;
      for (int b = 0; b < cfg_.batch_size(); ++b)
        lines.push_back(pairs[static_cast<size_t>(rng_.Int(0, static_cast<int64_t>(pairs.size()) - 1))]);
      std::vector<PrmExample> outcomes;
      for (int b = 0; b < cfg_.value().batch_size(); ++b)
        outcomes.push_back(replay[static_cast<size_t>(rng_.Int(0, static_cast<int64_t>(replay.size()) - 1))]);
      const TokenBatch batch = MakeTokenBatch(lines, model->tokenizer(), model->config().max_seq_len());
      const double lr = ScheduledLr(cfg_.optim(), step * steps + s, static_cast<int64_t>(cfg_.steps()) * steps);
      const JointLosses losses = JointStep(model, optimizer_, batch, outcomes, cfg_.value().joint_weight(), lr,
                                           cfg_.optim().grad_clip(), ctx_.flops, dp_);
      for (int64_t len : batch.lengths) tokens_trained_ += len;
      ce = losses.ce;
      bce = losses.bce;
    }
    m->mutable_value()->set_bce(bce);
    m->mutable_value()->set_flops_train(ctx_.flops->Get(FlopPhase::kRewardTrain) - before);
    return ce;
  }

  // Per problem: the played line's outcome, and the best right line (the
  // played one if right and finished, else the most-visited right finished
  // line in the tree) as the fine-tuning trace.
  Harvest HarvestTrees(const std::vector<Problem>& problems, const ForestStats& fs, const std::vector<Node>& roots) {
    Harvest h;
    for (size_t i = 0; i < problems.size(); ++i) {
      const std::string& played = fs.trees[i].best;
      const bool ok = task_.Verify(played, problems[i]).correct;
      ctx_.flops->AddOracleCalls(1);
      if (use_value_ && cfg_.value().outcomes() == PLAYED_LINES) h.value_lines.Add(problems[i].prompt, played, ok);
      h.solved += ok;
      if (use_value_ && cfg_.value().outcomes() == VISITED_TERMINALS)
        for (const Node* t : VisitedTerminals(roots[i])) {
          // Its value is the verifier's verdict, the same at every visit
          // (the search verifies finished lines).
          const double v = t->value_sum.load() / std::max(1, t->visits.load());
          h.value_lines.Add(problems[i].prompt, TextOf(t), v >= 0.5);
        }
      const Node* best = nullptr;
      std::string best_text = ok && EndsWithEos(played) ? played : "";
      if (best_text.empty())
        for (const Node* t : VisitedTerminals(roots[i])) {
          const std::string text = TextOf(t);
          if (!EndsWithEos(text)) continue;
          ctx_.flops->AddOracleCalls(1);
          if (task_.Verify(text, problems[i]).correct && (!best || t->visits.load() > best->visits.load())) {
            best = t;
            best_text = text;
          }
        }
      if (!best_text.empty()) {
        ++h.found;
        h.trace_prompts.push_back(problems[i].prompt);
        h.traces.push_back(StripEos(best_text));
        if (const std::optional<bool> ok_chain = SoundChain(task_, h.traces.back())) {
          ++h.judged;
          h.sound += *ok_chain;
        }
      }
      const TreeShape shape = ShapeOf(roots[i]);
      h.visited += shape.visited;
      h.branching += shape.branching;
      h.depth += shape.max_depth;
    }
    return h;
  }

  // The value network against the realised outcomes, before it trains on
  // them, next to the best constant on the same targets (their mean): a
  // network that cannot beat it carries no information about which line will
  // succeed. A measurement: not charged.
  ValueOnOutcomes ValueErrorOnOutcomes(const std::vector<PrmExample>& examples) {
    const auto pred = ScoreSteps(value_, examples);
    std::vector<std::pair<double, double>> pairs;
    double first = 0, last = 0;
    for (size_t e = 0; e < examples.size(); ++e) {
      for (size_t k = 0; k < pred[e].size(); ++k) pairs.emplace_back(pred[e][k], examples[e].targets[k]);
      first += std::abs(pred[e].front() - examples[e].targets.front());
      last += std::abs(pred[e].back() - examples[e].targets.back());
    }
    const ValueErrorBin err = ValueError(pairs);
    const double m = static_cast<double>(examples.size());
    ValueOnOutcomes v;
    v.set_mae(err.mae);
    v.set_mae_constant(err.constant_mae);
    v.set_mae_first(first / m);
    v.set_mae_last(last / m);
    return v;
  }

  // Each played line's tokens with the visit distribution of the move that
  // chose each one (a line that ended at the depth cap included).
  std::vector<VisitExample> VisitExamples(const std::vector<Problem>& problems, const ForestStats& fs) const {
    const Tokenizer& tok = (*ctx_.policy)->tokenizer();
    std::vector<VisitExample> out;
    for (size_t i = 0; i < problems.size(); ++i) {
      const SearchStats& s = fs.trees[i];
      if (s.move_visits.empty()) continue;
      VisitExample e;
      e.prompt = tok.EncodePrompt(problems[i].prompt);
      e.completion = s.best_ids;
      R1_CHECK(e.completion.size() == s.move_visits.size(), "mcts: a token node's move is one token");
      for (size_t m = 0; m < s.move_visits.size(); ++m) {
        const auto& move = s.move_visits[m];
        double total = 0;
        for (const auto& [text, n] : move) total += n;
        std::vector<std::pair<int, double>> dist;
        for (size_t c = 0; c < move.size(); ++c) {
          const std::vector<int>& id = s.move_ids[m][c];
          R1_CHECK(id.size() == 1, "mcts: a token node's child is one token");
          if (move[c].second > 0) dist.emplace_back(id[0], move[c].second / total);
        }
        e.targets.push_back(std::move(dist));
      }
      out.push_back(std::move(e));
    }
    return out;
  }

  // sft_steps steps of cross-entropy against the visit distributions, on
  // batch_size examples drawn with replacement. Returns the last loss.
  double VisitTargetSteps(const std::vector<VisitExample>& examples, int64_t step) {
    const int vocab = (*ctx_.policy)->vocab_size();
    double loss = 0;
    for (int s = 0; s < cfg_.sft_steps(); ++s) {
      std::vector<const VisitExample*> batch;
      for (int b = 0; b < cfg_.batch_size(); ++b)
        batch.push_back(&examples[static_cast<size_t>(rng_.Int(0, static_cast<int64_t>(examples.size()) - 1))]);
      std::vector<std::vector<int>> prompts, completions;
      for (const VisitExample* e : batch) {
        prompts.push_back(e->prompt);
        completions.push_back(e->completion);
      }
      TokenBatch tb = BatchFromIds(prompts, completions);
      tb.targets = torch::zeros({tb.tokens.size(0), tb.tokens.size(1) - 1, vocab}, torch::kFloat);
      auto ta = tb.targets.accessor<float, 3>();
      for (size_t b = 0; b < batch.size(); ++b) {
        const int64_t first = static_cast<int64_t>(batch[b]->prompt.size()) - 1;  // predicts completion[0]
        for (size_t k = 0; k < batch[b]->targets.size(); ++k)
          for (const auto& [id, p] : batch[b]->targets[k])
            ta[static_cast<int64_t>(b)][first + static_cast<int64_t>(k)][id] = static_cast<float>(p);
      }
      const int64_t total = static_cast<int64_t>(cfg_.steps()) * cfg_.sft_steps();
      const double lr = ScheduledLr(cfg_.optim(), step * cfg_.sft_steps() + s, total);
      loss = SharedCrossEntropyStep(*ctx_.policy, optimizer_, tb, lr, cfg_.optim().grad_clip(), ctx_.flops, dp_);
      for (int64_t len : tb.lengths) tokens_trained_ += len;
    }
    return loss;
  }

  // The replay buffer as checkpoint state: one JSON object per iteration.
  std::string SaveReplay() const {
    std::string out = "[";
    for (const Outcomes& o : replay_) {
      std::string prompts, lines, right;
      for (size_t k = 0; k < o.lines.size(); ++k) {
        const char* sep = k ? "," : "";
        prompts += sep + JsonEscape(o.prompts[k]);
        lines += sep + JsonEscape(o.lines[k]);
        right += std::string(sep) + (o.right[k] ? "1" : "0");
      }
      out += std::string(out.size() > 1 ? "," : "") + "{\"prompts\":[" + prompts + "],\"lines\":[" + lines +
             "],\"right\":[" + right + "]}";
    }
    return out + "]";
  }

  void RestoreReplay(const std::string& state) {
    replay_.clear();
    if (state.empty()) return;  // a checkpoint from before the replay buffer
    const JsonValue parsed = JsonValue::Parse(state);
    for (const JsonValue& it : parsed.array()) {
      Outcomes o;
      const auto& prompts = it.at("prompts").array();
      const auto& lines = it.at("lines").array();
      const auto& right = it.at("right").array();
      if (prompts.size() != lines.size() || lines.size() != right.size())
        throw IoError("checkpoint: the MCTS replay buffer's lists differ in length");
      for (size_t k = 0; k < lines.size(); ++k) o.Add(prompts[k].string(), lines[k].string(), right[k].number() != 0);
      replay_.push_back(std::move(o));
    }
  }

  const MctsConfig cfg_;
  StrategyContext& ctx_;
  const Task& task_;
  const bool use_value_;
  const bool joint_;  // value.joint_weight > 0: the value trains in the policy's own updates
  Transformer value_;
  torch::optim::AdamW optimizer_;
  Rng rng_;
  Dist* const dp_;     // the ranks sharing this run (null: one process)
  const int problems_;  // this rank's problems per step
  int64_t tokens_trained_ = 0;
  std::deque<Outcomes> replay_;  // oldest first
};

class MctsStrategy : public Strategy {
 public:
  explicit MctsStrategy(const Arm& arm) : cfg_(arm.mcts()) {}
  void Train(StrategyContext& ctx) override { SelfSearch(cfg_, ctx).Run(); }

 private:
  MctsConfig cfg_;
};

void QuickMcts(Arm* a) {
  MctsConfig* m = a->mutable_mcts();
  m->set_steps(QuickSteps(m->steps()));
  m->mutable_value()->set_pretrain_traces(QuickSteps(m->value().pretrain_traces()));
  m->mutable_value()->set_pretrain_steps(QuickSteps(m->value().pretrain_steps()));
}

void CheckMctsArm(const Arm& a, const ExperimentConfig& e, const std::string& p, const std::string& src) {
  const std::string problem = MctsConfigProblem(a.mcts());
  if (!problem.empty()) {
    const size_t colon = problem.find(':');
    ConfigFail(src, p + ".mcts." + problem.substr(0, colon), problem.substr(colon + 2));
  }
}

// The search-and-train iterations; the value network's pretraining is the fixed cost.
void ScaleMcts(Arm* a, double f) { a->mutable_mcts()->set_steps(ScaledSteps(a->mcts().steps(), f)); }

// Simulations per move, the exploration constant and the policy's learning
// rate. The rates: in the 14 committed tunings of the earlier grid (1e-4,
// 3e-4, 1e-3) every arm chose 3.3e-5 (an edge trial below it) or 1e-4, and
// 3e-4 and 1e-3 collapsed (4-36% and under 5% on validation; DECISIONS.md).
constexpr const char* kMctsSpace = R"(
  params { path: "mcts.search.simulations" values: [8, 16, 32] }
  params { path: "mcts.search.c_puct" values: [0.5, 1.5, 4] }
  params { path: "mcts.optim.lr" values: [1e-5, 3e-5, 1e-4] }
)";

R1LAB_REGISTER_STRATEGY(Arm::kMcts, MctsStrategy, CheckMctsArm, QuickMcts, ScaleMcts, kMctsSpace);

}  // namespace

}  // namespace r1lab

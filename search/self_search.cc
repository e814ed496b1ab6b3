#include "self_search.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <optional>

#include "answer.h"
#include "error.h"
#include "json.h"
#include "loop.h"
#include "mcts.h"
#include "reward_data.h"
#include "optim.h"
#include "token_batch.h"

namespace r1lab {

void PretrainValueNetwork(Transformer& policy, Transformer& value, const Task& task, const ValueNetConfig& cfg,
                          const SamplingConfig& sampling, uint64_t seed, FlopCounter* label, FlopCounter* train) {
  Rng rng(seed);
  std::vector<Problem> problems;
  for (int i = 0; i < cfg.pretrain_traces(); ++i) problems.push_back(task.SampleTrain(rng));
  RewardDataSpec ds;
  ds.label_n = cfg.label_n();
  ds.soft_targets = true;
  ds.segmenter = {Segmenter::kTokenChunk, "", cfg.chunk_tokens()};
  ds.sampling = sampling;
  ds.seed = seed + 1;
  const RewardData data = BuildRewardData(policy, task, problems, ds, label);
  TrainRewardModel(value, data.prm, cfg.pretrain_steps(), cfg.batch_size(), cfg.optim(), rng, train);
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
                                             int chunk_tokens, uint64_t seed) {
  RewardDataSpec ds;
  ds.label_n = 4;
  ds.soft_targets = true;
  ds.segmenter = {Segmenter::kTokenChunk, "", chunk_tokens};
  ds.sampling = sampling;
  ds.seed = seed;
  const RewardData data = BuildRewardData(policy, task, problems, ds, nullptr);
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
  p.dirichlet_alpha = cfg.dirichlet_alpha();
  p.dirichlet_fraction = cfg.dirichlet_fraction();
  p.noise_seed = noise_seed;
  return p;
}

std::unique_ptr<PolicySearchEnv> MakePolicyEnv(const SearchConfig& cfg, Transformer policy, const Task& task,
                                               std::vector<Problem> problems, Transformer value,
                                               bool verify_terminals, uint64_t seed, FlopCounter* flops) {
  PolicyEnvSpec spec;
  spec.max_new_tokens = cfg.sampling().max_new_tokens();
  spec.sampling = cfg.sampling();
  spec.seed = seed;
  spec.leaf_value = cfg.leaf_value() == ROLLOUT ? LeafValue::kRollout
                    : cfg.leaf_value() == MIX   ? LeafValue::kMix
                                                : LeafValue::kValueNetwork;
  spec.mix = cfg.mix();
  spec.verify_terminals = verify_terminals;
  spec.value = value;
  if (cfg.nodes() == STEP_NODES) {
    spec.width = cfg.step_samples();
    spec.step_end = cfg.step_end();
    return std::make_unique<PolicyStepEnv>(policy, task, std::move(problems), spec, flops);
  }
  spec.width = cfg.max_children();
  return std::make_unique<PolicyTokenEnv>(policy, task, std::move(problems), spec, flops);
}

namespace {

bool EndsWithEos(const std::string& line) { return StripEos(line).size() != line.size(); }

}  // namespace

void RunSelfSearch(const MctsConfig& cfg, StrategyContext& ctx) {
  const Task& task = *ctx.task;
  const SearchConfig& sc = cfg.search();
  const bool use_value = sc.leaf_value() != ROLLOUT;
  const int chunk = cfg.value().chunk_tokens();
  Transformer value = use_value ? RewardModelFrom(*ctx.policy, true) : Transformer(nullptr);
  torch::optim::AdamW optimizer = MakeAdamW(*ctx.policy, cfg.optim());
  Rng rng(SplitMix64(ctx.seed ^ 0x5e1f5ea7c4ULL));
  int64_t tokens_trained = 0;

  // The value network on held-out problems, against Monte Carlo targets of
  // the current policy's samples (a measurement, not charged).
  auto heldout = [&](int64_t step, const char* when) {
    const int np = std::min<int>(cfg.value().heldout_problems(), static_cast<int>(task.TestSet().size()));
    const std::vector<Problem> problems(task.TestSet().begin(), task.TestSet().begin() + np);
    const auto bins = ValueErrorByDepth(*ctx.policy, value, task, problems, ctx.experiment->eval().sampling(), chunk,
                                        SplitMix64(ctx.seed ^ 0x4e1dULL));
    const ValueErrorBin all = OverallValueError(bins);  // calibration: mean prediction against mean target
    std::vector<double> by_depth, by_depth_constant, target, prediction;
    for (const ValueErrorBin& b : bins) {
      by_depth.push_back(b.mae);
      by_depth_constant.push_back(b.constant_mae);
      target.push_back(b.mean_target);
      prediction.push_back(b.mean_prediction);
    }
    if (ctx.metrics)
      ctx.metrics->Write(Json()
                             .Add("step", step)
                             .Add("flops", ctx.flops->Total())
                             .Add("value_heldout", Json()
                                                       .Add("when", when)
                                                       .Add("mae", all.mae)
                                                       .Add("mae_constant", all.constant_mae)
                                                       .Add("mean_target", all.mean_target)
                                                       .Add("mean_prediction", all.mean_prediction)
                                                       .Add("mae_by_depth", by_depth)
                                                       .Add("mae_constant_by_depth", by_depth_constant)
                                                       .Add("mean_target_by_depth", target)
                                                       .Add("mean_prediction_by_depth", prediction))
                             .str());
  };

  StrategyLoop loop;
  loop.steps = cfg.steps();
  loop.log_every = cfg.log_every();
  loop.optimizer = &optimizer;
  loop.rng = &rng;
  if (use_value) loop.aux.push_back({".value", &value, nullptr});
  loop.tokens = &tokens_trained;
  if (use_value)
    loop.init = [&]() {
      std::fprintf(stderr, "%s: labelling %d base samples and training the value network\n", ctx.label.c_str(),
                   cfg.value().pretrain_traces());
      FlopCounter label, train;
      PretrainValueNetwork(*ctx.policy, value, task, cfg.value(), sc.sampling(), SplitMix64(ctx.seed ^ 0x7a1eULL),
                           &label, &train);
      ctx.flops->Add(FlopPhase::kLabel, label.Total());
      ctx.flops->Add(FlopPhase::kRewardTrain, train.Total());
      if (ctx.metrics)
        ctx.metrics->Write(Json()
                               .Add("step", 0)
                               .Add("flops", ctx.flops->Total())
                               .Add("value_network", Json().Add("flops_label", label.Total()).Add("flops_train", train.Total()))
                               .str());
      heldout(0, "start");
    };
  loop.step = [&](int64_t step, std::string* note) {
    const uint64_t step_seed = SplitMix64(ctx.seed ^ SplitMix64(static_cast<uint64_t>(step) + 0x5ea7c4ULL));
    Rng prng(step_seed);
    std::vector<Problem> problems;
    for (int i = 0; i < cfg.problems_per_step(); ++i) problems.push_back(task.SampleTrain(prng));

    // Search every problem at once: search as play to a finished line.
    const double flops_before = ctx.flops->Total();
    auto env = MakePolicyEnv(sc, *ctx.policy, task, problems, value, /*verify_terminals=*/true, step_seed, ctx.flops);
    std::vector<Node> roots(problems.size());
    const ForestStats fs = SearchForest(*env, roots, {sc.simulations(), sc.leaf_batch(), sc.sampling().max_new_tokens()},
                                        SearchParamsFrom(sc, step_seed));
    const double search_flops = ctx.flops->Total() - flops_before;

    // Outcomes and the best trace per problem.
    std::vector<std::string> prompts, lines, trace_prompts, traces;
    std::vector<bool> outcomes;
    int solved = 0, found = 0, sound = 0, judged = 0;
    double visited = 0, branching = 0, depth = 0;
    for (size_t i = 0; i < problems.size(); ++i) {
      const std::string& played = fs.trees[i].best;
      const bool ok = task.Verify(played, problems[i]).correct;
      prompts.push_back(problems[i].prompt);
      lines.push_back(played);
      outcomes.push_back(ok);
      solved += ok;
      const Node* best = nullptr;
      std::string best_text = ok && EndsWithEos(played) ? played : "";
      if (best_text.empty())
        for (const Node* t : VisitedTerminals(roots[i])) {
          const std::string text = TextOf(t);
          if (EndsWithEos(text) && task.Verify(text, problems[i]).correct &&
              (!best || t->visits.load() > best->visits.load())) {
            best = t;
            best_text = text;
          }
        }
      if (!best_text.empty()) {
        ++found;
        trace_prompts.push_back(problems[i].prompt);
        traces.push_back(StripEos(best_text));
        if (const std::optional<bool> ok_chain = SoundChain(task, traces.back())) {
          ++judged;
          sound += *ok_chain;
        }
      }
      const TreeShape shape = ShapeOf(roots[i]);
      visited += shape.visited;
      branching += shape.branching;
      depth += shape.max_depth;
    }
    const double n = static_cast<double>(problems.size());

    // The value network against the realised outcomes, before it trains on them.
    const std::vector<PrmExample> examples = OutcomePrefixExamples(prompts, lines, outcomes, chunk);
    Json value_json;
    if (use_value && !examples.empty()) {
      const auto pred = ScoreSteps(value, examples);  // a measurement: not charged
      std::vector<std::pair<double, double>> pairs;
      double first = 0, last = 0;
      for (size_t e = 0; e < examples.size(); ++e) {
        for (size_t k = 0; k < pred[e].size(); ++k) pairs.emplace_back(pred[e][k], examples[e].targets[k]);
        first += std::abs(pred[e].front() - examples[e].targets.front());
        last += std::abs(pred[e].back() - examples[e].targets.back());
      }
      // Against the best constant on the same targets (their mean): a network
      // that cannot beat it carries no information about which line will succeed.
      const ValueErrorBin err = ValueError(pairs);
      const double m = static_cast<double>(examples.size());
      value_json.Add("mae", err.mae).Add("mae_constant", err.constant_mae).Add("mae_first", first / m).Add("mae_last", last / m);
    }

    // Fine-tune the policy on the best traces.
    double sft_loss = 0;
    FlopCounter train_flops;
    if (!traces.empty())
      for (int s = 0; s < cfg.sft_steps(); ++s) {
        std::vector<std::pair<std::string, std::string>> pc;
        for (int b = 0; b < cfg.batch_size(); ++b) {
          const size_t k = static_cast<size_t>(rng.Int(0, static_cast<int64_t>(traces.size()) - 1));
          pc.emplace_back(trace_prompts[k], traces[k]);
        }
        const TokenBatch batch = MakeTokenBatch(pc, (*ctx.policy)->config().max_seq_len());
        const int64_t total = static_cast<int64_t>(cfg.steps()) * cfg.sft_steps();
        const double lr = ScheduledLr(cfg.optim(), step * cfg.sft_steps() + s, total);
        sft_loss = CrossEntropyStep(*ctx.policy, optimizer, batch, lr, cfg.optim().grad_clip(), &train_flops);
        for (int64_t len : batch.lengths) tokens_trained += len;
      }
    ctx.flops->Add(FlopPhase::kTrain, train_flops.Total());

    // Train the value network on the search outcomes.
    if (use_value && cfg.value().steps_per_iteration() > 0 && !examples.empty()) {
      FlopCounter vflops;
      const double bce =
          TrainRewardModel(value, examples, cfg.value().steps_per_iteration(), cfg.value().batch_size(), cfg.value().optim(), rng, &vflops);
      ctx.flops->Add(FlopPhase::kRewardTrain, vflops.Total());
      value_json.Add("bce", bce).Add("flops_train", vflops.Total());
    }

    char buf[96];
    std::snprintf(buf, sizeof buf, "search solved %.0f%% found %.0f%%", 100 * solved / n, 100 * found / n);
    *note = buf;
    Json j;
    j.Add("search_solved", solved / n)
        .Add("search_found", found / n)
        .Add("traces", static_cast<int>(traces.size()))
        .Add("traces_sound", judged > 0 ? static_cast<double>(sound) / judged : NAN)
        .Add("sft_loss", sft_loss)
        .Add("search_flops", search_flops)
        .Add("nodes_visited", visited / n)
        .Add("branching", branching / n)
        .Add("max_depth", depth / n)
        .Add("mean_leaf_batch", fs.mean_leaf_batch)
        .Add("simulations_per_s", fs.seconds > 0 ? static_cast<double>(fs.leaves_evaluated) / fs.seconds : 0.0)
        .Add("env_share", fs.seconds > 0 ? fs.env_seconds / fs.seconds : 0.0);
    if (use_value) j.Add("value", value_json);
    return j.members();
  };
  const int64_t last = RunStrategyLoop(ctx, loop);
  if (use_value) heldout(last, "end");
}

namespace {

class MctsStrategy : public Strategy {
 public:
  explicit MctsStrategy(const Arm& arm) : cfg_(arm.mcts()) {}
  void Train(StrategyContext& ctx) override { RunSelfSearch(cfg_, ctx); }

 private:
  MctsConfig cfg_;
};

void QuickMcts(Arm* a) {
  MctsConfig* m = a->mutable_mcts();
  m->set_steps(QuickSteps(m->steps()));
  m->mutable_value()->set_pretrain_traces(QuickSteps(m->value().pretrain_traces()));
  m->mutable_value()->set_pretrain_steps(QuickSteps(m->value().pretrain_steps()));
}

R1LAB_REGISTER_STRATEGY(Arm::kMcts, MctsStrategy, nullptr, QuickMcts);

}  // namespace

}  // namespace r1lab

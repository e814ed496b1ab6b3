#include "reward_data.h"

#include "error.h"
#include "mc_labels.h"
#include "completer.h"

namespace r1lab {

SegmenterSpec SegmenterFromConfig(const SegmenterConfig& c) {
  SegmenterSpec s;
  switch (c.kind()) {
    case LINE: s.kind = Segmenter::kLine; break;
    case TAG: s.kind = Segmenter::kTag; break;
    case TOKEN_CHUNK: s.kind = Segmenter::kTokenChunk; break;
    case PUNCTUATION: s.kind = Segmenter::kPunctuation; break;
  }
  s.tag = c.tag();
  s.chunk_tokens = c.chunk_tokens();
  if (s.kind == Segmenter::kTag && s.tag.empty()) throw ConfigError("segmenter.tag: empty; a TAG segmenter needs one");
  return s;
}

Aggregation AggregationFromConfig(StepAggregation a) {
  switch (a) {
    case MIN: return Aggregation::kMin;
    case LAST: return Aggregation::kLast;
    case PRODUCT: return Aggregation::kProduct;
    case MEAN: return Aggregation::kMean;
  }
  throw ConfigError("aggregation: unknown value " + std::to_string(static_cast<int>(a)));
}

RewardData BuildRewardData(Transformer& policy, const Task& task, const std::vector<Problem>& problems,
                           const RewardDataSpec& spec, FlopCounter* flops, Dist* shard) {
  RewardData out;
  out.has_truth = task.LineWrong("1+1=2").has_value();
  if (spec.pairs) {
    const Samples two = SampleCompletions(policy, problems, 2, spec.sampling, spec.seed, flops, shard);
    for (size_t i = 0; i + 1 < two.completions.size(); i += 2) {
      const Problem& p = *two.problems[i];
      const std::string &a = two.completions[i], &b = two.completions[i + 1];
      if (a.empty() || b.empty()) continue;
      const double qa = task.Quality(a, p), qb = task.Quality(b, p);
      if (qa == qb) continue;  // no preference to learn
      const bool a_better = qa > qb;
      out.pairs.push_back({OutcomeExample(p.prompt, a_better ? a : b, true), OutcomeExample(p.prompt, a_better ? b : a, false)});
    }
    if (flops) flops->AddOracleCalls(static_cast<int64_t>(two.completions.size()));  // each response judged once
    if (out.pairs.empty()) throw InputError("reward model: every sampled pair was a tie; no preference to learn");
    return out;
  }
  const Samples samples = SampleCompletions(policy, problems, 1, spec.sampling, spec.seed, flops, shard);
  std::vector<LabelJob> jobs;
  for (size_t i = 0; i < samples.completions.size(); ++i) {
    const std::string& c = samples.completions[i];
    if (c.empty()) continue;  // a decoded completion holds at least its stop token; never expected
    out.orm.push_back(OutcomeExample(samples.problems[i]->prompt, c, task.Verify(c, *samples.problems[i]).correct));
    jobs.push_back({samples.problems[i], c, SegmentSteps(c, spec.segmenter)});
  }
  // The outcome of every sampled completion (the ORM's label, and a Monte
  // Carlo PRM's label of the answer step) is one oracle call.
  if (flops) flops->AddOracleCalls(static_cast<int64_t>(out.orm.size()));
  if (!spec.step_labels) return out;
  if (spec.truth_labels && !out.has_truth)
    throw ConfigError("reward_model.step_labels: TRUTH needs a task with per-step ground truth (arith); task '" +
                      task.name() + "' has none");
  const auto labels =
      spec.truth_labels
          ? std::vector<std::vector<StepLabel>>(jobs.size())
          : MonteCarloLabels(task, jobs, ModelCompleter(policy, spec.sampling, spec.seed + 1, flops, shard), spec.label_n);
  for (size_t j = 0; j < jobs.size(); ++j) {
    if (jobs[j].steps.empty()) continue;
    PrmExample e{jobs[j].problem->prompt, jobs[j].completion, jobs[j].steps, {}};
    std::vector<bool> truth;
    if (out.has_truth)
      truth = SegmentTruth(jobs[j].completion, jobs[j].steps, [&task](const std::string& l) { return task.LineWrong(l); });
    std::vector<bool> predicted_wrong;
    if (spec.truth_labels) {
      for (bool w : truth) e.targets.push_back(w ? 0.0 : 1.0);
      predicted_wrong = truth;
    } else {
      for (const StepLabel& l : labels[j]) {
        e.targets.push_back(spec.soft_targets ? l.soft : (l.hard ? 1.0 : 0.0));
        predicted_wrong.push_back(!l.hard);
      }
    }
    if (out.has_truth) out.quality.Add(predicted_wrong, truth);
    out.prm.push_back(std::move(e));
  }
  if (out.prm.empty()) throw InputError("reward model: none of the sampled completions has a step to label");
  if (flops) {  // each step before the answer: n verified completions (Monte Carlo) or one exact judgement
    int64_t calls = 0;
    for (const LabelJob& job : jobs)
      if (!job.steps.empty())
        calls += static_cast<int64_t>(job.steps.size() - 1) * (spec.truth_labels ? 1 : spec.label_n);
    flops->AddOracleCalls(calls);
  }
  return out;
}

Transformer RewardModelFrom(Transformer& base, bool from_base) {
  ModelConfig mc = base->config();
  mc.set_prm_head(true);
  mc.set_value_head(false);
  Transformer m = MakeModel(mc, base->vocab_size());
  if (from_base) CopyWeights(base, m, /*strict=*/false);  // the trunk; the new head starts fresh
  return m;
}

namespace {

// `steps` trainer steps on batches drawn with replacement from `data`.
template <typename Example>
double TrainOnDraws(PrmTrainer& trainer, const std::vector<Example>& data, int steps, int batch_size, Rng& rng,
                    FlopCounter* flops) {
  double loss = 0;
  for (int step = 0; step < steps; ++step) {
    std::vector<Example> batch;
    for (int i = 0; i < batch_size; ++i)
      batch.push_back(data[static_cast<size_t>(rng.Int(0, static_cast<long long>(data.size()) - 1))]);
    loss = trainer.Step(batch, flops);
  }
  return loss;
}

}  // namespace

double TrainRewardModel(Transformer& model, const std::vector<PrmExample>& data, int steps, int batch_size,
                        const OptimConfig& optim, Rng& rng, FlopCounter* flops, bool head_only, Dist* dp) {
  if (data.empty()) throw InputError("reward model: no training examples");
  PrmTrainer trainer(model, optim, steps, head_only);
  trainer.set_data_parallel(dp);
  return TrainOnDraws(trainer, data, steps, batch_size, rng, flops);
}

double TrainPreferenceModel(Transformer& model, const std::vector<PreferencePair>& data, int steps, int batch_size,
                            const OptimConfig& optim, Rng& rng, FlopCounter* flops, Dist* dp) {
  if (data.empty()) throw InputError("preference model: no training pairs");
  PrmTrainer trainer(model, optim, steps);
  trainer.set_data_parallel(dp);
  return TrainOnDraws(trainer, data, steps, batch_size, rng, flops);
}

}  // namespace r1lab

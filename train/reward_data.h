// Building a learned reward model: its training data (the policy's own
// samples, labelled by Monte Carlo for a PRM or by the verifier for an ORM),
// the model (the PRM head on the base's trunk or on random weights), and its
// training. Shared by `r1lab prm-study` and the PRM-RL arm.
#pragma once

#include <vector>

#include "flops.h"
#include "scorer.h"
#include "r1lab.pb.h"
#include "rng.h"
#include "steps.h"
#include "task.h"
#include "transformer.h"

namespace r1lab {

class Dist;

SegmenterSpec SegmenterFromConfig(const SegmenterConfig& c);
Aggregation AggregationFromConfig(StepAggregation a);

struct RewardData {
  std::vector<PrmExample> prm;  // Monte Carlo step targets (empty unless asked for)
  std::vector<PrmExample> orm;  // outcome targets
  // Two completions per problem, the better by Task::Quality chosen (ties
  // dropped); only when asked for (spec.pairs).
  std::vector<PreferencePair> pairs;
  // Hard Monte Carlo labels against the per-step truth, where the task has it.
  LabelQuality quality;
  bool has_truth = false;
};

struct RewardDataSpec {
  int label_n = 8;
  bool soft_targets = false;
  bool step_labels = true;  // false: outcome labels only (an ORM needs no Monte Carlo)
  bool truth_labels = false;  // step targets from the task's per-step truth instead of Monte Carlo
  bool pairs = false;  // preference pairs instead (two samples per problem; no step or outcome labels)
  SegmenterSpec segmenter;
  SamplingConfig sampling;
  uint64_t seed = 1;
};

// One completion per problem from `policy`, then labels (with spec.pairs:
// two per problem, labelled by which Task::Quality prefers). ConfigError if
// truth labels are asked of a task without per-step truth. Sampling and
// labelling FLOPs go to `flops` (phase kGenerate of that counter), and so do
// the oracle calls the labels took (core/flops.h). With `shard` (every rank
// of it calls, with the same policy, problems and spec) the ranks share the
// sampling (completer.h GenerateTexts), and each gets one process's data and
// counts.
RewardData BuildRewardData(Transformer& policy, const Task& task, const std::vector<Problem>& problems,
                           const RewardDataSpec& spec, FlopCounter* flops, Dist* shard = nullptr);

// A model with the PRM head: the base's trunk and a fresh head (from_base),
// or all fresh weights (seeded by model.init_seed).
Transformer RewardModelFrom(Transformer& base, bool from_base);

// `steps` AdamW steps on batches drawn with replacement from `data`, the
// learning rate following `optim` over those steps. Returns the last batch's
// BCE. FLOPs go to `flops` (phase kTrain of that counter).
// head_only: PrmTrainer's (the rest of the model is frozen). With `dp`
// (every rank with the same data and `rng`) each step is one process's step
// on the same batch, split by rows (PrmTrainer::set_data_parallel); `flops`
// gets the whole batches' counts on every rank.
// The same on preference pairs (Bradley-Terry); returns the last batch's loss.
double TrainPreferenceModel(Transformer& model, const std::vector<PreferencePair>& data, int steps, int batch_size,
                            const OptimConfig& optim, Rng& rng, FlopCounter* flops, Dist* dp = nullptr);

double TrainRewardModel(Transformer& model, const std::vector<PrmExample>& data, int steps, int batch_size,
                        const OptimConfig& optim, Rng& rng, FlopCounter* flops, bool head_only = false,
                        Dist* dp = nullptr);

}  // namespace r1lab

// The PRM pipeline end to end on a base policy, as one measurement:
//  1. the base samples one completion per training problem; Monte Carlo
//     labels them (N completions per step prefix); the labels' quality
//     against the per-step truth is recorded;
//  2. a PRM (the base's trunk plus the PRM head) learns the step labels, an
//     ORM (same class, one step) learns the outcomes;
//  3. on held-out problems the base samples K candidates each; best-of-N
//     picks by the PRM (min, last, product, mean of step scores), by the
//     ORM, by majority vote, against the oracle (pass@N), for N = 1..K;
//     and PRM-guided step-level beam search (prm/prm_beam.h) on the same
//     problems, with the tokens each generates;
//  4. the PRM's held-out step AUC and ProcessBench-style F1 against the
//     truth, and the FLOPs of each phase.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "r1lab.pb.h"
#include "steps.h"
#include "task.h"
#include "transformer.h"

namespace r1lab {

struct PrmStudySpec {
  int label_traces = 400;
  int label_n = 8;
  bool soft_targets = false;
  bool truth_labels = false;  // step labels from the task's per-step truth (the exact-label control)
  SegmenterSpec segmenter;
  int train_steps = 300;
  int batch_size = 32;
  OptimConfig optim;
  int test_problems = 100;
  int candidates = 16;  // K, a power of two
  SamplingConfig sampling;
  int beam_width = 4, beam_expansions = 4;
  uint64_t seed = 1;
};

struct PrmStudy {
  LabelQuality labels;                // the training labels against the truth
  double prm_final_loss = 0, orm_final_loss = 0;
  double step_auc = 0;                // held-out candidates' steps, PRM score against truth
  FirstErrorScore first_error;        // held-out, threshold 0.5
  std::vector<int> ns;                // 1, 2, 4, ..., K
  std::map<std::string, std::vector<double>> bon;  // method -> accuracy per N
  // method -> AUC of its score for correct candidates: pooled over all
  // candidates, and within a problem (mean over problems with both kinds),
  // which is what best-of-N selection needs.
  std::map<std::string, double> outcome_auc, within_problem_auc;
  int beam_width = 0, beam_expansions = 0;
  double beam_accuracy = 0;
  double beam_tokens = 0, bon_tokens = 0;  // generated tokens per problem: beam search, best-of-K
  double flops_label = 0, flops_train = 0, flops_score = 0;
};

// `base` is not modified. Needs a task with per-step truth (arith).
PrmStudy RunPrmStudy(Transformer& base, const Task& task, const PrmStudySpec& spec);
std::string PrmStudyTable(const PrmStudy& s);  // markdown

}  // namespace r1lab

// How good are Monte Carlo step labels? The policy samples one completion per
// training problem; each is cut into steps by several segmenters and labelled
// from N completions per step prefix (one draw at the largest N, subsampled
// for smaller N); labels are scored against the task's per-line ground truth
// (train/steps.h LabelQuality). Needs a task with line truth (arith).
#pragma once

#include <string>
#include <vector>

#include "flops.h"
#include "r1lab.pb.h"
#include "steps.h"
#include "task.h"
#include "transformer.h"

namespace r1lab {

struct LabelStudyRow {
  std::string segmenter;
  int n = 0;             // completions per step prefix
  double steps_per_trace = 0;
  LabelQuality quality;  // "wrong" = the hard label says no completion reaches the gold
};

struct LabelStudy {
  int traces = 0, traces_with_error = 0;
  std::vector<LabelStudyRow> rows;
  double label_seconds = 0, steps_labelled = 0, flops = 0;
};

// max_n: a power of two; rows for n = 1, 2, 4, ..., max_n.
LabelStudy StudyLabels(Transformer& policy, const Task& task, const SamplingConfig& sampling, int traces, int max_n,
                       uint64_t seed);
std::string LabelStudyTable(const LabelStudy& s);  // markdown

}  // namespace r1lab

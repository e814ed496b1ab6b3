// Monte Carlo step labels (Math-Shepherd): from each step's prefix, N
// completions by a completer policy; the soft label is the share that reach
// the gold answer, the hard label whether any does. The answer step's label
// is the trace's own outcome (no completions needed).
//
// The completer is a function, so tests can hand-build its distribution and
// rl/ can wrap the policy's batched generation: every prefix of every trace
// goes to the completer in one call (one batched generation).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "steps.h"
#include "task.h"

namespace r1lab {

struct StepLabel {
  double soft = 0;    // share of completions from this prefix that are right
  bool hard = false;  // any is right
};

// For each (problem, prefix) returns n completions of the prefix (the text
// after it, decoded, specials by name).
using Completer = std::function<std::vector<std::vector<std::string>>(
    const std::vector<const Problem*>& problems, const std::vector<std::string>& prefixes, int n)>;

struct LabelJob {
  const Problem* problem = nullptr;
  std::string completion;
  std::vector<Segment> steps;
};

// Whether each of the n completions from each step's prefix reaches the
// gold: [job][step][completion]. The answer step holds the trace's own
// outcome n times. One completer call for everything. n >= 1.
using McOutcomes = std::vector<std::vector<std::vector<bool>>>;
McOutcomes MonteCarloOutcomes(const Task& task, const std::vector<LabelJob>& jobs, const Completer& completer, int n);

// Labels from the first n completions of each prefix (n <= what was drawn),
// so one draw at the largest N gives the labels at every smaller N.
std::vector<std::vector<StepLabel>> LabelsFromOutcomes(const McOutcomes& outcomes, int n);

// MonteCarloOutcomes then LabelsFromOutcomes at n.
std::vector<std::vector<StepLabel>> MonteCarloLabels(const Task& task, const std::vector<LabelJob>& jobs,
                                                     const Completer& completer, int n);

}  // namespace r1lab

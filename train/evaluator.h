// Held-out evaluation: n samples per problem with the eval sampling settings,
// scored by the rule verifier.
//
// pass@1 is the mean correctness over all n samples; maj@n is R1's cons@n
// (majority vote over extracted answers); pass@k uses the unbiased estimator
// for k = 1, 2, 4, ... <= n (and n). Also: format rate, mean response length
// (tokens, stop token included), truncation rate, and reflective words per
// 1,000 response tokens (the report's word list; "wait" alone as well),
// language consistency (verify/language.h), overall and per difficulty level;
// and the degeneration signs a learned reward can cause.
#pragma once

#include <cmath>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "answer.h"
#include "flops.h"
#include "r1lab.pb.h"
#include "task.h"
#include "transformer.h"

namespace r1lab {

struct EvalSample {
  int problem = 0;  // index into the task's test set
  int index = 0;    // sample number within the problem
  std::string completion;
  Verdict verdict;
  int tokens = 0;
  bool truncated = false;
  // eval.without_checks, for a response with a check line (metrics.h
  // FirstCheckLine): the response redrawn without check lines ("" for
  // the others), and whether its thinking was ended before a check line the
  // redraws kept writing.
  std::string without_checks;
  bool without_checks_ended = false;
  Verdict without_checks_verdict;
};

struct LevelStats {
  int level = 0;
  int problems = 0;
  double pass1 = 0;
  double mean_length = 0;
};

struct EvalResult {
  EvalSplit split = EvalSplit::kTest;  // the problems samples[].problem indexes
  int num_problems = 0;
  int n = 0;  // samples per problem
  double pass1 = 0, maj = 0, format_rate = 0, mean_length = 0, truncation_rate = 0;
  double reflect_per_1k = 0, wait_per_1k = 0;
  double language_consistency = 1;  // mean share of CoT words in the prompt's language
  double summary_rate = 0;          // share ending the CoT with a summary line (verify/language.h)
  // Degeneration signs (train/steps.h Degeneration, line steps): steps per
  // response, share of repeated steps, share of responses without an answer.
  double steps_mean = 0, repeated_step_rate = 0, no_answer_rate = 0;
  // Does reflection pay? The share of responses with a reflective word, the
  // pass@1 of those and of the others (NaN when there are none), and the
  // share of "aha" episodes: responses that revise a step of their own
  // (train/metrics.h HasRevision) and end right.
  double reflective_rate = 0, pass1_reflective = 0, pass1_plain = 0, aha_rate = 0;
  // Mean tokens of the responses with a reflective word and of the others
  // (NaN when there are none): whether a length change is more responses
  // that check, or longer ones of either kind.
  double length_reflective = NAN, length_plain = NAN;
  // Paired by problem: over the problems with both kinds of response (their
  // share: reflective_mixed_problems), the mean of the problem's reflective
  // pass@1 minus its plain pass@1 (NaN when no problem has both).
  double reflective_gain_within_problem = 0, reflective_mixed_problems = 0;
  // eval.without_checks: the share of responses with a check line, their
  // pass@1 as written and redrawn without check lines, and the share whose
  // thinking was ended before a check line every redraw kept (NaN when not
  // measured).
  double check_rate = NAN, pass1_with_check = NAN, pass1_without_checks = NAN, ended_at_check_rate = NAN;
  // Readability (tasks/task.h LineInForm): the share of chain-of-thought
  // lines in the form the task's teacher writes, and the same over the lines
  // with a reflective word, over the responses to problems whose task (a
  // mix: whose part) has a grammar for its lines (NaN when none has, or
  // there are no such lines).
  double lines_in_form = NAN, check_lines_in_form = NAN;
  std::vector<std::pair<int, double>> pass_at;  // (k, pass@k)
  std::vector<LevelStats> by_level;
  double flops = 0, seconds = 0;
  std::vector<EvalSample> samples;
};

class Dist;

// The first cfg.num_problems problems of cfg.split (test unless told):
// InputError if the config asks for more problems than the split has.
// With `shard` (every rank of it calls, with the same weights), each rank
// samples and judges its own share of the samples, whole chunks of one
// process's batch, so that each sample is one process's (ShardRows,
// model/generate.h), and every rank returns the whole result; eval.without_checks' redraws are not shared
// (every rank makes all of them). FLOPs are the ranks' sum.
EvalResult Evaluate(Transformer& model, const Task& task, const EvalConfig& cfg, FlopCounter* flops = nullptr,
                    Dist* shard = nullptr);
// The statistics of out->samples (judged samples of out->num_problems
// problems x out->n, problem-major; `test` the problems they index): every
// field of the result but flops and seconds. Evaluate ends with it; rescoring
// saved samples is the same call. `line_form` judges one chain-of-thought
// line of a response to a problem (nullopt: no grammar for that problem's
// lines; see EvalResult::lines_in_form).
using ProblemLineJudge = std::function<std::optional<bool>(const std::string& line, const Problem& p)>;
void SummarizeSamples(const std::vector<Problem>& test, EvalResult* out, const ProblemLineJudge& line_form = {});

EvalRecord EvalToRecord(const EvalResult& r);  // no samples
std::string EvalToJson(const EvalResult& r);    // its record as one line of JSON
// One line per sample: problem, prompt, gold, completion, extracted, correct, format_ok, ...
std::string SamplesToJsonl(const EvalResult& r, const Task& task);
std::string EvalTable(const EvalResult& r);  // human-readable, for the terminal

}  // namespace r1lab

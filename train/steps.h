// Process supervision without torch: what a step is (segmenters), how good
// step labels are against the truth, and how per-step scores become one
// score (aggregations). Shared by PRM training, labelling and reranking.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace r1lab {

// "What is a step?" -- the report's first reason PRMs are hard, as a knob.
enum class Segmenter {
  kLine,         // one step per non-empty line of the chain of thought
  kTag,          // steps end at an explicit tag string (e.g. ";")
  kTokenChunk,   // fixed chunks of N tokens (a character, or a whole special token like <think>)
  kPunctuation,  // steps end after '.', '!', '?', ';' or a newline
};

struct SegmenterSpec {
  Segmenter kind = Segmenter::kLine;
  std::string tag = ";";
  int chunk_tokens = 8;
};

// A step: [begin, end) character offsets into the completion.
struct Segment {
  size_t begin = 0, end = 0;
};

// Steps of a completion "<think>...</think><answer>...</answer>": the
// chain of thought (between <think> and </think>, or up to <answer> or the
// end) cut by the segmenter, whitespace-only pieces dropped, then the answer
// part ("</think>" to the end) as the last step when there is one. Pieces
// keep their delimiter, so the steps tile the chain of thought.
std::vector<Segment> SegmentSteps(const std::string& completion, const SegmenterSpec& spec);

// Ground truth per segment from per-line truth: a segment is wrong when any
// line it overlaps is wrong. `line_wrong(text)` judges one line (nullopt:
// not a computation, e.g. the answer part; treated as right).
std::vector<bool> SegmentTruth(const std::string& completion, const std::vector<Segment>& steps,
                               const std::function<std::optional<bool>(const std::string&)>& line_wrong);

// Quality of "this step is wrong" predictions against the truth, over many
// traces: precision, recall and F1 of the wrong class, and first-error
// accuracy (the predicted first wrong step, or none, equals the true one).
struct LabelQuality {
  int traces = 0, steps = 0;
  int true_wrong = 0, predicted_wrong = 0, both_wrong = 0, first_error_hits = 0;
  double precision() const { return predicted_wrong ? static_cast<double>(both_wrong) / predicted_wrong : 1; }
  double recall() const { return true_wrong ? static_cast<double>(both_wrong) / true_wrong : 1; }
  double f1() const {
    const double p = precision(), r = recall();
    return p + r > 0 ? 2 * p * r / (p + r) : 0;
  }
  double first_error_accuracy() const { return traces ? static_cast<double>(first_error_hits) / traces : 0; }
  // Adds one trace; `predicted_wrong` and `truth_wrong` are per step, same length.
  void Add(const std::vector<bool>& predicted_wrong, const std::vector<bool>& truth_wrong);
};

// Index of the first true entry, or -1.
int FirstTrue(const std::vector<bool>& v);

// Area under the ROC curve of `scores` for separating good (label true) from
// bad steps: the probability a random good step outscores a random bad one
// (ties count half). 0.5 when either class is empty.
double StepAuc(const std::vector<double>& scores, const std::vector<bool>& good);

// ProcessBench-style: the predicted first error of a trace is its first step
// scored below `threshold` (or none). Accuracy on traces with an error (the
// first wrong step found exactly), accuracy on traces without (none
// predicted), and F1 = their harmonic mean.
struct FirstErrorScore {
  int with_error = 0, with_error_hit = 0, clean = 0, clean_hit = 0;
  void Add(const std::vector<double>& step_scores, const std::vector<bool>& truth_wrong, double threshold = 0.5);
  double error_accuracy() const { return with_error ? static_cast<double>(with_error_hit) / with_error : 0; }
  double clean_accuracy() const { return clean ? static_cast<double>(clean_hit) / clean : 0; }
  double f1() const {
    const double a = error_accuracy(), b = clean_accuracy();
    return a + b > 0 ? 2 * a * b / (a + b) : 0;
  }
};

// Signs that a policy games a learned reward, over many responses: steps per
// response, the share of steps repeating an earlier step of the same
// response (whitespace-trimmed text), and the share of responses without a
// valid answer (the extraction failed).
struct Degeneration {
  int responses = 0, steps = 0, repeated = 0, no_answer = 0;
  void Add(const std::string& completion, const std::vector<Segment>& steps, bool has_answer);
  double steps_mean() const { return responses ? static_cast<double>(steps) / responses : 0; }
  double repeated_rate() const { return steps ? static_cast<double>(repeated) / steps : 0; }
  double no_answer_rate() const { return responses ? static_cast<double>(no_answer) / responses : 0; }
};

// One score from per-step scores (probabilities that the step is good).
enum class Aggregation { kMin, kLast, kProduct, kMean };
double Aggregate(const std::vector<double>& step_scores, Aggregation how);
const char* AggregationName(Aggregation a);

}  // namespace r1lab

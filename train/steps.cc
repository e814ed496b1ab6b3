#include "steps.h"

#include <algorithm>
#include <cctype>
#include <cmath>

#include "error.h"

namespace r1lab {

namespace {

bool Blank(const std::string& s, size_t b, size_t e) {
  for (size_t i = b; i < e; ++i)
    if (!std::isspace(static_cast<unsigned char>(s[i]))) return false;
  return true;
}

}  // namespace

std::vector<Segment> SegmentSteps(const std::string& c, const SegmenterSpec& spec) {
  size_t begin = c.find("<think>");
  begin = begin == std::string::npos ? 0 : begin + 7;
  size_t end = c.find("</think>", begin);
  if (end == std::string::npos) end = c.find("<answer>", begin);
  const bool has_tail = end != std::string::npos;
  if (!has_tail) end = c.size();

  std::vector<Segment> steps;
  auto push = [&](size_t b, size_t e) {
    if (e > b && !Blank(c, b, e)) steps.push_back({b, e});
  };
  size_t start = begin;
  switch (spec.kind) {
    case Segmenter::kLine:
    case Segmenter::kPunctuation:
      for (size_t i = begin; i < end; ++i) {
        const char ch = c[i];
        const bool cut = ch == '\n' || (spec.kind == Segmenter::kPunctuation &&
                                        (ch == '.' || ch == '!' || ch == '?' || ch == ';') &&
                                        (i + 1 >= end || !std::isdigit(static_cast<unsigned char>(c[i + 1]))));
        if (cut) {
          push(start, i + 1);
          start = i + 1;
        }
      }
      break;
    case Segmenter::kTag:
      if (spec.tag.empty()) throw ConfigError("segmenter: the step tag is empty");
      for (size_t p = c.find(spec.tag, start); p != std::string::npos && p < end; p = c.find(spec.tag, start)) {
        push(start, p + spec.tag.size());
        start = p + spec.tag.size();
      }
      break;
    case Segmenter::kTokenChunk:
      if (spec.chunk_tokens < 1) throw ConfigError("segmenter: chunk_tokens must be at least 1");
      // A token is one character (a whole UTF-8 sequence: a chunk never
      // splits one, so every prefix is text a tokenizer can encode), or a
      // whole special token "<...>" (the tokenizer reserves '<' for them).
      // Under a Hugging Face model's BPE a chunk is still chunk_tokens
      // characters.
      for (size_t i = begin, count = 0; i < end;) {
        size_t next = i + 1;
        while (next < end && (static_cast<unsigned char>(c[next]) & 0xC0) == 0x80) ++next;
        if (c[i] == '<') {
          const size_t close = c.find('>', i);
          if (close != std::string::npos && close < end) next = close + 1;
        }
        i = next;
        if (++count == static_cast<size_t>(spec.chunk_tokens) && i < end) {
          push(start, i);
          start = i;
          count = 0;
        }
      }
      break;
  }
  push(start, end);
  if (has_tail && end < c.size()) steps.push_back({end, c.size()});
  return steps;
}

void Degeneration::Add(const std::string& c, const std::vector<Segment>& segs, bool has_answer) {
  ++responses;
  no_answer += !has_answer;
  std::vector<std::string> seen;
  for (const Segment& s : segs) {
    size_t b = s.begin, e = s.end;
    while (b < e && std::isspace(static_cast<unsigned char>(c[b]))) ++b;
    while (e > b && std::isspace(static_cast<unsigned char>(c[e - 1]))) --e;
    std::string text = c.substr(b, e - b);
    ++steps;
    if (std::find(seen.begin(), seen.end(), text) != seen.end()) ++repeated;
    else seen.push_back(std::move(text));
  }
}

std::vector<bool> SegmentTruth(const std::string& c, const std::vector<Segment>& steps,
                               const std::function<std::optional<bool>(const std::string&)>& line_wrong) {
  // Lines of the whole completion with their verdicts.
  struct Line {
    size_t b, e;
    bool wrong;
  };
  std::vector<Line> lines;
  size_t b = 0;
  for (size_t i = 0; i <= c.size(); ++i) {
    if (i < c.size() && c[i] != '\n') continue;
    std::string text = c.substr(b, i - b);
    for (const char* tag : {"<think>", "</think>"})
      if (const size_t p = text.find(tag); p != std::string::npos) text.erase(p, std::string(tag).size());
    const std::optional<bool> w = line_wrong(text);
    lines.push_back({b, i, w.value_or(false)});
    b = i + 1;
  }
  std::vector<bool> truth(steps.size(), false);
  for (size_t k = 0; k < steps.size(); ++k)
    for (const Line& l : lines)
      if (l.wrong && l.b < steps[k].end && steps[k].begin < std::max(l.e, l.b + 1)) truth[k] = true;
  return truth;
}

int FirstTrue(const std::vector<bool>& v) {
  for (size_t i = 0; i < v.size(); ++i)
    if (v[i]) return static_cast<int>(i);
  return -1;
}

void LabelQuality::Add(const std::vector<bool>& predicted, const std::vector<bool>& truth) {
  R1_CHECK(predicted.size() == truth.size(), "LabelQuality: predictions and truth differ in length");
  ++traces;
  for (size_t i = 0; i < truth.size(); ++i) {
    ++steps;
    true_wrong += truth[i];
    predicted_wrong += predicted[i];
    both_wrong += truth[i] && predicted[i];
  }
  first_error_hits += FirstTrue(predicted) == FirstTrue(truth);
}

double StepAuc(const std::vector<double>& scores, const std::vector<bool>& good) {
  R1_CHECK(scores.size() == good.size(), "StepAuc: scores and labels differ in length");
  // Rank-sum (Mann-Whitney U) with average ranks for ties.
  std::vector<size_t> order(scores.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return scores[a] < scores[b]; });
  double rank_sum_good = 0;
  size_t n_good = 0;
  for (size_t i = 0; i < order.size();) {
    size_t j = i;
    while (j < order.size() && scores[order[j]] == scores[order[i]]) ++j;
    const double avg_rank = (static_cast<double>(i) + static_cast<double>(j) + 1) / 2;  // 1-based ranks i+1..j
    for (size_t k = i; k < j; ++k)
      if (good[order[k]]) rank_sum_good += avg_rank, ++n_good;
    i = j;
  }
  const size_t n_bad = scores.size() - n_good;
  if (n_good == 0 || n_bad == 0) return 0.5;
  const double u = rank_sum_good - static_cast<double>(n_good) * (n_good + 1) / 2;
  return u / (static_cast<double>(n_good) * n_bad);
}

void FirstErrorScore::Add(const std::vector<double>& s, const std::vector<bool>& truth, double threshold) {
  R1_CHECK(s.size() == truth.size(), "FirstErrorScore: scores and truth differ in length");
  int predicted = -1;
  for (size_t i = 0; i < s.size() && predicted < 0; ++i)
    if (s[i] < threshold) predicted = static_cast<int>(i);
  const int actual = FirstTrue(truth);
  if (actual < 0) {
    ++clean;
    clean_hit += predicted < 0;
  } else {
    ++with_error;
    with_error_hit += predicted == actual;
  }
}

double Aggregate(const std::vector<double>& s, Aggregation how) {
  if (s.empty()) throw InputError("aggregate: no step scores");
  switch (how) {
    case Aggregation::kMin: return *std::min_element(s.begin(), s.end());
    case Aggregation::kLast: return s.back();
    case Aggregation::kProduct: {
      double p = 1;
      for (double x : s) p *= x;
      return p;
    }
    case Aggregation::kMean: {
      double m = 0;
      for (double x : s) m += x;
      return m / static_cast<double>(s.size());
    }
  }
  throw InternalError("aggregate: unknown aggregation");
}

const char* AggregationName(Aggregation a) {
  switch (a) {
    case Aggregation::kMin: return "min";
    case Aggregation::kLast: return "last";
    case Aggregation::kProduct: return "product";
    case Aggregation::kMean: return "mean";
  }
  return "?";
}

}  // namespace r1lab

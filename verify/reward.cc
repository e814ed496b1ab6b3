#include "reward.h"

#include <utility>

#include "error.h"
#include "language.h"

namespace r1lab {

double OverlongPenalty(int length, int max_length, int buffer) {
  if (buffer <= 0) return 0;
  const int free_len = max_length - buffer;
  if (length <= free_len) return 0;
  if (length >= max_length) return -1;
  return static_cast<double>(free_len - length) / buffer;
}

double FormShare(const std::string& completion, const LineFormJudge& line_form) {
  const std::vector<std::string> lines = ThinkLines(completion);
  int in_form = 0;
  for (const std::string& line : lines) in_form += line_form(line).value_or(false);
  return lines.empty() ? 0 : static_cast<double>(in_form) / lines.size();
}

RewardChain::RewardChain(const RewardConfig& cfg, int max_new_tokens, LineFormJudge line_form)
    : cfg_(cfg), max_new_tokens_(max_new_tokens), line_form_(std::move(line_form)) {
  names_ = {"accuracy", "format"};
  weights_ = {cfg.accuracy_weight(), cfg.format_weight()};
  if (cfg.language_weight() > 0) {
    names_.push_back("language");
    weights_.push_back(cfg.language_weight());
  }
  if (cfg.form_weight() > 0) {
    if (!line_form_ || !line_form_("").has_value())
      throw ConfigError("reward.form_weight=" + std::to_string(cfg.form_weight()) +
                        ": this task has no grammar for its chain-of-thought lines; expected 0 (tasks with one: "
                        "arith, countdown, graph)");
    names_.push_back("form");
    weights_.push_back(cfg.form_weight());
  }
  if (cfg.overlong_buffer() > 0) {
    if (cfg.overlong_buffer() >= max_new_tokens)
      throw ConfigError("reward.overlong_buffer=" + std::to_string(cfg.overlong_buffer()) +
                        " must be below the sampling max_new_tokens=" + std::to_string(max_new_tokens));
    names_.push_back("overlong");
    weights_.push_back(cfg.overlong_weight());
  }
}

RewardBreakdown RewardChain::Score(const Scored& s, const Verdict& verdict) const {
  RewardBreakdown r;
  r.verdict = verdict;
  r.terms = {r.verdict.correct ? 1.0 : 0.0, r.verdict.format_ok ? 1.0 : 0.0};
  if (cfg_.language_weight() > 0) r.terms.push_back(LanguageConsistency(s.completion, s.language));
  if (cfg_.form_weight() > 0) r.terms.push_back(FormShare(s.completion, line_form_));
  if (cfg_.overlong_buffer() > 0) r.terms.push_back(OverlongPenalty(s.length, max_new_tokens_, cfg_.overlong_buffer()));
  for (size_t i = 0; i < r.terms.size(); ++i) r.total += weights_[i] * r.terms[i];
  return r;
}

}  // namespace r1lab

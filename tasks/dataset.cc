#include "dataset.h"

#include <algorithm>
#include <cctype>

#include "error.h"
#include "io.h"
#include "json.h"

namespace r1lab {

namespace {

// Where the GSM8K calculator annotation starting at text[i] ("<<...>>") ends
// (the index of its last '>'), or npos when none starts there.
size_t AnnotationEnd(const std::string& text, size_t i) {
  if (text.compare(i, 2, "<<") != 0) return std::string::npos;
  const size_t end = text.find(">>", i + 2);
  return end == std::string::npos ? end : end + 1;
}

}  // namespace

std::string DropAnnotations(const std::string& text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    const size_t end = AnnotationEnd(text, i);
    if (end != std::string::npos) i = end;
    else out += text[i];
  }
  return out;
}

std::string SanitizeText(const std::string& text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    const size_t end = AnnotationEnd(text, i);
    if (end != std::string::npos) {
      i = end;
      continue;
    }
    if (c == '<') out += "\\lt ";
    else if (c == '>') out += "\\gt ";
    else if (c == '\n' || (c >= 32 && c < 127)) out += static_cast<char>(c);
    else if (c == '\t') out += ' ';
  }
  return out;
}

namespace {

std::string GoldOf(const std::string& field, AnswerFormat format, std::string* why) {
  if (format == PLAIN) {
    if (field.empty()) *why = "empty answer";
    return field;
  }
  const Extraction x = format == HASH ? ExtractHashAnswer(field) : ExtractBoxed(field);
  if (!x.ok) *why = x.error;
  return x.answer;
}

// A problem's level: a whole number from 0 to 1000, or text that ends in one
// (MATH's "Level 3").
int LevelOf(const JsonValue& v, const std::string& field) {
  const std::string bad = "field '" + field + "': ";
  const std::string expected = "; expected a whole number from 0 to 1000, or text ending in one (\"Level 3\")";
  if (v.kind() == JsonValue::kNumber) {
    const double x = v.number();
    if (!(x >= 0 && x <= 1000) || x != static_cast<int>(x)) throw InputError(bad + JsonNumber(x) + expected);
    return static_cast<int>(x);
  }
  if (v.kind() != JsonValue::kString) throw InputError(bad + "neither a number nor text" + expected);
  const std::string& s = v.string();
  size_t digits = s.size();
  while (digits > 0 && std::isdigit(static_cast<unsigned char>(s[digits - 1]))) --digits;
  const std::string number = s.substr(digits);
  if (number.empty() || number.size() > 4 || std::stoi(number) > 1000)
    throw InputError(bad + "\"" + s + "\"" + expected);
  return std::stoi(number);
}

}  // namespace

DatasetTask::DatasetTask(const TaskConfig& cfg) : cfg_(cfg.dataset()) {
  const std::string& path = cfg_.path();
  const auto text = [&](const std::string& s) { return cfg_.verbatim() ? DropAnnotations(s) : SanitizeText(s); };
  std::vector<std::string> lines;
  try {
    // ReadText, not ReadLines: a missing file is an error, not no lines.
    lines = SplitLines(ReadText(path));
  } catch (const IoError& e) {
    throw ConfigError(std::string("task.dataset.path: ") + e.what());
  }
  std::vector<Problem> all;
  for (size_t n = 0; n < lines.size(); ++n) {
    if (lines[n].empty()) continue;
    const std::string where = path + ":" + std::to_string(n + 1) + ": ";
    try {
      const JsonValue row = JsonValue::Parse(lines[n]);
      if (row.kind() != JsonValue::kObject) throw InputError("expected a JSON object");
      Problem p;
      p.prompt = text(row.at(cfg_.question_field()).string());
      std::string why;
      p.gold = text(GoldOf(row.at(cfg_.answer_field()).string(), cfg_.answer_format(), &why));
      if (!why.empty()) throw InputError("field '" + cfg_.answer_field() + "': " + why);
      if (!cfg_.level_field().empty()) {
        p.level = LevelOf(row.at(cfg_.level_field()), cfg_.level_field());
      }
      if (p.level < cfg_.min_level() || p.level > cfg_.max_level()) continue;
      p.key = p.prompt;
      const std::string& sol_field = cfg_.solution_field().empty() ? cfg_.answer_field() : cfg_.solution_field();
      if (!solutions_.emplace(p.key, text(row.at(sol_field).string())).second) continue;  // a duplicate
      all.push_back(std::move(p));
    } catch (const InputError& e) {
      throw InputError(where + e.what());
    }
  }
  if (static_cast<int>(all.size()) <= cfg.num_test() + cfg.num_validation())
    throw ConfigError("task.num_test: " + std::to_string(cfg.num_test()) + " test and " +
                      std::to_string(cfg.num_validation()) + " validation problems (task.num_validation) leave no "
                      "training data; " + path + " has " + std::to_string(all.size()) + " usable problems");
  std::vector<size_t> order(all.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  Rng rng(cfg.split_seed());
  for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[static_cast<size_t>(rng.Int(0, static_cast<long long>(i) - 1))]);
  for (size_t k = 0; k < order.size(); ++k) {
    const int i = static_cast<int>(k);
    (i < cfg.num_test() ? test_ : i < cfg.num_test() + cfg.num_validation() ? validation_ : train_)
        .push_back(all[order[k]]);
  }
}

Problem DatasetTask::SampleTrain(Rng& rng) const {
  return train_[static_cast<size_t>(rng.Int(0, static_cast<long long>(train_.size()) - 1))];
}

Trace DatasetTask::Teach(const Problem& p, const TeacherConfig& t, Rng& rng) const {
  const auto it = solutions_.find(p.key);
  if (it == solutions_.end()) throw InputError("dataset: no worked solution for this problem");
  const std::string* solution = &it->second;
  Trace tr;
  bool unfixed = false;
  size_t start = 0;
  for (size_t i = 0; i <= solution->size(); ++i) {
    if (i < solution->size() && (*solution)[i] != '\n') continue;
    std::string line = solution->substr(start, i - start);
    start = i + 1;
    if (line.empty() || line.rfind("####", 0) == 0) continue;
    const size_t digit = line.find_first_of("0123456789");
    if (digit != std::string::npos && rng.Bernoulli(t.step_error_rate())) {
      std::string wrong = line;
      wrong[digit] = static_cast<char>('0' + ((wrong[digit] - '0' + rng.Int(1, 9)) % 10));
      tr.steps.push_back({wrong, false});
      if (rng.Bernoulli(t.reflection_rate())) tr.steps.push_back({"wait " + line, true});
      else unfixed = true;
    } else {
      tr.steps.push_back({line, true});
    }
  }
  std::string answer = p.gold;
  if (unfixed) {
    long long g = 0;
    answer = ParseInteger(p.gold, &g) ? std::to_string(g + 1) : p.gold + " + 1";
  }
  tr.completion = TraceCompletion(tr.steps, answer);
  tr.answer_correct = Verify(tr.completion, p).correct;
  return tr;
}

Verdict DatasetTask::Verify(const std::string& completion, const Problem& p) const {
  return VerifyMathAnswer(completion, p.gold, cfg_.rel_tol(),
                          cfg_.extraction() == EXTRACT_FREE_TEXT ? MathExtraction::kFreeText : MathExtraction::kTagged);
}

}  // namespace r1lab

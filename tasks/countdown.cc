#include "countdown.h"

#include <algorithm>
#include <cctype>
#include <regex>

#include <boost/multiprecision/cpp_int.hpp>

#include "error.h"
#include "text.h"

namespace r1lab {

namespace {

// Values are exact big rationals: no intermediate overflows or rounds. With
// 64-bit literals, no power and at most 200 characters, a numerator or
// denominator has at most a few hundred digits.
using Rational = boost::multiprecision::cpp_rational;

// expr := term (('+'|'-') term)*; term := factor (('*'|'/') factor)*;
// factor := number | '(' expr ')' | '-' factor
class ExprParser {
 public:
  ExprParser(const std::string& s, std::vector<long long>* used) : s_(s), used_(used) {}
  bool Parse(Rational* out, std::string* why) {
    if (!Expr(out, 0)) {
      *why = why_;
      return false;
    }
    Skip();
    if (i_ != s_.size()) {
      *why = "unexpected '" + Utf8Cut(s_, i_, 8) + "'";
      return false;
    }
    return true;
  }

 private:
  void Skip() {
    while (i_ < s_.size() && s_[i_] == ' ') ++i_;
  }
  bool Fail(const std::string& why) {
    why_ = why;
    return false;
  }
  bool Expr(Rational* out, int depth) {
    if (depth > 50) return Fail("nested too deeply");
    if (!Term(out, depth)) return false;
    for (Skip(); i_ < s_.size() && (s_[i_] == '+' || s_[i_] == '-'); Skip()) {
      const char op = s_[i_++];
      Rational r;
      if (!Term(&r, depth)) return false;
      if (op == '+') *out += r;
      else *out -= r;
    }
    return true;
  }
  bool Term(Rational* out, int depth) {
    if (!Factor(out, depth)) return false;
    for (Skip(); i_ < s_.size() && (s_[i_] == '*' || s_[i_] == '/'); Skip()) {
      const char op = s_[i_++];
      Rational r;
      if (!Factor(&r, depth)) return false;
      if (op == '/' && r == 0) return Fail("division by zero");
      if (op == '*') *out *= r;
      else *out /= r;
    }
    return true;
  }
  bool Factor(Rational* out, int depth) {
    Skip();
    if (i_ >= s_.size()) return Fail("expression ends early");
    if (s_[i_] == '(') {
      ++i_;
      if (!Expr(out, depth + 1)) return false;
      Skip();
      if (i_ >= s_.size() || s_[i_] != ')') return Fail("unclosed '('");
      ++i_;
      return true;
    }
    if (s_[i_] == '-') {
      ++i_;
      if (!Factor(out, depth + 1)) return false;
      *out = -*out;
      return true;
    }
    if (!std::isdigit(static_cast<unsigned char>(s_[i_]))) return Fail("unexpected '" + CharAt(s_, i_) + "'");
    long long v = 0;  // a literal must be one of the numbers, which are 64-bit
    while (i_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[i_]))) {
      if (__builtin_mul_overflow(v, 10LL, &v) || __builtin_add_overflow(v, s_[i_] - '0', &v))
        return Fail("number too large");
      ++i_;
    }
    used_->push_back(v);
    *out = v;
    return true;
  }

  const std::string& s_;
  size_t i_ = 0;
  std::vector<long long>* used_;
  std::string why_;
};

std::string Join(const std::vector<long long>& v, const char* sep) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) s += (i ? sep : "") + std::to_string(v[i]);
  return s;
}

}  // namespace

CountdownCheck CheckCountdown(const std::string& expression_in, const std::vector<long long>& numbers,
                              long long target, bool use_all) {
  CountdownCheck c;
  if (expression_in.size() > 200) {
    c.why = "expression longer than 200 characters";
    return c;
  }
  std::string expression = expression_in;
  if (const size_t eq = expression.find('='); eq != std::string::npos) {
    long long rhs = 0;
    if (!ParseInteger(expression.substr(eq + 1), &rhs) || rhs != target) {
      c.why = "the right side of '=' is not the target";
      return c;
    }
    expression = expression.substr(0, eq);
  }
  std::vector<long long> used;
  Rational value;
  if (!ExprParser(expression, &used).Parse(&value, &c.why)) return c;
  std::vector<long long> pool = numbers;
  for (long long u : used) {
    const auto it = std::find(pool.begin(), pool.end(), u);
    if (it == pool.end()) {
      c.why = std::to_string(u) + (std::count(numbers.begin(), numbers.end(), u) ? " used too often" : " is not given");
      return c;
    }
    pool.erase(it);
  }
  if (value != target) {
    c.why = "value " + value.str() + " is not the target " + std::to_string(target);
    return c;
  }
  if (use_all && !pool.empty()) {
    c.why = std::to_string(pool[0]) + " is not used";
    return c;
  }
  c.correct = true;
  return c;
}

void CountdownTask::ParseKey(const std::string& key, std::vector<long long>* numbers, long long* target) {
  const size_t eq = key.find('=');
  if (eq == std::string::npos) throw InputError("countdown: malformed key '" + key + "'");
  numbers->clear();
  size_t start = 0;
  for (size_t i = 0; i <= eq; ++i)
    if (i == eq || key[i] == ',') {
      long long v = 0;
      if (!ParseInteger(key.substr(start, i - start), &v)) throw InputError("countdown: malformed key '" + key + "'");
      numbers->push_back(v);
      start = i + 1;
    }
  if (!ParseInteger(key.substr(eq + 1), target)) throw InputError("countdown: malformed key '" + key + "'");
}

CountdownTask::CountdownTask(const TaskConfig& cfg) : cfg_(cfg.countdown()) { BuildSplit(cfg); }

namespace {

struct Built {
  long long value;
  std::string expr;                 // parenthesised
  std::vector<std::string> steps;   // "a op b=r" in order
  std::vector<long long> step_results;
};

// The numbers a combination starts from: all of them (`all`), or the first
// two and each later one with probability `keep`. No draw when `all`, so
// the subset problems stay as they were before use_all_numbers.
std::vector<Built> Leaves(const std::vector<long long>& numbers, bool all, double keep, Rng& rng) {
  std::vector<Built> leaves;
  for (long long n : numbers)
    if (all || leaves.size() < 2 || rng.Bernoulli(keep)) leaves.push_back({n, std::to_string(n), {}, {}});
  return leaves;
}

// Combines `vals` (with their expressions) pairwise at random until one is
// left, keeping every intermediate a positive integer. Returns false if stuck.
bool BuildTarget(std::vector<Built> vals, Rng& rng, long long max_target, Built* out) {
  while (vals.size() > 1) {
    bool done = false;
    for (int attempt = 0; attempt < 30 && !done; ++attempt) {
      const size_t i = static_cast<size_t>(rng.Int(0, static_cast<long long>(vals.size()) - 1));
      size_t j = static_cast<size_t>(rng.Int(0, static_cast<long long>(vals.size()) - 2));
      if (j >= i) ++j;
      const char op = "+-*/"[rng.Int(0, 3)];
      const long long a = vals[i].value, b = vals[j].value;
      long long r;
      if (op == '+') r = a + b;
      else if (op == '-') r = a - b;
      else if (op == '*') r = a * b;
      else r = (b != 0 && a % b == 0) ? a / b : -1;
      if (r <= 0 || r > max_target) continue;
      Built c;
      c.value = r;
      c.expr = "(" + vals[i].expr + op + vals[j].expr + ")";
      c.steps = vals[i].steps;
      c.steps.insert(c.steps.end(), vals[j].steps.begin(), vals[j].steps.end());
      c.steps.push_back(std::to_string(a) + op + std::to_string(b) + "=" + std::to_string(r));
      vals.erase(vals.begin() + static_cast<long>(std::max(i, j)));
      vals.erase(vals.begin() + static_cast<long>(std::min(i, j)));
      vals.push_back(std::move(c));
      done = true;
    }
    if (!done) return false;
  }
  *out = vals[0];
  if (out->expr.size() > 2 && out->expr.front() == '(') out->expr = out->expr.substr(1, out->expr.size() - 2);
  return true;
}

}  // namespace

Problem CountdownTask::Draw(Rng& rng) const {
  for (int tries = 0;; ++tries) {
    // Each try has the same odds, so a config that fails this often (say,
    // six numbers up to 1000 that must all make a target of at most 5)
    // would otherwise spin for hours.
    if (tries == 100000)
      throw ConfigError("task.countdown: 100000 draws found no target of at most max_target " +
                        std::to_string(cfg_.max_target()) + " from " + std::to_string(cfg_.min_numbers()) + "-" +
                        std::to_string(cfg_.max_numbers()) + " numbers up to max_number " +
                        std::to_string(cfg_.max_number()) +
                        (cfg_.use_all_numbers() ? " using all of them" : "") + "; raise max_target");
    const int k = static_cast<int>(rng.Int(cfg_.min_numbers(), cfg_.max_numbers()));
    std::vector<long long> nums(k);
    for (auto& n : nums) n = rng.Int(1, cfg_.max_number());
    Built b;
    if (!BuildTarget(Leaves(nums, cfg_.use_all_numbers(), 0.7, rng), rng, cfg_.max_target(), &b)) continue;
    std::vector<long long> sorted = nums;
    std::sort(sorted.begin(), sorted.end());
    Problem p;
    p.key = Join(sorted, ",") + "=" + std::to_string(b.value);
    p.prompt = Join(nums, " ") + " to " + std::to_string(b.value);
    p.gold = b.expr;
    p.level = k;
    return p;
  }
}

Trace CountdownTask::Teach(const Problem& p, const TeacherConfig& t, Rng& rng) const {
  // Re-derive the gold expression's steps by evaluating it bottom-up.
  std::vector<long long> numbers;
  long long target = 0;
  ParseKey(p.key, &numbers, &target);
  // Steps: the gold expression's innermost combinations first.
  std::string expr = p.gold;
  Trace tr;
  std::string answer = expr;
  bool corrupted = false;
  // Failed attempts first (retry_rate): each checked against the target. No
  // draw at all without them, so the traces of retry_rate 0 are unchanged.
  for (int attempt = 0; t.retry_rate() > 0 && attempt < 3 && rng.Bernoulli(t.retry_rate()); ++attempt) {
    for (int tries = 0; tries < 20; ++tries) {
      Built b;
      const long long cap = std::max<long long>(cfg_.max_target(), target);
      if (!BuildTarget(Leaves(numbers, cfg_.use_all_numbers(), 0.5, rng), rng, cap, &b) || b.value == target) continue;
      for (const std::string& line : b.steps) tr.steps.push_back({line, true});
      tr.steps.push_back({"wait " + std::to_string(b.value) + " is not " + std::to_string(target), true});
      break;
    }
  }
  for (int guard = 0; guard < 16; ++guard) {
    // Find an innermost "(a op b)" or, at the end, the bare "a op b".
    size_t open = expr.rfind('(');
    size_t close = open == std::string::npos ? expr.size() : expr.find(')', open);
    const size_t from = open == std::string::npos ? 0 : open + 1;
    const std::string inner = expr.substr(from, close - from);
    size_t opi = std::string::npos;
    for (size_t i = 1; i < inner.size(); ++i)
      if (std::string("+-*/").find(inner[i]) != std::string::npos) opi = i;
    if (opi == std::string::npos) break;
    const long long a = std::stoll(inner.substr(0, opi)), b = std::stoll(inner.substr(opi + 1));
    const char op = inner[opi];
    const long long r = op == '+' ? a + b : op == '-' ? a - b : op == '*' ? a * b : a / b;
    long long written = r;
    if (rng.Bernoulli(t.step_error_rate())) written = r + rng.Int(1, 3) * (rng.Bernoulli(0.5) ? 1 : -1);
    const std::string line = std::to_string(a) + op + std::to_string(b) + "=";
    tr.steps.push_back({line + std::to_string(written), written == r});
    if (written != r) {
      if (rng.Bernoulli(t.reflection_rate())) {
        tr.steps.push_back({"wait " + line + std::to_string(r), true});
      } else if (!corrupted) {
        // The slip reaches the answer: this combination's operator is wrong.
        const char wrong = op == '+' ? '-' : '+';
        const std::string from_s = std::to_string(a) + op + std::to_string(b);
        const size_t at = answer.find(from_s);
        if (at != std::string::npos) {
          answer[at + std::to_string(a).size()] = wrong;
        } else {  // an intermediate value: the first operator goes wrong instead
          const size_t first = answer.find_first_of("+-*/", 1);
          answer[first] = answer[first] == '+' ? '-' : '+';
        }
        corrupted = true;
      }
    }
    if (open == std::string::npos) break;
    expr = expr.substr(0, open) + std::to_string(r) + expr.substr(close + 1);
  }
  tr.completion = TraceCompletion(tr.steps, answer);
  tr.answer_correct = CheckCountdown(answer, numbers, target, cfg_.use_all_numbers()).correct;
  return tr;
}

Verdict VerifyCountdown(const std::string& completion, const std::vector<long long>& numbers, long long target,
                        bool use_all) {
  return JudgeExtracted(completion, ExtractTaggedAnswer(completion), [&](const std::string& a, std::string* why) {
    const CountdownCheck c = CheckCountdown(a, numbers, target, use_all);
    *why = c.why;
    return c.correct;
  });
}

std::optional<bool> CountdownTask::LineInTeacherForm(const std::string& line) const {
  static const std::regex form(R"((wait )?\d+[-+*/]\d+=-?\d+|wait \d+ is not \d+)");
  return std::regex_match(line, form);
}

Verdict CountdownTask::Verify(const std::string& completion, const Problem& p) const {
  std::vector<long long> numbers;
  long long target = 0;
  ParseKey(p.key, &numbers, &target);
  return VerifyCountdown(completion, numbers, target, cfg_.use_all_numbers());
}

}  // namespace r1lab

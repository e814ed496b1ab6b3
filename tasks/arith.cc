#include "arith.h"

#include <cmath>
#include <cstring>
#include <regex>

#include "error.h"

namespace r1lab {

namespace {

struct Expr {
  std::vector<long long> nums;
  std::vector<char> ops;
};

Expr Parse(const std::string& s) {
  Expr e;
  size_t i = 0;
  auto number = [&]() {
    size_t j = i;
    if (e.nums.empty() && j < s.size() && s[j] == '-') ++j;  // a step may start from a negative value
    const size_t digits = j;
    while (j < s.size() && std::isdigit(static_cast<unsigned char>(s[j]))) ++j;
    if (j == digits) throw InputError("arith: malformed expression '" + s + "'");
    long long v = 0;
    if (!ParseInteger(s.substr(i, j - i), &v)) throw InputError("arith: a number beyond 64 bits in '" + s + "'");
    e.nums.push_back(v);
    i = j;
  };
  number();
  while (i < s.size()) {
    const char op = s[i++];
    if (op != '+' && op != '-' && op != '*') throw InputError("arith: unknown operator in '" + s + "'");
    e.ops.push_back(op);
    number();
  }
  return e;
}

// a op b; false when the value is beyond 64 bits.
bool Apply(long long a, char op, long long b, long long* r) {
  switch (op) {
    case '+': return !__builtin_add_overflow(a, b, r);
    case '-': return !__builtin_sub_overflow(a, b, r);
    default: return !__builtin_mul_overflow(a, b, r);
  }
}

// a op b; InputError when the value is beyond 64 bits.
long long Apply(long long a, char op, long long b) {
  long long r = 0;
  if (!Apply(a, op, b, &r))
    throw InputError("arith: " + std::to_string(a) + op + std::to_string(b) + " is beyond 64 bits");
  return r;
}

std::string Line(long long a, char op, long long b, long long r) {
  return std::to_string(a) + op + std::to_string(b) + "=" + std::to_string(r);
}

std::string OpWord(char op, bool es) {
  switch (op) {
    case '+': return es ? "mas" : "plus";
    case '-': return es ? "menos" : "minus";
    default: return es ? "por" : "times";
  }
}

}  // namespace

std::optional<bool> ArithLineWrong(const std::string& line_in) {
  // Words to symbols, then "a op b = r".
  std::string s = " " + line_in + " ";
  const std::pair<const char*, const char*> words[] = {
      {" wait ", " "}, {" check ", " "}, {" espera ", " "}, {" comprueba ", " "}, {" plus ", "+"}, {" mas ", "+"},
      {" minus ", "-"}, {" menos ", "-"}, {" times ", "*"}, {" por ", "*"}, {" is ", "="}, {" es ", "="}};
  for (int pass = 0; pass < 2; ++pass)  // twice: adjacent words share a space
    for (const auto& [from, to] : words)
      for (size_t p = s.find(from); p != std::string::npos; p = s.find(from, p + 1)) s.replace(p, std::strlen(from) - 1, to);
  std::string t;
  for (char c : s)
    if (!std::isspace(static_cast<unsigned char>(c))) t += c;
  const size_t eq = t.find('=');
  if (eq == std::string::npos || eq == 0) return std::nullopt;
  long long result = 0;
  if (!ParseInteger(t.substr(eq + 1), &result)) return std::nullopt;
  try {
    const Expr e = Parse(t.substr(0, eq));
    if (e.ops.size() != 1) return std::nullopt;
    long long value = 0;  // beyond 64 bits, the line's (64-bit) result is wrong
    return !Apply(e.nums[0], e.ops[0], e.nums[1], &value) || value != result;
  } catch (const InputError&) {
    return std::nullopt;
  }
}

std::optional<bool> ArithTask::LineWrong(const std::string& line) const { return ArithLineWrong(line); }

std::optional<bool> ArithTask::LineInTeacherForm(const std::string& line) const {
  static const std::regex symbols(R"(((wait|check|espera|comprueba) )?-?\d+[-+*]\d+=-?\d+)");
  static const std::regex english(R"(((wait|check) )?-?\d+ (plus|minus|times) \d+ is -?\d+)");
  static const std::regex spanish(R"(((espera|comprueba) )?-?\d+ (mas|menos|por) \d+ es -?\d+)");
  if (!cfg_.worded()) return std::regex_match(line, symbols);
  return std::regex_match(line, english) || std::regex_match(line, spanish);
}

long long EvalLeftToRight(const std::string& expr) {
  const Expr e = Parse(expr);
  long long v = e.nums[0];
  for (size_t k = 0; k < e.ops.size(); ++k) v = Apply(v, e.ops[k], e.nums[k + 1]);
  return v;
}

ArithTask::ArithTask(const TaskConfig& task) : cfg_(task.arith()) {
  const double space = SpaceSize();
  // The training split must keep at least as many problems as the test split.
  const double need = 2.0 * task.num_test() + task.num_validation();
  if (space < need) {
    throw ConfigError("task.num_test: " + std::to_string(task.num_test()) + " test and " +
                      std::to_string(task.num_validation()) + " validation problems need at least " +
                      std::to_string(static_cast<long long>(need)) + " distinct problems, but this arith config has only " +
                      std::to_string(static_cast<long long>(space)) + "; the training split would be (nearly) empty");
  }
  // Test first (so adding validation left the test split as it was), then validation.
  Rng rng(task.split_seed());
  while (static_cast<int>(test_.size()) < task.num_test()) {
    Problem p = Draw(rng);
    if (held_out_keys_.insert(p.key).second) test_.push_back(std::move(p));
  }
  while (static_cast<int>(validation_.size()) < task.num_validation()) {
    Problem p = Draw(rng);
    if (held_out_keys_.insert(p.key).second) validation_.push_back(std::move(p));
  }
}

double ArithTask::SpaceSize() const {
  const double n_ops = cfg_.multiply() ? 3 : 2;
  double total = 0;
  for (int k = cfg_.min_ops(); k <= cfg_.max_ops(); ++k)
    total += std::pow(cfg_.max_operand(), k + 1) * std::pow(n_ops, k);
  return total;
}

Problem ArithTask::Draw(Rng& rng) const {
  const int k = static_cast<int>(rng.Int(cfg_.min_ops(), cfg_.max_ops()));
  std::string key = std::to_string(rng.Int(1, cfg_.max_operand()));
  static const char kOps[] = {'+', '-', '*'};
  for (int i = 0; i < k; ++i) {
    key += kOps[rng.Int(0, cfg_.multiply() ? 2 : 1)];
    key += std::to_string(rng.Int(1, cfg_.max_operand()));
  }
  Problem p;
  p.key = key;
  p.level = k;
  p.language = rng.Bernoulli(cfg_.spanish_rate()) ? "es" : "en";
  if (cfg_.worded()) {
    const Expr e = Parse(key);
    p.prompt = std::to_string(e.nums[0]);
    for (size_t k = 0; k < e.ops.size(); ++k)
      p.prompt += " " + OpWord(e.ops[k], p.language == "es") + " " + std::to_string(e.nums[k + 1]);
  } else {
    p.prompt = (p.language == "es" ? "es:" : "") + key;
  }
  p.gold = std::to_string(EvalLeftToRight(key));
  return p;
}

Problem ArithTask::SampleTrain(Rng& rng) const {
  for (int attempt = 0; attempt < 100000; ++attempt) {
    Problem p = Draw(rng);
    if (!held_out_keys_.count(p.key)) return p;
  }
  throw InputError("arith: could not draw a training problem outside the test and validation splits in 100000 tries");
}

Trace ArithTask::Teach(const Problem& p, const TeacherConfig& t, Rng& rng) const {
  const Expr e = Parse(p.key);
  const bool es = p.language == "es";
  // Each word is in the prompt's language, or the other with language_mix_rate.
  auto in_es = [&]() { return es != rng.Bernoulli(t.language_mix_rate()); };
  auto word = [&](const char* en_word, const char* es_word) { return std::string(in_es() ? es_word : en_word) + " "; };
  auto Line = [&](long long a, char op, long long b, long long r) {
    if (!cfg_.worded()) return ::r1lab::Line(a, op, b, r);
    const std::string op_word = OpWord(op, in_es());
    return std::to_string(a) + " " + op_word + " " + std::to_string(b) + " " + (in_es() ? "es" : "is") + " " +
           std::to_string(r);
  };
  Trace tr;
  long long cur = e.nums[0];
  for (size_t k = 0; k < e.ops.size(); ++k) {
    const char op = e.ops[k];
    const long long b = e.nums[k + 1];
    const long long right = Apply(cur, op, b);
    long long written = right;
    if (rng.Bernoulli(t.step_error_rate())) {
      const long long delta = rng.Int(1, 3) * (rng.Bernoulli(0.5) ? 1 : -1);
      written = right + delta;
    }
    tr.steps.push_back({Line(cur, op, b, written), written == right});
    bool fix = false;
    if (op != '*' && rng.Bernoulli(t.verification_rate())) {
      // Invert the step from what was written: a+b=w  ->  w-b=?, which shows a iff w is right.
      const char inv = op == '+' ? '-' : '+';
      tr.steps.push_back({word("check", "comprueba") + Line(written, inv, b, Apply(written, inv, b)), true});
      fix = written != right;
    }
    if (written != right && !fix) fix = rng.Bernoulli(t.reflection_rate());
    if (fix) {
      tr.steps.push_back({word("wait", "espera") + Line(cur, op, b, right), true});
      written = right;
    }
    cur = written;
  }
  tr.completion = TraceCompletion(tr.steps, std::to_string(cur));
  tr.answer_correct = std::to_string(cur) == p.gold;
  return tr;
}

}  // namespace r1lab

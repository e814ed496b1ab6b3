#include "code.h"

#include <cctype>
#include <functional>

#include "error.h"
#include "text.h"

namespace r1lab {

namespace {

struct Stop {  // interpreter failure, with its reason
  std::string why;
};

enum class K { kNum, kVar, kBin, kNeg, kAssign, kReturn, kIf, kWhile, kBlock };

struct N {
  K k;
  long long num = 0;
  char op = 0;       // binary operator, or comparison code
  int var = 0;       // a..z
  std::vector<int> kids = {};
};

const char* const kCmp[] = {"lt", "le", "gt", "ge", "eq", "ne"};

class CodeParser {
 public:
  CodeParser(const std::string& s, const CodeLimits& lim) : s_(s), lim_(lim) {}
  std::vector<N> nodes;

  int Program() {
    N block{K::kBlock};
    block.kids.push_back(Stmt());
    while (Eat(";")) {
      Skip();
      if (i_ >= s_.size() || s_[i_] == '}') break;  // a trailing ';' is fine
      block.kids.push_back(Stmt());
    }
    return Add(block);
  }
  void End() {
    Skip();
    if (i_ != s_.size()) throw Stop{"unexpected '" + Utf8Cut(s_, i_, 10) + "'"};
  }

 private:
  // One level of nesting: a '{' block or a '(' group. Every recursion of the
  // parser goes through one (or consumes a '-'), so this also bounds the stack.
  struct Guard {
    explicit Guard(CodeParser* p) : p_(p) {
      if (++p_->depth_ > p_->lim_.max_depth) throw Stop{"program nested too deeply"};
    }
    ~Guard() { --p_->depth_; }
    CodeParser* p_;
  };
  int Add(N n) {
    nodes.push_back(std::move(n));
    return static_cast<int>(nodes.size()) - 1;
  }
  void Skip() {
    while (i_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[i_]))) ++i_;
  }
  bool Keyword(const std::string& w) {
    Skip();
    if (s_.compare(i_, w.size(), w) != 0) return false;
    const size_t e = i_ + w.size();
    if (e < s_.size() && std::isalnum(static_cast<unsigned char>(s_[e]))) return false;
    i_ = e;
    return true;
  }
  bool Eat(const std::string& t) {
    Skip();
    if (s_.compare(i_, t.size(), t) != 0) return false;
    i_ += t.size();
    return true;
  }
  void Expect(const std::string& t) {
    if (!Eat(t)) throw Stop{"expected '" + t + "'"};
  }
  int Block() {
    Expect("{");
    Guard g(this);
    const int b = Program();
    Expect("}");
    return b;
  }
  int Stmt() {
    if (Keyword("return")) return Add({K::kReturn, 0, 0, 0, {Expr()}});
    if (Keyword("if")) {
      N n{K::kIf};
      n.kids = {Cond(), Block()};
      if (Keyword("else")) n.kids.push_back(Block());
      return Add(n);
    }
    if (Keyword("while")) {
      N n{K::kWhile};
      n.kids = {Cond(), Block()};
      return Add(n);
    }
    Skip();
    if (i_ < s_.size() && std::islower(static_cast<unsigned char>(s_[i_])) &&
        (i_ + 1 >= s_.size() || !std::isalnum(static_cast<unsigned char>(s_[i_ + 1])))) {
      const int var = s_[i_++] - 'a';
      Expect("=");
      return Add({K::kAssign, 0, 0, var, {Expr()}});
    }
    throw Stop{"expected a statement at '" + Utf8Cut(s_, i_, 10) + "'"};
  }
  int Cond() {
    const int a = Expr();
    for (int c = 0; c < 6; ++c)
      if (Keyword(kCmp[c])) return Add({K::kBin, 0, static_cast<char>('0' + c), 0, {a, Expr()}});
    throw Stop{"expected a comparison (lt le gt ge eq ne)"};
  }
  int Expr() {
    int a = Term();
    for (;;) {
      Skip();
      if (i_ < s_.size() && (s_[i_] == '+' || s_[i_] == '-')) {
        const char op = s_[i_++];
        a = Add({K::kBin, 0, op, 0, {a, Term()}});
      } else {
        return a;
      }
    }
  }
  int Term() {
    int a = Unary();
    for (;;) {
      Skip();
      if (i_ < s_.size() && (s_[i_] == '*' || s_[i_] == '/' || s_[i_] == '%')) {
        const char op = s_[i_++];
        a = Add({K::kBin, 0, op, 0, {a, Unary()}});
      } else {
        return a;
      }
    }
  }
  int Unary() {
    if (Eat("-")) return Add({K::kNeg, 0, 0, 0, {Unary()}});
    if (Eat("(")) {
      Guard g(this);
      const int e = Expr();
      Expect(")");
      return e;
    }
    Skip();
    if (i_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[i_]))) {
      long long v = 0;
      while (i_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[i_]))) {
        v = v * 10 + (s_[i_++] - '0');
        if (v > lim_.max_value) throw Stop{"value limit"};
      }
      return Add({K::kNum, v});
    }
    if (i_ < s_.size() && std::islower(static_cast<unsigned char>(s_[i_])) &&
        (i_ + 1 >= s_.size() || !std::isalnum(static_cast<unsigned char>(s_[i_ + 1]))))
      return Add({K::kVar, 0, 0, s_[i_++] - 'a'});
    throw Stop{"expected a value at '" + Utf8Cut(s_, i_, 10) + "'"};
  }

  const std::string& s_;
  const CodeLimits& lim_;
  size_t i_ = 0;
  int depth_ = 0;
};

class Interpreter {
 public:
  Interpreter(const std::vector<N>& nodes, const CodeLimits& lim, long long x) : n_(nodes), lim_(lim) {
    vars_['x' - 'a'] = x;
  }
  long long steps = 0;

  // Returns true when a `return` ran; its value is in *out.
  bool Exec(int k, long long* out) {
    Tick();
    const N& n = n_[k];
    switch (n.k) {
      case K::kBlock:
        for (int c : n.kids)
          if (Exec(c, out)) return true;
        return false;
      case K::kAssign: vars_[n.var] = Eval(n.kids[0]); return false;
      case K::kReturn: *out = Eval(n.kids[0]); return true;
      case K::kIf:
        if (Eval(n.kids[0])) return Exec(n.kids[1], out);
        return n.kids.size() > 2 && Exec(n.kids[2], out);
      case K::kWhile:
        while (Eval(n.kids[0]))
          if (Exec(n.kids[1], out)) return true;
        return false;
      default: throw Stop{"not a statement"};
    }
  }

 private:
  void Tick() {
    if (++steps > lim_.max_steps) throw Stop{"step limit"};
  }
  long long Check(long long v) const {
    if (v > lim_.max_value || v < -lim_.max_value) throw Stop{"value limit"};
    return v;
  }
  long long Eval(int k) {
    Tick();
    const N& n = n_[k];
    switch (n.k) {
      case K::kNum: return n.num;
      case K::kVar: return vars_[n.var];
      case K::kNeg: return -Eval(n.kids[0]);
      case K::kBin: {
        const long long a = Eval(n.kids[0]), b = Eval(n.kids[1]);
        switch (n.op) {  // operands are within max_value (<= 1e12), so these cannot overflow but '*'
          case '+': return Check(a + b);
          case '-': return Check(a - b);
          case '*': {
            long long r;
            if (__builtin_mul_overflow(a, b, &r)) throw Stop{"value limit"};
            return Check(r);
          }
          case '/':
          case '%': {
            if (b == 0) throw Stop{"division by zero"};
            long long q = a / b, r = a % b;
            if (r != 0 && ((r < 0) != (b < 0))) {  // floor, as in Python
              --q;
              r += b;
            }
            return n.op == '/' ? q : r;
          }
          case '0': return a < b;
          case '1': return a <= b;
          case '2': return a > b;
          case '3': return a >= b;
          case '4': return a == b;
          default: return a != b;
        }
      }
      default: throw Stop{"not an expression"};
    }
  }

  const std::vector<N>& n_;
  const CodeLimits& lim_;
  long long vars_[26] = {};
};

// The reference program of a key such as "lin:2:1".
std::string GoldProgram(const std::string& key) {
  std::vector<std::string> f;
  size_t start = 0;
  for (size_t i = 0; i <= key.size(); ++i)
    if (i == key.size() || key[i] == ':') {
      f.push_back(key.substr(start, i - start));
      start = i + 1;
    }
  auto term = [](const std::string& v) { return (v[0] == '-' ? "" : "+") + v; };
  if (f[0] == "lin" && f.size() == 3) return "return x*" + f[1] + term(f[2]);
  if (f[0] == "pw" && f.size() == 4) return "if x gt " + f[1] + "{return x*" + f[2] + "}else{return " + f[3] + "}";
  if (f[0] == "mod" && f.size() == 3) return "return x%" + f[1] + "*" + f[2];
  if (f[0] == "dsum" && f.size() == 2) return "s=0;while x gt 0{s=s+x%10;x=x/10};return s*" + f[1];
  if (f[0] == "tri" && f.size() == 2) return "s=0;while x gt 0{s=s+x;x=x-1};return s" + term(f[1]);
  if (f[0] == "pow" && f.size() == 2) return "p=1;while x gt 0{p=p*" + f[1] + ";x=x-1};return p";
  throw InputError("code: malformed key '" + key + "'");
}

}  // namespace

RunResult RunProgram(const std::string& program, long long x, const CodeLimits& limits) {
  RunResult r;
  try {
    if (static_cast<int>(program.size()) > limits.max_chars)
      throw Stop{"program longer than " + std::to_string(limits.max_chars) + " characters"};
    CodeParser parser(program, limits);
    const int root = parser.Program();
    parser.End();
    Interpreter in(parser.nodes, limits, x);
    long long v = 0;
    const bool returned = in.Exec(root, &v);
    r.steps = in.steps;
    if (!returned) throw Stop{"no return"};
    r.ok = true;
    r.value = v;
  } catch (const Stop& s) {
    r.error = s.why;
  }
  return r;
}

bool PassesTests(const std::string& program, const std::vector<CodeTest>& tests, std::string* why,
                 const CodeLimits& limits) {
  if (tests.empty()) {
    *why = "no tests";
    return false;
  }
  for (const CodeTest& t : tests) {
    const RunResult r = RunProgram(program, t.input, limits);
    if (!r.ok) {
      *why = "f(" + std::to_string(t.input) + "): " + r.error;
      return false;
    }
    if (r.value != t.output) {
      *why = "f(" + std::to_string(t.input) + ") gave " + std::to_string(r.value) + ", expected " +
             std::to_string(t.output);
      return false;
    }
  }
  return true;
}

std::vector<CodeTest> CodeTask::Tests(const std::string& key, bool hidden) {
  // Inputs are fixed by the key: visible ones from [0, 12], hidden ones
  // from [0, 40] (powers stay within [0, 12]); the two sets never overlap.
  const bool power = key.rfind("pow", 0) == 0;
  Rng rng(Fnv64(key));
  std::vector<long long> inputs;
  const int visible = 3, total = 8;
  std::vector<bool> used(41, false);
  while (static_cast<int>(inputs.size()) < total) {
    const long long x = static_cast<int>(inputs.size()) < visible ? rng.Int(0, 12) : rng.Int(0, power ? 12 : 40);
    if (used[x]) continue;
    used[x] = true;
    inputs.push_back(x);
  }
  const std::string gold = GoldProgram(key);
  std::vector<CodeTest> tests;
  for (size_t i = hidden ? visible : 0; i < (hidden ? inputs.size() : static_cast<size_t>(visible)); ++i) {
    const RunResult r = RunProgram(gold, inputs[i]);
    R1_CHECK(r.ok, "code: the reference program failed on its own test: " + r.error);
    tests.push_back({inputs[i], r.value});
  }
  return tests;
}

CodeTask::CodeTask(const TaskConfig& cfg) : cfg_(cfg.code()) { BuildSplit(cfg); }

Problem CodeTask::Draw(Rng& rng) const {
  const int level = static_cast<int>(rng.Int(cfg_.min_level(), cfg_.max_level()));
  std::string key;
  if (level == 1) {
    key = "lin:" + std::to_string(rng.Int(1, 5)) + ":" + std::to_string(rng.Int(-5, 9));
  } else if (level == 2) {
    key = rng.Bernoulli(0.5) ? "pw:" + std::to_string(rng.Int(0, 9)) + ":" + std::to_string(rng.Int(1, 5)) + ":" +
                                   std::to_string(rng.Int(0, 20))
                             : "mod:" + std::to_string(rng.Int(2, 7)) + ":" + std::to_string(rng.Int(1, 5));
  } else {
    const int family = static_cast<int>(rng.Int(0, 2));
    key = family == 0 ? "dsum:" + std::to_string(rng.Int(1, 5))
          : family == 1 ? "tri:" + std::to_string(rng.Int(-5, 9))
                        : "pow:" + std::to_string(rng.Int(2, 3));
  }
  Problem p;
  p.key = key;
  p.gold = GoldProgram(key);
  p.level = level;
  for (const CodeTest& t : Tests(key, false))
    p.prompt += (p.prompt.empty() ? "" : " ") + std::string("f(") + std::to_string(t.input) + ")=" +
                std::to_string(t.output);
  return p;
}

Trace CodeTask::Teach(const Problem& p, const TeacherConfig& t, Rng& rng) const {
  const std::vector<CodeTest> visible = Tests(p.key, false);
  const std::vector<CodeTest> hidden = Tests(p.key, true);
  Trace tr;
  auto attempt = [&](const std::string& program, const std::string& prefix) {
    std::string why;
    const bool right = PassesTests(program, visible, &why) && PassesTests(program, hidden, &why);
    tr.steps.push_back({prefix + "try " + program, right});
    bool all_ok = true;
    for (const CodeTest& c : visible) {
      const RunResult r = RunProgram(program, c.input);
      const bool ok = r.ok && r.value == c.output;
      all_ok &= ok;
      tr.steps.push_back({"f(" + std::to_string(c.input) + ") gives " + (r.ok ? std::to_string(r.value) : r.error) +
                              (ok ? " ok" : " no"),
                          true});
    }
    return all_ok;
  };
  std::string answer = p.gold;
  if (rng.Bernoulli(t.step_error_rate())) {
    // A wrong constant: the last number in the program, off by 1 or 2.
    std::string wrong = p.gold;
    size_t end = wrong.find_last_of("0123456789");
    size_t begin = end;
    while (begin > 0 && std::isdigit(static_cast<unsigned char>(wrong[begin - 1]))) --begin;
    const long long v = std::stoll(wrong.substr(begin, end - begin + 1));
    wrong.replace(begin, end - begin + 1, std::to_string(v + rng.Int(1, 2)));
    attempt(wrong, "");
    if (rng.Bernoulli(t.reflection_rate())) attempt(p.gold, "wait ");
    else answer = wrong;
  } else {
    attempt(p.gold, "");
  }
  tr.completion = TraceCompletion(tr.steps, answer);
  std::string why;
  tr.answer_correct = PassesTests(answer, visible, &why) && PassesTests(answer, hidden, &why);
  return tr;
}

Verdict VerifyProgram(const std::string& completion, const std::vector<CodeTest>& tests, const CodeLimits& limits) {
  return JudgeExtracted(completion, ExtractTaggedAnswer(completion),
                        [&](const std::string& a, std::string* why) { return PassesTests(a, tests, why, limits); });
}

Verdict CodeTask::Verify(const std::string& completion, const Problem& p) const {
  std::vector<CodeTest> tests = Tests(p.key, false);
  for (const CodeTest& t : Tests(p.key, true)) tests.push_back(t);
  CodeLimits lim;
  lim.max_steps = cfg_.max_steps();
  return VerifyProgram(completion, tests, lim);
}

}  // namespace r1lab

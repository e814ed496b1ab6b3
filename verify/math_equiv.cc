#include "math_equiv.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <stdexcept>
#include <vector>

#include "text.h"

#include <boost/multiprecision/cpp_bin_float.hpp>
#include <boost/multiprecision/cpp_int.hpp>

namespace r1lab {

namespace {

namespace mp = boost::multiprecision;
using Rational = mp::cpp_rational;
using BigInt = mp::cpp_int;
using Float = mp::cpp_bin_float_100;

constexpr size_t kMaxChars = 2000;
constexpr int kMaxDepth = 100;         // nesting levels of braces or brackets
constexpr int kMaxParserFrames = 600;  // parser recursion (about 6 frames per nesting level)
constexpr size_t kMaxNodes = 2000;
constexpr unsigned kMaxBits = 20000;  // exact values larger than this become floats
constexpr int kRounds = 3;            // random symbol assignments
// Work units (about a microsecond each) one comparison may spend: a sum of
// 80 huge binomials is "too large to verify" in milliseconds, not seconds.
constexpr long long kMaxWork = 50000;
// Inexact values (100-digit floats) are equal when they agree to 60 digits.
const Float& FloatTol() {
  static const Float tol("1e-60");
  return tol;
}

struct Unverifiable : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The work budget of the comparison running on this thread (CompareMath
// resets it; evaluation spends it).
thread_local long long t_work_left = 0;
void Spend(long long units) {
  t_work_left -= units;
  if (t_work_left < 0) throw Unverifiable("too large to verify (the work bound was reached)");
}

// ---------------------------------------------------------------- values

// A complex number: exact rational parts, or 50-digit float parts.
struct Value {
  bool exact = true;
  Rational re, im;
  Float fre, fim;
};

Float ToF(const Rational& q) { return Float(mp::numerator(q)) / Float(mp::denominator(q)); }
Float Re(const Value& v) { return v.exact ? ToF(v.re) : v.fre; }
Float Im(const Value& v) { return v.exact ? ToF(v.im) : v.fim; }

Value Exact(Rational re, Rational im = 0) {
  Value v;
  v.re = std::move(re);
  v.im = std::move(im);
  return v;
}

Value Approx(const Float& re, const Float& im) {
  if (!mp::isfinite(re) || !mp::isfinite(im)) throw Unverifiable("value overflows");
  Spend(1);
  Value v;
  v.exact = false;
  v.fre = re;
  v.fim = im;
  return v;
}

unsigned Bits(const Rational& q) {
  const BigInt& n = mp::numerator(q);
  const BigInt& d = mp::denominator(q);
  return (n == 0 ? 0 : static_cast<unsigned>(mp::msb(mp::abs(n)))) + static_cast<unsigned>(mp::msb(d));
}

Value Shrink(Value v) {  // exact values too large to keep exact become floats
  if (v.exact) {
    const long long words = (Bits(v.re) + Bits(v.im)) / 64 + 1;
    // Products and gcds are quadratic in the size; a gcd (a rational) costs far more.
    const bool integers = mp::denominator(v.re) == 1 && mp::denominator(v.im) == 1;
    Spend(integers ? 1 + words * words / 256 : 2 + words * words / 8);
  }
  if (v.exact && (Bits(v.re) > kMaxBits || Bits(v.im) > kMaxBits)) return Approx(ToF(v.re), ToF(v.im));
  return v;
}

bool IsReal(const Value& v) { return v.exact ? v.im == 0 : v.fim == 0; }
bool IsExactInteger(const Value& v) { return v.exact && v.im == 0 && mp::denominator(v.re) == 1; }

Value Add(const Value& a, const Value& b) {
  if (a.exact && b.exact) return Shrink(Exact(a.re + b.re, a.im + b.im));
  return Approx(Re(a) + Re(b), Im(a) + Im(b));
}
Value Neg(const Value& a) { return a.exact ? Exact(-a.re, -a.im) : Approx(-a.fre, -a.fim); }
Value Mul(const Value& a, const Value& b) {
  if (a.exact && b.exact) return Shrink(Exact(a.re * b.re - a.im * b.im, a.re * b.im + a.im * b.re));
  const Float ar = Re(a), ai = Im(a), br = Re(b), bi = Im(b);
  return Approx(ar * br - ai * bi, ar * bi + ai * br);
}
Value Div(const Value& a, const Value& b) {
  if (b.exact ? (b.re == 0 && b.im == 0) : (b.fre == 0 && b.fim == 0)) throw Unverifiable("division by zero");
  if (a.exact && b.exact) {
    const Rational den = b.re * b.re + b.im * b.im;
    return Shrink(Exact((a.re * b.re + a.im * b.im) / den, (a.im * b.re - a.re * b.im) / den));
  }
  const Float ar = Re(a), ai = Im(a), br = Re(b), bi = Im(b);
  const Float den = br * br + bi * bi;
  return Approx((ar * br + ai * bi) / den, (ai * br - ar * bi) / den);
}

// Principal complex logarithm and exponential, in floats.
Value Log(const Value& a) {
  Spend(20);
  const Float r = Re(a), i = Im(a);
  if (r == 0 && i == 0) throw Unverifiable("log of zero");
  return Approx(mp::log(mp::sqrt(r * r + i * i)), mp::atan2(i, r));
}
Value Exp(const Value& a) {
  Spend(20);
  const Float r = Re(a), i = Im(a);
  if (r > 1e6) throw Unverifiable("value overflows");
  const Float m = mp::exp(r);
  return Approx(m * mp::cos(i), m * mp::sin(i));
}

// Exact integer k-th root of a non-negative integer, if there is one.
std::optional<BigInt> IntRoot(const BigInt& n, unsigned k) {
  if (n < 0) return std::nullopt;
  if (n < 2) return n;
  const unsigned bits = static_cast<unsigned>(mp::msb(n)) + 1;
  BigInt lo = 0, hi = BigInt(1) << (bits / k + 1);
  while (lo < hi) {  // largest x with x^k <= n
    const BigInt mid = (lo + hi + 1) / 2;
    if (mp::pow(mid, k) <= n) lo = mid;
    else hi = mid - 1;
  }
  if (mp::pow(lo, k) == n) return lo;
  return std::nullopt;
}

Value PowInt(Value base, BigInt n) {
  const bool invert = n < 0;
  if (invert) n = -n;
  Value result = Exact(1);
  while (n > 0) {
    if (n & 1) result = Mul(result, base);
    n >>= 1;
    if (n > 0) base = Mul(base, base);
  }
  return invert ? Div(Exact(1), result) : result;
}

Value Pow(const Value& a, const Value& b) {
  if (IsExactInteger(b)) {
    const BigInt n = mp::numerator(b.re);
    if (a.exact && (a.re == 0 && a.im == 0)) {
      if (n > 0) return Exact(0);
      throw Unverifiable("zero to a non-positive power");
    }
    // Exact when the result stays small; floats (which may overflow) otherwise.
    const unsigned bits = std::max(Bits(a.re), Bits(a.im)) + 1;
    if (mp::abs(n) <= 4096 && (a.exact ? BigInt(bits) * mp::abs(n) <= kMaxBits : true)) return PowInt(a, n);
    if (a.exact && mp::abs(n) <= 4096) return PowInt(Approx(ToF(a.re), ToF(a.im)), n);
  }
  if (a.exact && b.exact && b.im == 0 && a.im == 0 && a.re > 0 && mp::denominator(b.re) <= 64 &&
      mp::abs(mp::numerator(b.re)) <= 4096) {
    // Rational power of a positive rational: exact when the root is.
    const unsigned k = static_cast<unsigned>(mp::denominator(b.re));
    const auto rn = IntRoot(mp::numerator(a.re), k);
    const auto rd = IntRoot(mp::denominator(a.re), k);
    if (rn && rd) return Pow(Exact(Rational(*rn, *rd)), Exact(Rational(mp::numerator(b.re))));
  }
  if (a.exact ? (a.re == 0 && a.im == 0) : (a.fre == 0 && a.fim == 0)) {
    if (Re(b) > 0) return Exact(0);
    throw Unverifiable("zero to a non-positive power");
  }
  // Square roots of positive reals directly (much cheaper than exp(log)).
  if (IsReal(a) && Re(a) > 0 && b.exact && b.im == 0 && mp::denominator(b.re) == 2 &&
      mp::abs(mp::numerator(b.re)) <= 4096) {
    Spend(5);
    return Pow(Approx(mp::sqrt(Re(a)), 0), Exact(Rational(mp::numerator(b.re))));
  }
  // Real base and real exponent with an odd-denominator root of a negative
  // number: the real root, as a reader expects (\sqrt[3]{-8} = -2).
  if (IsReal(a) && IsReal(b) && Re(a) < 0 && b.exact && mp::denominator(b.re) % 2 == 1) {
    const Value m = Pow(Neg(a), b);
    return mp::numerator(b.re) % 2 == 0 ? m : Neg(m);
  }
  return Exp(Mul(b, Log(a)));
}

// ---------------------------------------------------------------- expressions

enum class Op { kNum, kSym, kImag, kPi, kE, kAdd, kSub, kMul, kDiv, kPow, kNeg, kFunc, kFact, kAbs, kSum, kProd };

struct Node {
  Op op;
  Rational num;
  std::string name;  // symbol, function, or the index of a sum or product
  int a = -1, b = -1;
  int c = -1;  // the body of a sum or product (a, b: its bounds)
};

struct Expr {
  std::vector<Node> nodes;
  int root = -1;
  bool decimal = false;  // written with a decimal point somewhere: rel_tol applies
};

bool IsLetter(char c) { return std::isalpha(static_cast<unsigned char>(c)) != 0; }
bool IsDigit(char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; }

const std::set<std::string>& Functions() {
  static const std::set<std::string> f = {"sin", "cos", "tan", "sec", "csc", "cot", "arcsin", "arccos",
                                          "arctan", "sinh", "cosh", "tanh", "ln", "log", "exp"};
  return f;
}
const std::set<std::string>& Greek() {
  static const std::set<std::string> g = {"alpha", "beta",  "gamma", "delta", "epsilon", "varepsilon", "zeta",
                                          "eta",   "theta", "vartheta", "iota", "kappa", "lambda",    "mu",
                                          "nu",    "xi",    "rho",   "sigma", "tau",     "upsilon",    "phi",
                                          "varphi", "chi",  "psi",   "omega", "Gamma",   "Delta",      "Theta",
                                          "Lambda", "Xi",   "Pi",    "Sigma", "Phi",     "Psi",        "Omega",
                                          "infty"};
  return g;
}

// Recursive descent over normalised LaTeX:
//   sum     := ['+'|'-'] term (('+'|'-') term)*
//   term    := factor (('*'|'/') factor | factor)*      (juxtaposition multiplies)
//   factor  := ['-'|'+'] power
//   power   := postfix ['^' exponent]
//   postfix := primary ['!']*
// An integer directly followed by a \frac of integers is a mixed number
// (1\frac{4}{5} = 9/5); `e` alone is Euler's number; \sum and \prod with
// integer bounds are evaluated term by term.
class Parser {
 public:
  explicit Parser(const std::string& s) : s_(s) {}

  Expr Parse() {
    Expr e;
    e.root = ParseInto(&e);
    return e;
  }
  // Parses the whole text into e's nodes (a sub-expression); returns its root.
  int ParseInto(Expr* e) {
    e_ = e;
    const int root = Sum();
    Skip();
    if (i_ != s_.size()) throw Unverifiable("unexpected '" + Utf8Cut(s_, i_, 12) + "'");
    return root;
  }

 private:
  struct DepthGuard {
    explicit DepthGuard(int& d) : d_(d) {
      if (++d_ > kMaxParserFrames) throw Unverifiable("expression nested too deeply");
    }
    ~DepthGuard() { --d_; }
    int& d_;
  };

  int Add(Node n) {
    if (e_->nodes.size() >= kMaxNodes) throw Unverifiable("expression too large");
    e_->nodes.push_back(std::move(n));
    return static_cast<int>(e_->nodes.size()) - 1;
  }
  int Bin(Op op, int a, int b) { return Add({op, 0, "", a, b}); }

  void Skip() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n')) ++i_;
  }
  bool Peek(char c) {
    Skip();
    return i_ < s_.size() && s_[i_] == c;
  }
  bool Eat(char c) {
    if (!Peek(c)) return false;
    ++i_;
    return true;
  }
  bool PeekCommand(const std::string& name) {
    Skip();
    if (s_.compare(i_, name.size() + 1, "\\" + name) != 0) return false;
    const size_t end = i_ + name.size() + 1;
    return end >= s_.size() || !IsLetter(s_[end]);
  }
  std::string Command() {  // at '\\': reads the command name
    size_t j = i_ + 1;
    while (j < s_.size() && IsLetter(s_[j])) ++j;
    std::string name = s_.substr(i_ + 1, j - i_ - 1);
    i_ = j;
    return name;
  }

  int Sum() {
    DepthGuard g(depth_);
    int left;
    if (Eat('-')) left = Add({Op::kNeg, 0, "", Term(), -1});
    else {
      Eat('+');
      left = Term();
    }
    for (;;) {
      if (Eat('+')) left = Bin(Op::kAdd, left, Term());
      else if (Eat('-')) left = Bin(Op::kSub, left, Term());
      else return left;
    }
  }

  bool StartsFactor() {
    Skip();
    if (i_ >= s_.size()) return false;
    const char c = s_[i_];
    if (c == '\\') return !PeekCommand("right") && !PeekCommand("end");
    return IsDigit(c) || IsLetter(c) || c == '(' || c == '{' || c == '[' || c == '.' ||
           (c == '|' && !closing_abs_);
  }

  // At "\frac{digits}{digits}" (or "\frac dd")?
  bool FracOfIntegersAhead() {
    if (!PeekCommand("frac")) return false;
    size_t j = i_ + 5;
    for (int arg = 0; arg < 2; ++arg) {
      while (j < s_.size() && s_[j] == ' ') ++j;
      if (j < s_.size() && IsDigit(s_[j])) {  // \frac12: one digit per argument
        ++j;
        continue;
      }
      if (j >= s_.size() || s_[j] != '{') return false;
      size_t k = j + 1;
      while (k < s_.size() && (IsDigit(s_[k]) || s_[k] == ' ')) ++k;
      if (k == j + 1 || k >= s_.size() || s_[k] != '}') return false;
      j = k + 1;
    }
    return true;
  }

  int Term() {
    DepthGuard g(depth_);
    int left = Factor();
    // A mixed number: an integer literal (or its negation) then a fraction of integers.
    const Node& first = e_->nodes[left];
    const bool negated = first.op == Op::kNeg && e_->nodes[first.a].op == Op::kNum;
    if ((first.op == Op::kNum || negated) && mp::denominator((negated ? e_->nodes[first.a] : first).num) == 1 &&
        FracOfIntegersAhead()) {
      const int whole = negated ? first.a : left;
      const int sum = Bin(Op::kAdd, whole, Power());
      left = negated ? Add({Op::kNeg, 0, "", sum, -1}) : sum;
    }
    for (;;) {
      if (Eat('*')) left = Bin(Op::kMul, left, Factor());
      else if (Eat('/')) left = Bin(Op::kDiv, left, Factor());
      else if (NumbersSideBySide()) throw Unverifiable("two numbers side by side");
      else if (StartsFactor()) left = Bin(Op::kMul, left, Power());
      else return left;
    }
  }

  // "2 3": a digit, spaces, a digit. Not a product (nor 23): what it means is
  // unknown. (Spaced thousands, "1 000", are joined before parsing.)
  bool NumbersSideBySide() {
    Skip();
    if (i_ >= s_.size() || !(IsDigit(s_[i_]) || s_[i_] == '.')) return false;
    size_t j = i_;  // back over the spaces before it (earlier parsing may have skipped them)
    while (j > 0 && std::isspace(static_cast<unsigned char>(s_[j - 1]))) --j;
    return j < i_ && j > 0 && IsDigit(s_[j - 1]);
  }

  int Factor() {
    DepthGuard g(depth_);
    if (Eat('-')) return Add({Op::kNeg, 0, "", Factor(), -1});
    if (Eat('+')) return Factor();
    return Power();
  }

  int Power() {
    DepthGuard g(depth_);
    const int base = Postfix();
    if (!Eat('^')) return base;
    return Bin(Op::kPow, base, Exponent());
  }

  // After '^': a braced group, a run of digits ("2^10" is 1024), or one factor.
  int Exponent() {
    Skip();
    if (Peek('{')) return Group('{', '}');
    if (i_ < s_.size() && IsDigit(s_[i_])) return Number();
    if (Eat('-')) return Add({Op::kNeg, 0, "", Exponent(), -1});
    return Postfix();
  }

  int Postfix() {
    int p = Primary();
    while (Eat('!')) p = Add({Op::kFact, 0, "", p, -1});
    return p;
  }

  int Group(char open, char close) {
    DepthGuard g(depth_);
    if (!Eat(open)) throw Unverifiable(std::string("expected '") + open + "'");
    const bool saved = closing_abs_;
    closing_abs_ = false;
    const int inner = Sum();
    closing_abs_ = saved;
    if (!Eat(close)) throw Unverifiable(std::string("expected '") + close + "'");
    return inner;
  }

  // A LaTeX argument: {group} or a single digit/letter/command.
  int Argument() {
    Skip();
    if (Peek('{')) return Group('{', '}');
    if (i_ < s_.size() && IsDigit(s_[i_])) return Add({Op::kNum, Rational(s_[i_++] - '0'), "", -1, -1});
    return Primary();
  }

  int Number() {
    Skip();
    const size_t start = i_;
    BigInt digits = 0;
    int scale = 0;
    bool any = false, point = false;
    while (i_ < s_.size() && (IsDigit(s_[i_]) || (s_[i_] == '.' && !point && i_ + 1 < s_.size() && IsDigit(s_[i_ + 1])))) {
      if (s_[i_] == '.') point = true;
      else {
        digits = digits * 10 + (s_[i_] - '0');
        if (point) ++scale;
        any = true;
      }
      ++i_;
      if (i_ - start > 400) throw Unverifiable("number longer than 400 digits");
    }
    if (!any) throw Unverifiable("expected a number");
    // A repeating decimal, exact: 0.\\overline{3} is 1/3, 0.1\\overline{6} 1/6.
    if (size_t j = i_ + (i_ < s_.size() && s_[i_] == '.' && !point); s_.compare(j, 10, "\\overline{") == 0) {
      size_t k = j + 10;
      BigInt repeat = 0;
      int m = 0;
      for (; k < s_.size() && IsDigit(s_[k]) && m < 50; ++k, ++m) repeat = repeat * 10 + (s_[k] - '0');
      if (m > 0 && k < s_.size() && s_[k] == '}') {
        i_ = k + 1;
        const BigInt shift = mp::pow(BigInt(10), m);
        return Add({Op::kNum, Rational(digits * shift + repeat - digits, mp::pow(BigInt(10), scale) * (shift - 1)),
                    "", -1, -1});
      }
    }
    // Scientific notation: 1e-5, 2.5E3 (a letter e followed by digits; "2e" is 2 times e).
    int exponent = 0;
    if (i_ < s_.size() && (s_[i_] == 'e' || s_[i_] == 'E')) {
      size_t j = i_ + 1;
      const bool negative = j < s_.size() && s_[j] == '-';
      if (j < s_.size() && (s_[j] == '-' || s_[j] == '+')) ++j;
      const size_t digits_at = j;
      while (j < s_.size() && IsDigit(s_[j]) && j - digits_at < 4) exponent = exponent * 10 + (s_[j++] - '0');
      if (j > digits_at && (j >= s_.size() || !IsDigit(s_[j]))) {
        i_ = j;
        if (negative) exponent = -exponent;
        point = true;  // written as a decimal: rel_tol applies
      } else {
        exponent = 0;
      }
    }
    e_->decimal |= point;
    scale -= exponent;
    if (scale >= 0) return Add({Op::kNum, Rational(digits, mp::pow(BigInt(10), scale)), "", -1, -1});
    return Add({Op::kNum, Rational(digits * mp::pow(BigInt(10), -scale)), "", -1, -1});
  }

  int Primary() {
    DepthGuard g(depth_);
    Skip();
    if (i_ >= s_.size()) throw Unverifiable("expression ends early");
    const char c = s_[i_];
    if (IsDigit(c) || c == '.') return Number();
    if (c == '(') return Group('(', ')');
    if (c == '[') return Group('[', ']');
    if (c == '{') return Group('{', '}');
    if (c == '|' && !closing_abs_) {
      ++i_;
      const bool saved = closing_abs_;
      closing_abs_ = true;
      const int inner = Sum();
      closing_abs_ = saved;
      if (!Eat('|')) throw Unverifiable("unclosed '|'");
      return Add({Op::kAbs, 0, "", inner, -1});
    }
    if (IsLetter(c)) {
      ++i_;
      std::string name(1, c);
      if (name == "i" && !Peek('_')) return Add({Op::kImag, 0, "", -1, -1});
      if (name == "e" && !Peek('_')) return Add({Op::kE, 0, "", -1, -1});
      if (Eat('_')) name += "_" + Subscript();
      return Add({Op::kSym, 0, name, -1, -1});
    }
    if (c == '\\') {
      const std::string cmd = Command();
      if (cmd == "frac") {
        const int num = Argument();
        const int den = Argument();
        return Bin(Op::kDiv, num, den);
      }
      if (cmd == "sqrt") {
        int index = -1;
        if (Peek('[')) index = Group('[', ']');
        const int arg = Argument();
        const int root = index < 0 ? Add({Op::kNum, Rational(2), "", -1, -1}) : index;
        return Bin(Op::kPow, arg, Bin(Op::kDiv, Add({Op::kNum, Rational(1), "", -1, -1}), root));
      }
      if (cmd == "binom") {
        const int n = Argument();
        const int k = Argument();
        return Add({Op::kFunc, 0, "binom", n, k});
      }
      if (cmd == "pi") return Add({Op::kPi, 0, "", -1, -1});
      if (cmd == "sum" || cmd == "prod") return SumOrProduct(cmd == "sum" ? Op::kSum : Op::kProd);
      if (Greek().count(cmd)) return Add({Op::kSym, 0, "\\" + cmd, -1, -1});
      if (Functions().count(cmd)) {
        int base = -1, power = -1;
        if (cmd == "log" && Eat('_')) base = Argument();
        if (Eat('^')) power = Exponent();
        int f = Add({Op::kFunc, 0, cmd, Power(), base});
        if (power >= 0) f = Bin(Op::kPow, f, power);
        return f;
      }
      throw Unverifiable("unknown command \\" + cmd);
    }
    throw Unverifiable(std::string("unexpected '") + c + "'");
  }

  // After \sum or \prod: _{k=a}^{b} (or ^{b}_{k=a}), then the body, a term.
  int SumOrProduct(Op op) {
    std::string index;
    int lower = -1, upper = -1;
    for (int part = 0; part < 2; ++part) {
      if (Eat('_')) {
        const std::string sub = Subscript();
        const size_t eq = sub.find('=');
        if (eq == std::string::npos) throw Unverifiable("\\sum or \\prod without 'index = start'");
        index = Trim(sub.substr(0, eq));
        if (index.size() != 1 || !IsLetter(index[0])) throw Unverifiable("\\sum or \\prod index is not one letter");
        lower = Parser(Trim(sub.substr(eq + 1))).ParseInto(e_);
      } else if (Eat('^')) {
        upper = Exponent();
      }
    }
    if (lower < 0 || upper < 0) throw Unverifiable("\\sum or \\prod without both bounds");
    const int body = Term();
    Node n{op, 0, index, lower, upper};
    n.c = body;
    return Add(std::move(n));
  }

  std::string Subscript() {
    Skip();
    if (Eat('{')) {
      const size_t start = i_;
      int d = 1;
      while (i_ < s_.size() && d > 0) {
        if (s_[i_] == '{') ++d;
        else if (s_[i_] == '}') --d;
        ++i_;
      }
      if (d) throw Unverifiable("unclosed subscript");
      return s_.substr(start, i_ - start - 1);
    }
    if (i_ < s_.size()) return std::string(1, s_[i_++]);
    throw Unverifiable("empty subscript");
  }

  const std::string& s_;
  size_t i_ = 0;
  int depth_ = 0;
  bool closing_abs_ = false;
  Expr* e_ = nullptr;
};

void CollectSymbols(const Expr& e, std::set<std::string>* out) {
  std::set<std::string> bound;
  for (const Node& n : e.nodes)
    if (n.op == Op::kSum || n.op == Op::kProd) bound.insert(n.name);
  for (const Node& n : e.nodes)
    if (n.op == Op::kSym && !bound.count(n.name)) out->insert(n.name);
}

using Assignment = std::map<std::string, Value>;

const Float& Pi() {
  static const Float pi = mp::acos(Float(-1));
  return pi;
}
const Float& Euler() {
  static const Float e = mp::exp(Float(1));
  return e;
}

Value Func(const std::string& f, const Value& x, const Value* base) {
  if (f == "exp") return Exp(x);
  if (f == "ln") return Log(x);
  if (f == "log") {
    const Value l = Log(x);
    return base ? Div(l, Log(*base)) : Div(l, Log(Exact(10)));
  }
  if (!IsReal(x)) throw Unverifiable(f + " of a complex number");
  Spend(40);
  const Float r = Re(x);
  Float y;
  if (f == "sin") y = mp::sin(r);
  else if (f == "cos") y = mp::cos(r);
  else if (f == "tan") y = mp::tan(r);
  else if (f == "sec") y = 1 / mp::cos(r);
  else if (f == "csc") y = 1 / mp::sin(r);
  else if (f == "cot") y = 1 / mp::tan(r);
  else if (f == "sinh") y = mp::sinh(r);
  else if (f == "cosh") y = mp::cosh(r);
  else if (f == "tanh") y = mp::tanh(r);
  else if (f == "arcsin" || f == "arccos") {
    if (mp::abs(r) > 1) throw Unverifiable(f + " outside [-1, 1]");
    y = f == "arcsin" ? mp::asin(r) : mp::acos(r);
  } else if (f == "arctan") y = mp::atan(r);
  else throw Unverifiable("unknown function " + f);
  return Approx(y, 0);
}

Value Eval(const Expr& e, int k, const Assignment& vars) {
  const Node& n = e.nodes[k];
  switch (n.op) {
    case Op::kNum: return Exact(n.num);
    case Op::kSym: {
      const auto it = vars.find(n.name);
      if (it == vars.end()) throw Unverifiable("symbol " + n.name + " has no value");
      return it->second;
    }
    case Op::kImag: return Exact(0, 1);
    case Op::kPi: return Approx(Pi(), 0);
    case Op::kE: return Approx(Euler(), 0);
    case Op::kSum:
    case Op::kProd: {
      const Value lo = Eval(e, n.a, vars), hi = Eval(e, n.b, vars);
      if (!IsExactInteger(lo) || !IsExactInteger(hi)) throw Unverifiable("\\sum or \\prod bounds are not integers");
      if (hi.re - lo.re > 10000) throw Unverifiable("\\sum or \\prod of more than 10,000 terms");
      Assignment inner = vars;
      Value acc = Exact(n.op == Op::kSum ? 0 : 1);
      for (Rational k = lo.re; k <= hi.re; k += 1) {
        Spend(2);
        inner[n.name] = Exact(k);
        const Value term = Eval(e, n.c, inner);
        acc = n.op == Op::kSum ? Add(acc, term) : Mul(acc, term);
      }
      return acc;
    }
    case Op::kAdd: return Add(Eval(e, n.a, vars), Eval(e, n.b, vars));
    case Op::kSub: return Add(Eval(e, n.a, vars), Neg(Eval(e, n.b, vars)));
    case Op::kMul: return Mul(Eval(e, n.a, vars), Eval(e, n.b, vars));
    case Op::kDiv: return Div(Eval(e, n.a, vars), Eval(e, n.b, vars));
    case Op::kPow: return Pow(Eval(e, n.a, vars), Eval(e, n.b, vars));
    case Op::kNeg: return Neg(Eval(e, n.a, vars));
    case Op::kAbs: {
      const Value v = Eval(e, n.a, vars);
      if (v.exact && v.im == 0) return Exact(mp::abs(v.re));
      const Float r = Re(v), i = Im(v);
      return Approx(mp::sqrt(r * r + i * i), 0);
    }
    case Op::kFact: {
      const Value v = Eval(e, n.a, vars);
      if (!IsExactInteger(v) || v.re < 0) throw Unverifiable("factorial of a non-integer");
      if (v.re > 2000) throw Unverifiable("factorial too large");
      const int nn = static_cast<int>(mp::numerator(v.re));
      Spend(static_cast<long long>(nn) * static_cast<long long>(std::lgamma(nn + 1.0) / std::log(2.0)) / 10000 + 1);
      BigInt f = 1;
      for (int j = 2; j <= nn; ++j) f *= j;
      return Shrink(Exact(Rational(f)));
    }
    case Op::kFunc: {
      if (n.name == "binom") {
        const Value nv = Eval(e, n.a, vars), kv = Eval(e, n.b, vars);
        if (!IsExactInteger(nv) || !IsExactInteger(kv) || nv.re > 100000 || kv.re < 0)
          throw Unverifiable("binomial of non-integers or too large");
        const long long nn = static_cast<long long>(mp::numerator(nv.re)), kk = static_cast<long long>(mp::numerator(kv.re));
        if (kk > nn) return Exact(0);
        // log2 of the result (Stirling, through lgamma) decides before any work is done.
        const double bits = (std::lgamma(nn + 1.0) - std::lgamma(kk + 1.0) - std::lgamma(nn - kk + 1.0)) / std::log(2.0);
        if (bits > kMaxBits) throw Unverifiable("binomial too large to verify exactly");
        Spend(std::min(kk, nn - kk) * (static_cast<long long>(bits) / 64 + 1) / 64 + 1);
        BigInt r = 1;
        for (long long j = 1; j <= std::min(kk, nn - kk); ++j) r = r * (nn - std::min(kk, nn - kk) + j) / j;
        return Shrink(Exact(Rational(r)));
      }
      const Value x = Eval(e, n.a, vars);
      if (n.b >= 0) {
        const Value base = Eval(e, n.b, vars);
        return Func(n.name, x, &base);
      }
      return Func(n.name, x, nullptr);
    }
  }
  throw Unverifiable("bad expression");
}

// ---------------------------------------------------------------- normalisation

// Replaces "\cmd" only where it is not the start of a longer command name.
std::string ReplaceCommand(const std::string& s, const std::string& cmd, const std::string& to) {
  std::string out;
  size_t i = 0;
  for (size_t p = s.find(cmd); p != std::string::npos; p = s.find(cmd, i)) {
    const size_t end = p + cmd.size();
    out += s.substr(i, p - i);
    out += (end < s.size() && IsLetter(s[end]) && IsLetter(cmd.back())) ? cmd : to;
    i = end;
  }
  return out + s.substr(i);
}

// Index just past the group that opens at s[open] ('{'), or npos.
size_t CloseBrace(const std::string& s, size_t open) {
  int d = 0;
  for (size_t i = open; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size() && (s[i + 1] == '{' || s[i + 1] == '}')) {
      ++i;
      continue;
    }
    if (s[i] == '{') ++d;
    else if (s[i] == '}' && --d == 0) return i + 1;
  }
  return std::string::npos;
}

// "\cmd{x}" -> "x" (or `wrap` around x) for every occurrence.
std::string Unwrap(std::string s, const std::string& cmd, const std::string& left = "",
                   const std::string& right = "") {
  for (size_t p = s.find(cmd + "{"); p != std::string::npos; p = s.find(cmd + "{", p)) {
    const size_t open = p + cmd.size();
    const size_t end = CloseBrace(s, open);
    if (end == std::string::npos) throw Unverifiable("unbalanced braces");
    s = s.substr(0, p) + left + s.substr(open + 1, end - open - 2) + right + s.substr(end);
  }
  return s;
}

const std::vector<std::string>& UnitWords() {
  static const std::vector<std::string> u = {
      "square", "sq", "cubic", "units", "unit", "cm", "mm", "km", "m", "meters", "meter", "metres", "inches",
      "inch", "in", "feet", "foot", "ft", "yards", "yard", "miles", "mile", "mph", "dollars", "dollar", "cents",
      "cent", "degrees", "degree", "hours", "hour", "minutes", "minute", "seconds", "second", "days", "day",
      "weeks", "years", "pounds", "ounces", "grams", "kg", "g", "liters", "gallons", "people", "students",
      "points", "ways", "times", "percentage", "percent", "pct", "sqft", "cups", "pages", "apples", "marbles"};
  return u;
}

struct Normalised {
  std::string text;
  bool is_text = false;  // the whole answer was \text{...} or words
};

void CheckBalanced(const std::string& s) {
  int d = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size()) {
      ++i;
      continue;
    }
    if (s[i] == '{' && ++d > kMaxDepth) throw Unverifiable("braces nested more than 100 deep");
    if (s[i] == '}' && --d < 0) throw Unverifiable("unbalanced braces");
  }
  if (d != 0) throw Unverifiable("unbalanced braces");
}

// Thousands separated by spaces ("1 000 000", or "1\\,000" once \\, is a
// space): a run of 1-3 digits, then groups of a space and exactly three
// digits, not inside a longer number, is one number.
std::string JoinSpacedThousands(const std::string& s) {
  auto group_at = [&s](size_t j) {  // " ddd" at j, not followed by another digit
    return j + 4 <= s.size() && s[j] == ' ' && IsDigit(s[j + 1]) && IsDigit(s[j + 2]) && IsDigit(s[j + 3]) &&
           (j + 4 == s.size() || !IsDigit(s[j + 4]));
  };
  std::string out;
  size_t i = 0;
  while (i < s.size()) {
    if (!IsDigit(s[i]) || (i > 0 && (IsDigit(s[i - 1]) || s[i - 1] == '.'))) {
      out += s[i++];
      continue;
    }
    size_t j = i;
    while (j < s.size() && IsDigit(s[j])) ++j;
    out += s.substr(i, j - i);
    if (j - i <= 3)
      for (; group_at(j); j += 4) out += s.substr(j + 1, 3);
    i = j;
  }
  return out;
}

Normalised Normalise(const std::string& in) {
  if (in.size() > kMaxChars) throw Unverifiable("answer longer than 2000 characters");
  if (in.find('\0') != std::string::npos) throw Unverifiable("NUL byte in answer");
  std::string s = Trim(in);
  if (s.empty()) throw Unverifiable("empty answer");
  CheckBalanced(s);
  s = ReplaceAll(s, "\xC2\xB0", "");  // degree sign
  s = ReplaceAll(s, "\xE2\x88\x92", "-");  // U+2212, the minus sign
  s = ReplaceAll(s, "\\\\", "\x01");  // row breaks survive the spacing rules below
  s = ReplaceAll(s, "\\$", "");
  // A negative thin space, and after a comma with any spaces: 2,\! 220 is 2,220.
  for (size_t p = s.find("\\!"); p != std::string::npos; p = s.find("\\!", p)) {
    size_t end = p + 2;
    if (p > 0 && s[p - 1] == ',')
      while (end < s.size() && s[end] == ' ') ++end;
    s.erase(p, end - p);
  }
  for (const char* sp : {"\\,", "\\;", "\\:", "\\ ", "~", "$", "\\displaystyle", "\\quad", "\\qquad"})
    s = ReplaceAll(s, sp, " ");
  s = JoinSpacedThousands(s);
  for (const char* lr : {"\\left", "\\right", "\\bigl", "\\bigr", "\\Bigl", "\\Bigr", "\\big", "\\Big"})
    s = ReplaceCommand(s, lr, "");
  // Commands rewritten in this order (ReplaceCommand skips longer names).
  static const std::pair<const char*, const char*> kCommands[] = {
      {"\\dfrac", "\\frac"}, {"\\tfrac", "\\frac"}, {"\\cfrac", "\\frac"}, {"\\cdot", "*"},   {"\\times", "*"},
      {"\\ast", "*"},        {"\\div", "/"},        {"\\lbrace", "\\{"}, {"\\rbrace", "\\}"},
      {"\\lvert", "|"},      {"\\rvert", "|"},      {"\\vert", "|"},     {"\\mid", "|"},
      {"\\infinity", "\\infty"}, {"\\leqslant", "<="}, {"\\geqslant", ">="}, {"\\leq", "<="},
      {"\\geq", ">="},        {"\\le", "<="},        {"\\ge", ">="},      {"\\neq", "!="},
      {"\\ne", "!="},         {"\\lt", "<"},         {"\\gt", ">"},    {"\\emptyset", "\\{\\}"},
      {"\\varnothing", "\\{\\}"}};
  for (const auto& [from, to] : kCommands) s = ReplaceCommand(s, from, to);
  for (const char* reals : {"\\mathbb{R}", "\\mathbb R"}) s = ReplaceAll(s, reals, "(-\\infty,\\infty)");
  s = ReplaceAll(s, "^{\\circ}", "");
  s = ReplaceAll(s, "^\\circ", "");
  s = ReplaceCommand(s, "\\circ", "");
  s = ReplaceCommand(s, "\\degree", "");
  for (const char* drop : {"\\%", "%", "{,}"}) s = ReplaceAll(s, drop, "");
  s = ReplaceAll(s, "\x01", "\\\\");
  for (const char* font : {"\\mathrm", "\\mathbf", "\\textbf", "\\mbox", "\\textrm", "\\mathit", "\\operatorname",
                           "\\textnormal", "\\textit", "\\textsf", "\\mathsf", "\\texttt"})
    s = ReplaceAll(s, std::string(font) + "{", "\\text{");
  s = Unwrap(s, "\\boxed");
  s = Trim(s);
  while (!s.empty() && (s.back() == '.' || s.back() == ' ')) s.pop_back();
  if (s.empty()) throw Unverifiable("empty answer");

  Normalised out;
  // The whole answer one \text{...} with a letter in it: a word answer. A
  // number or expression in \text or bold (\textbf{3}) is compared as math.
  if (s.rfind("\\text{", 0) == 0 && CloseBrace(s, 5) == s.size()) {
    const std::string inner = Trim(s.substr(6, s.size() - 7));
    if (std::any_of(inner.begin(), inner.end(), IsLetter)) {
      out.text = inner;
      out.is_text = true;
      return out;
    }
    s = inner;
    if (s.empty()) throw Unverifiable("empty answer");
  }
  // A trailing \text{...} after something else is a unit: drop it (and a
  // square or cube on it).
  for (const char* sq : {"}^2", "}^3", "}^{2}", "}^{3}"}) {
    const size_t n = std::char_traits<char>::length(sq);
    if (s.size() > n && s.compare(s.size() - n, n, sq) == 0 && s.rfind("\\text{") != std::string::npos &&
        CloseBrace(s, s.rfind("\\text{") + 5) == s.size() - n + 1)
      s = s.substr(0, s.size() - n + 1);
  }
  for (;;) {
    const size_t p = s.rfind("\\text{");
    if (p == std::string::npos || p == 0 || CloseBrace(s, p + 5) != s.size()) break;
    s = Trim(s.substr(0, p));
  }
  s = Unwrap(s, "\\text", " ", " ");
  // Trailing unit words ("5 cm", "12 square feet").
  for (bool again = true; again;) {
    again = false;
    for (const std::string& u : UnitWords()) {
      if (s.size() > u.size() + 1 && s.compare(s.size() - u.size(), u.size(), u) == 0) {
        const char before = s[s.size() - u.size() - 1];
        if (before == ' ' || (IsDigit(before) && u.size() > 1)) {
          s = Trim(s.substr(0, s.size() - u.size()));
          again = true;
          break;
        }
      }
    }
  }
  s = Trim(s);
  // Words only ("odd", "Evelyn"): a word answer.
  bool letters = !s.empty(), long_word = false;
  size_t run = 0;
  for (char c : s) {
    if (IsLetter(c)) long_word |= ++run >= 3;
    else if (c == ' ' || c == '-' || c == '\'') run = 0;
    else letters = false;
  }
  if (letters && long_word) {
    out.text = s;
    out.is_text = true;
    return out;
  }
  out.text = s;
  return out;
}

// Thousands separators: "1,234,567" (and with decimals) -> "1234567".
std::string DropThousands(const std::string& s) {
  size_t i = 0;
  if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
  const size_t first = i;
  while (i < s.size() && IsDigit(s[i])) ++i;
  if (i - first < 1 || i - first > 3 || i >= s.size() || s[i] != ',') return s;
  while (i < s.size() && s[i] == ',') {
    for (int k = 1; k <= 3; ++k)
      if (i + k >= s.size() || !IsDigit(s[i + k])) return s;
    i += 4;
  }
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && IsDigit(s[i])) ++i;
  }
  if (i != s.size()) return s;
  std::string out;
  for (char c : s)
    if (c != ',') out += c;
  return out;
}

std::string TextKey(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '\\') {  // drop command names (\text etc.)
      while (i + 1 < s.size() && IsLetter(s[i + 1])) ++i;
      continue;
    }
    if (std::isspace(static_cast<unsigned char>(c)) || c == '{' || c == '}' || c == '(' || c == ')' || c == '.')
      continue;
    out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

// ---------------------------------------------------------------- structure

struct Answer {
  enum Kind { kScalar, kEquation, kRelation, kBracketed, kSet, kList, kUnion, kMatrix, kBase, kText } kind = kScalar;
  std::string raw;                // normalised text
  Expr expr, rhs;                 // scalar; equation lhs/rhs
  char open = 0, close = 0;       // bracketed
  std::vector<Answer> items;      // bracketed, set, list, union, matrix (rows as lists), relation sides
  std::vector<std::string> ops;   // relation: "<", "<=" or "!=" between items (">" forms are flipped)
  std::vector<Answer> interval;   // relation on one symbol: the same set as an interval (0 or 1)
  std::string digits;             // base
  int base = 10;
};

// Splits s at depth-0 occurrences of `sep` (brackets of any kind count).
std::vector<std::string> SplitTop(const std::string& s, const std::string& sep) {
  std::vector<std::string> parts;
  int d = 0;
  size_t start = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '\\' && i + 1 < s.size() && (s[i + 1] == '{' || s[i + 1] == '}')) {
      d += s[i + 1] == '{' ? 1 : -1;
      ++i;
      continue;
    }
    if (c == '(' || c == '[' || c == '{') ++d;
    else if (c == ')' || c == ']' || c == '}') --d;
    else if (d == 0 && s.compare(i, sep.size(), sep) == 0) {
      parts.push_back(Trim(s.substr(start, i - start)));
      start = i + sep.size();
      i = start - 1;
    }
  }
  parts.push_back(Trim(s.substr(start)));
  return parts;
}

// True when s[0] opens a bracket that first closes at the last character.
bool Enclosed(const std::string& s) {
  int d = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '(' || c == '[' || c == '{') ++d;
    else if ((c == ')' || c == ']' || c == '}') && --d == 0) return i + 1 == s.size();
  }
  return false;
}

Answer ParseAnswer(const std::string& in, int depth);

// "x", "x_1", "a_{n}", "\alpha", "\theta_2": one symbol as written.
bool IsSymbolText(const std::string& t) {
  size_t i = 0;
  if (t.size() >= 2 && t[0] == '\\') {
    i = 1;
    while (i < t.size() && IsLetter(t[i])) ++i;
    if (!Greek().count(t.substr(1, i - 1))) return false;
  } else if (!t.empty() && IsLetter(t[0])) {
    i = 1;
  } else {
    return false;
  }
  if (i == t.size()) return true;
  if (t[i] != '_') return false;
  const std::string sub = t.substr(i + 1);
  const std::string inner = sub.size() > 2 && sub.front() == '{' && sub.back() == '}' ? sub.substr(1, sub.size() - 2) : sub;
  return !inner.empty() && (sub != inner || inner.size() == 1) &&
         std::all_of(inner.begin(), inner.end(), [](char c) { return IsLetter(c) || IsDigit(c); });
}

// The left side of a labelled answer, whose right side is the answer: a
// function or tuple of symbols ("f(x)", "P(a, b)", "(p, q)"), or a name made
// of letters without digits or arithmetic ("AB", "|AB|", "\frac{NO}{BO}",
// "S_{ABC}:S") -- never an expression like "x+y" or "2x".
bool IsLabel(const std::string& t) {
  std::string bare;  // t without subscripts (V_{1}:V_{2} is a name)
  for (size_t i = 0; i < t.size(); ++i) {
    if (t[i] != '_' || i + 1 >= t.size()) {
      bare += t[i];
      continue;
    }
    const size_t end = t[i + 1] == '{' ? CloseBrace(t, i + 1) : i + 2;
    if (end == std::string::npos) return false;
    i = end - 1;
  }
  if (t.size() > 1 && !IsSymbolText(t) && std::any_of(bare.begin(), bare.end(), IsLetter) &&
      std::none_of(bare.begin(), bare.end(), [](char c) {
        return IsDigit(c) || c == '+' || c == '-' || c == '^' || c == '.' || c == '*' || c == '/' || c == '(' || c == ',';
      }))
    return true;
  const size_t open = t.find('(');
  if (open == std::string::npos || t.back() != ')') return false;
  const std::string name = Trim(t.substr(0, open));
  if (!name.empty() && !IsSymbolText(name) && !std::all_of(name.begin(), name.end(), IsLetter)) return false;
  const std::vector<std::string> args = SplitTop(t.substr(open + 1, t.size() - open - 2), ",");
  if (name.empty() && args.size() < 2) return false;
  return std::all_of(args.begin(), args.end(), IsSymbolText);
}

// Splits "a < b <= c" at depth-0 relation operators; false if there is none.
bool SplitRelation(const std::string& s, std::vector<std::string>* sides, std::vector<std::string>* ops) {
  int d = 0;
  size_t start = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '(' || c == '[' || c == '{') ++d;
    else if (c == ')' || c == ']' || c == '}') --d;
    if (d != 0 || (c != '<' && c != '>' && !(c == '!' && i + 1 < s.size() && s[i + 1] == '='))) continue;
    const bool with_eq = i + 1 < s.size() && s[i + 1] == '=';
    sides->push_back(Trim(s.substr(start, i - start)));
    ops->push_back(std::string(1, c) + (with_eq ? "=" : ""));
    start = i + (with_eq ? 2 : 1);
    i = start - 1;
  }
  if (ops->empty()) return false;
  sides->push_back(Trim(s.substr(start)));
  return true;
}

// The same set as an interval, for one symbol against constants, from a
// relation whose ">" forms were flipped: 5 < x -> (5, \infty), 1 <= x < 3 ->
// [1, 3). Empty when not of that shape.
std::string RelationAsInterval(const std::vector<std::string>& sides, const std::vector<std::string>& ops) {
  auto open_of = [](const std::string& op) { return op == "<=" ? "[" : "("; };
  auto close_of = [](const std::string& op) { return op == "<=" ? "]" : ")"; };
  if (std::find(ops.begin(), ops.end(), "!=") != ops.end()) return "";
  if (sides.size() == 2 && ops[0][0] == '<') {
    if (IsSymbolText(sides[0]) && !IsSymbolText(sides[1])) return "(-\\infty," + sides[1] + close_of(ops[0]);
    if (IsSymbolText(sides[1]) && !IsSymbolText(sides[0])) return open_of(ops[0]) + sides[0] + ",\\infty)";
  }
  if (sides.size() == 3 && (IsSymbolText(sides[1]) || IsLabel(sides[1])) && ops[0][0] == '<' && ops[1][0] == '<')
    return open_of(ops[0]) + sides[0] + "," + sides[2] + close_of(ops[1]);
  return "";
}

Answer Scalar(const std::string& s) {
  Answer a;
  a.kind = Answer::kScalar;
  a.raw = s;
  a.expr = Parser(s).Parse();
  return a;
}

// Text that is a set, tuple, interval, list or matrix rather than one value.
bool IsStructured(const std::string& s) {
  if (s.rfind("\\{", 0) == 0 || s.rfind("\\begin{", 0) == 0 || SplitTop(s, ",").size() > 1) return true;
  return (s[0] == '(' || s[0] == '[') && Enclosed(s) && SplitTop(s.substr(1, s.size() - 2), ",").size() > 1;
}

Answer ParseAnswer(const std::string& in, int depth) {
  if (depth > 10) throw Unverifiable("answer structure nested too deeply");
  const Normalised n = Normalise(in);
  Answer a;
  a.raw = n.text;
  if (n.is_text) {
    a.kind = Answer::kText;
    return a;
  }
  std::string s = DropThousands(n.text);
  a.raw = s;
  // "x \in [1, 2]" -> the set.
  if (const size_t p = s.find("\\in "); p != std::string::npos && s.find("\\in ", p + 1) == std::string::npos &&
                                         p < 12)
    return ParseAnswer(s.substr(p + 3), depth + 1);
  // "x \approx 0.33" or "\frac13 \approx 0.33": the exact side is the answer,
  // the approximation only when nothing else is given.
  if (const auto parts = SplitTop(s, "\\approx"); parts.size() > 1) {
    const std::string& lhs = parts.front();
    return ParseAnswer(lhs.empty() || IsSymbolText(lhs) || IsLabel(lhs) ? parts.back() : lhs, depth + 1);
  }
  // Several answers joined by words or semicolons: "(11,7) or (7,11)", "2; 3",
  // "19, 46, and 82" (one flat list).
  for (const char* word : {"or", "and"}) {
    s = ReplaceAll(s, std::string(")") + word + "(", std::string(") ") + word + " (");
    s = ReplaceAll(s, std::string(", ") + word + " ", std::string(" ") + word + " ");
  }
  for (const char* sep : {";", " or ", " and "}) {
    if (const auto parts = SplitTop(s, sep); parts.size() > 1) {
      a.kind = Answer::kList;
      for (const std::string& part : parts) {
        if (part.empty()) continue;
        Answer one = ParseAnswer(part, depth + 1);
        if (one.kind == Answer::kList) {
          for (Answer& item : one.items) a.items.push_back(std::move(item));
        } else {
          a.items.push_back(std::move(one));
        }
      }
      return a;
    }
  }

  // "a \pm b" stands for the two answers a + b and a - b.
  auto expand_pm = [](const std::string& part) -> std::vector<std::string> {
    const size_t p = part.find("\\pm");
    if (p == std::string::npos || part.find("\\pm", p + 3) != std::string::npos) return {part};
    return {part.substr(0, p) + "+(" + part.substr(p + 3) + ")", part.substr(0, p) + "-(" + part.substr(p + 3) + ")"};
  };
  auto items = [&](const std::string& body) {
    std::vector<Answer> out;
    for (const std::string& part : SplitTop(body, ","))
      for (const std::string& one : expand_pm(part)) out.push_back(ParseAnswer(one, depth + 1));
    return out;
  };
  if (const auto pm = expand_pm(s); pm.size() == 2 && SplitTop(s, ",").size() == 1 && s.rfind("\\{", 0) != 0) {
    a.kind = Answer::kList;
    for (const std::string& one : pm) a.items.push_back(ParseAnswer(one, depth + 1));
    return a;
  }

  // "(\begin{array}{cc} ... \end{array})" is a matrix in brackets.
  if ((s[0] == '(' || s[0] == '[') && Enclosed(s) && Trim(s.substr(1)).rfind("\\begin{", 0) == 0)
    s = Trim(s.substr(1, s.size() - 2));
  if (s.rfind("\\begin{", 0) == 0) {
    for (const char* env : {"pmatrix", "bmatrix", "matrix", "vmatrix", "array"}) {
      const std::string open = std::string("\\begin{") + env + "}", close = std::string("\\end{") + env + "}";
      if (s.rfind(open, 0) == 0 && s.size() >= open.size() + close.size() &&
          s.compare(s.size() - close.size(), close.size(), close) == 0) {
        a.kind = Answer::kMatrix;
        std::string body = s.substr(open.size(), s.size() - open.size() - close.size());
        if (std::string(env) == "array") {  // the column spec: {cc}
          body = Trim(body);
          const size_t end = body.empty() || body[0] != '{' ? std::string::npos : CloseBrace(body, 0);
          if (end == std::string::npos) throw Unverifiable("array without a column spec");
          body = body.substr(end);
        }
        for (const std::string& row : SplitTop(body, "\\\\")) {
          if (row.empty()) continue;
          Answer r;
          r.kind = Answer::kList;
          for (const std::string& cell : SplitTop(row, "&")) r.items.push_back(ParseAnswer(cell, depth + 1));
          a.items.push_back(std::move(r));
        }
        return a;
      }
    }
    throw Unverifiable("unknown environment");
  }
  if (const auto parts = SplitTop(s, "\\cup"); parts.size() > 1) {
    a.kind = Answer::kUnion;
    for (const std::string& p : parts) a.items.push_back(ParseAnswer(p, depth + 1));
    return a;
  }
  if (s.rfind("\\{", 0) == 0 && s.size() >= 4 && s.compare(s.size() - 2, 2, "\\}") == 0) {
    a.kind = Answer::kSet;
    const std::string body = Trim(s.substr(2, s.size() - 4));
    if (!body.empty()) a.items = items(body);
    return a;
  }
  // Set braces whose backslashes were lost: {-2021, 2021}.
  if (s[0] == '{' && s.back() == '}' && Enclosed(s) && SplitTop(s.substr(1, s.size() - 2), ",").size() > 1) {
    a.kind = Answer::kSet;
    a.items = items(s.substr(1, s.size() - 2));
    return a;
  }
  if ((s[0] == '(' || s[0] == '[') && (s.back() == ')' || s.back() == ']') && Enclosed(s) &&
      SplitTop(s.substr(1, s.size() - 2), ",").size() > 1) {
    a.kind = Answer::kBracketed;
    a.open = s[0];
    a.close = s.back();
    a.items = items(s.substr(1, s.size() - 2));
    return a;
  }
  if (SplitTop(s, ",").size() > 1) {
    a.kind = Answer::kList;
    a.items = items(s);
    return a;
  }
  if (std::vector<std::string> sides, ops; SplitRelation(s, &sides, &ops)) {
    a.kind = Answer::kRelation;
    // "a > b" is written "b < a": every chain of > and >= is read right to left.
    if (std::all_of(ops.begin(), ops.end(), [](const std::string& o) { return o[0] == '>'; })) {
      std::reverse(sides.begin(), sides.end());
      std::reverse(ops.begin(), ops.end());
      for (std::string& o : ops) o[0] = '<';
    }
    for (const std::string& side : sides) {
      if (side.empty()) throw Unverifiable("relation with an empty side");
      a.items.push_back(Scalar(side));
    }
    a.ops = ops;
    if (const std::string interval = RelationAsInterval(sides, ops); !interval.empty())
      a.interval.push_back(ParseAnswer(interval, depth + 1));
    return a;
  }
  if (const auto sides = SplitTop(s, "="); sides.size() > 1) {
    // A labelled answer: "f(x) = 1", "(p, q) = (3, 2)"; the label is not part of it.
    if (sides.size() == 2 && !sides.back().empty() && IsLabel(sides.front())) return ParseAnswer(sides.back(), depth + 1);
    a.kind = Answer::kEquation;
    if (sides.front().empty() || sides.back().empty()) throw Unverifiable("equation with an empty side");
    // "S = \{1, 2\}", "v = (1, 2)": a symbol naming a structured answer.
    if (sides.size() == 2 && IsSymbolText(sides.front()) && IsStructured(sides.back()))
      return ParseAnswer(sides.back(), depth + 1);
    a.expr = Parser(sides.front()).Parse();
    a.rhs = Parser(sides.back()).Parse();
    return a;
  }
  // A ratio "7:32" is the quotient; "a:b:c" compares term by term.
  if (const auto terms = SplitTop(s, ":"); terms.size() > 1) {
    if (terms.size() == 2) return Scalar("(" + terms[0] + ")/(" + terms[1] + ")");
    a.kind = Answer::kBracketed;
    a.open = a.close = ':';
    for (const std::string& t : terms) a.items.push_back(ParseAnswer(t, depth + 1));
    return a;
  }
  // A number in a base: 52_8, 1011_{2}.
  if (const size_t u = s.find('_'); u != std::string::npos && u > 0) {
    std::string digits = s.substr(0, u), base = s.substr(u + 1);
    if (base.size() > 2 && base.front() == '{' && base.back() == '}') base = base.substr(1, base.size() - 2);
    const bool all_digits = !base.empty() && base.size() <= 2 && std::all_of(base.begin(), base.end(), IsDigit);
    const int b = all_digits ? std::stoi(base) : 0;
    // Every character a digit of the base: "A3_{16}" is a number, "x_1" is not.
    const bool valid = b >= 2 && b <= 36 && !digits.empty() && digits.size() <= 64 &&
                       std::all_of(digits.begin(), digits.end(), [b](char c) {
                         const int d = IsDigit(c) ? c - '0'
                                       : IsLetter(c) ? std::tolower(static_cast<unsigned char>(c)) - 'a' + 10
                                                     : 99;
                         return d < b;
                       });
    if (valid) {
      a.kind = Answer::kBase;
      a.digits = digits;
      a.base = b;
      return a;
    }
  }
  return Scalar(s);
}

// ---------------------------------------------------------------- comparison

struct Context {
  MathOptions opt;
  std::vector<Assignment> rounds;
};

bool SingleSymbol(const Expr& e) { return e.nodes[e.root].op == Op::kSym; }

// The value an answer stands for as a scalar: a scalar, or the right side of
// "x = ...".
const Expr* AsScalar(const Answer& a) {
  if (a.kind == Answer::kScalar) return &a.expr;
  if (a.kind == Answer::kEquation && SingleSymbol(a.expr)) return &a.rhs;
  return nullptr;
}

// Exactly equal, or (either inexact) equal to 60 digits, or within rel_tol
// when that is given: the caller passes rel_tol only where a side was written
// as a decimal.
bool Close(const Value& g, const Value& p, double rel_tol) {
  if (g.exact && p.exact) {
    if (g.re == p.re && g.im == p.im) return true;
  }
  const Float gr = Re(g), gi = Im(g), pr = Re(p), pi = Im(p);
  const Float diff = mp::sqrt((gr - pr) * (gr - pr) + (gi - pi) * (gi - pi));
  const Float scale = std::max({Float(1), mp::sqrt(gr * gr + gi * gi), mp::sqrt(pr * pr + pi * pi)});
  // Values computed through 100-digit floats agree to ~95 digits when they are equal.
  if (!(g.exact && p.exact) && diff <= FloatTol() * scale) return true;
  if (rel_tol <= 0 || IsExactInteger(g) || IsExactInteger(p)) return false;
  const Float mag = std::max(mp::sqrt(gr * gr + gi * gi), mp::sqrt(pr * pr + pi * pi));
  return diff <= Float(rel_tol) * mag;
}

bool SameScalar(const Expr& g, const Expr& p, const Context& ctx) {
  const double rel_tol = g.decimal || p.decimal ? ctx.opt.rel_tol : 0;
  for (const Assignment& vars : ctx.rounds)
    if (!Close(Eval(g, g.root, vars), Eval(p, p.root, vars), rel_tol)) return false;
  return true;
}

// gl - gr and pl - pr are proportional (the same equation up to a factor;
// a positive factor when `positive`, for inequalities).
bool SameDifference(const Expr& gl, const Expr& gr, const Expr& pl, const Expr& pr, bool positive,
                    const Context& ctx) {
  std::optional<Value> ratio;
  for (const Assignment& vars : ctx.rounds) {
    const Value dg = Add(Eval(gl, gl.root, vars), Neg(Eval(gr, gr.root, vars)));
    const Value dp = Add(Eval(pl, pl.root, vars), Neg(Eval(pr, pr.root, vars)));
    const bool zg = Close(dg, Exact(0), 0), zp = Close(dp, Exact(0), 0);
    if (zg != zp) return false;
    if (zg) continue;
    const Value r = Div(dg, dp);
    if (positive && (!IsReal(r) || Re(r) <= 0)) return false;
    if (ratio && !Close(*ratio, r, 0)) return false;
    ratio = r;
  }
  return true;
}

std::string SameSequence(const std::vector<Answer>& g, const std::vector<Answer>& p, const Context& ctx);

// Relations: the same operators, and for one relation the same inequality up
// to a positive factor (2x < 10 is x < 5); a chain side by side.
std::string SameRelation(const Answer& g, const Answer& p, const Context& ctx) {
  if (g.ops != p.ops) return "relations differ";
  if (g.items.size() == 2) {
    const bool positive = g.ops[0] != "!=";
    return SameDifference(g.items[0].expr, g.items[1].expr, p.items[0].expr, p.items[1].expr, positive, ctx)
               ? ""
               : "relations differ";
  }
  return SameSequence(g.items, p.items, ctx);
}

std::string Same(const Answer& g, const Answer& p, const Context& ctx);

// Unordered: every gold item matched by a distinct predicted item.
std::string SameMultiset(const std::vector<Answer>& g, const std::vector<Answer>& p, const Context& ctx) {
  if (g.size() != p.size())
    return "expected " + std::to_string(g.size()) + " items, got " + std::to_string(p.size());
  std::vector<bool> used(p.size(), false);
  for (const Answer& gi : g) {
    bool found = false;
    for (size_t k = 0; k < p.size() && !found; ++k)
      if (!used[k] && Same(gi, p[k], ctx).empty()) used[k] = found = true;
    if (!found) return "no match for '" + gi.raw + "'";
  }
  return "";
}

std::string SameSequence(const std::vector<Answer>& g, const std::vector<Answer>& p, const Context& ctx) {
  if (g.size() != p.size())
    return "expected " + std::to_string(g.size()) + " items, got " + std::to_string(p.size());
  for (size_t k = 0; k < g.size(); ++k)
    if (std::string why = Same(g[k], p[k], ctx); !why.empty()) return "item " + std::to_string(k + 1) + ": " + why;
  return "";
}

bool UnorderedKind(Answer::Kind k) { return k == Answer::kSet || k == Answer::kList || k == Answer::kUnion; }

// "" when equal, else the reason.
std::string Same(const Answer& g, const Answer& p, const Context& ctx) {
  if (g.raw == p.raw && g.kind == p.kind) return "";
  if (g.kind == Answer::kText || p.kind == Answer::kText) {
    // Words against math only when the math is a plain word or symbol ("C"
    // against \text{(C)}): the text key drops commands and braces, so
    // \frac{\pi}{4} would otherwise read as "4".
    const Answer& other = g.kind == Answer::kText ? p : g;
    const bool plain = other.kind == Answer::kText ||
                       std::all_of(other.raw.begin(), other.raw.end(), [](char c) {
                         return std::isalnum(static_cast<unsigned char>(c)) || c == ' ' || c == '(' || c == ')';
                       });
    return plain && TextKey(g.raw) == TextKey(p.raw) ? "" : "different words";
  }
  if (g.kind == Answer::kBase || p.kind == Answer::kBase) {
    if (g.kind == Answer::kBase && p.kind == Answer::kBase) {
      auto value = [](const Answer& a) -> std::optional<BigInt> {
        BigInt v = 0;
        for (char c : a.digits) {
          const int d = IsDigit(c) ? c - '0' : std::tolower(static_cast<unsigned char>(c)) - 'a' + 10;
          if (d >= a.base) return std::nullopt;
          v = v * a.base + d;
        }
        return v;
      };
      return value(g) == value(p) ? "" : "different values";
    }
    // "52_8" against "52": the digits as written.
    const Answer& b = g.kind == Answer::kBase ? g : p;
    const Answer& o = g.kind == Answer::kBase ? p : g;
    return TextKey(o.raw) == TextKey(b.digits) ? "" : "different digits";
  }
  if (g.kind == Answer::kRelation && p.kind == Answer::kRelation) return SameRelation(g, p, ctx);
  if (g.kind == Answer::kRelation && !g.interval.empty()) return Same(g.interval[0], p, ctx);
  if (p.kind == Answer::kRelation && !p.interval.empty()) return Same(g, p.interval[0], ctx);
  if (g.kind == Answer::kRelation || p.kind == Answer::kRelation) return "a relation against another kind of answer";
  const Expr* gs = AsScalar(g);
  const Expr* ps = AsScalar(p);
  if (gs && ps) return SameScalar(*gs, *ps, ctx) ? "" : "values differ";
  if (g.kind == Answer::kEquation && p.kind == Answer::kEquation)
    return SameDifference(g.expr, g.rhs, p.expr, p.rhs, false, ctx) ? "" : "equations differ";
  if (UnorderedKind(g.kind) && UnorderedKind(p.kind)) {
    if ((g.kind == Answer::kUnion) != (p.kind == Answer::kUnion)) return "a union against a list";
    return SameMultiset(g.items, p.items, ctx);
  }
  // A one-item set or list against a scalar: {3} vs 3.
  if (UnorderedKind(g.kind) && g.items.size() == 1 && ps) return Same(g.items[0], p, ctx);
  if (UnorderedKind(p.kind) && p.items.size() == 1 && gs) return Same(g, p.items[0], ctx);
  if (g.kind == Answer::kBracketed && p.kind == Answer::kBracketed) {
    if (g.open != p.open || g.close != p.close)
      return std::string("brackets differ: ") + g.open + g.close + " against " + p.open + p.close;
    return SameSequence(g.items, p.items, ctx);
  }
  if (g.kind == Answer::kMatrix && p.kind == Answer::kMatrix) {
    if (g.items.size() != p.items.size()) return "matrix shapes differ";
    for (size_t r = 0; r < g.items.size(); ++r)
      if (std::string why = SameSequence(g.items[r].items, p.items[r].items, ctx); !why.empty())
        return "row " + std::to_string(r + 1) + ": " + why;
    return "";
  }
  return "different kinds of answer";
}

void Symbols(const Answer& a, std::set<std::string>* out) {
  CollectSymbols(a.expr, out);
  CollectSymbols(a.rhs, out);
  for (const Answer& i : a.items) Symbols(i, out);
  for (const Answer& i : a.interval) Symbols(i, out);
}

// Without spaces, except one between two digits ("3 5" is not 35).
std::string Compact(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (!std::isspace(static_cast<unsigned char>(s[i]))) {
      out += s[i];
      continue;
    }
    size_t j = i;
    while (j < s.size() && std::isspace(static_cast<unsigned char>(s[j]))) ++j;
    if (!out.empty() && IsDigit(out.back()) && j < s.size() && IsDigit(s[j])) out += ' ';
    i = j - 1;
  }
  return out;
}

}  // namespace

const char* MathResultName(MathResult r) {
  switch (r) {
    case MathResult::kEqual: return "equal";
    case MathResult::kNotEqual: return "not equal";
    case MathResult::kUnverifiable: return "unverifiable";
  }
  return "?";
}

MathJudgement CompareMath(const std::string& gold, const std::string& pred, const MathOptions& opt) {
  MathJudgement j;
  t_work_left = kMaxWork;
  try {
    if (pred.size() > kMaxChars || gold.size() > kMaxChars)
      throw Unverifiable("answer longer than 2000 characters");
    // The same text after normalisation is equal, whether or not it parses.
    if (Compact(Normalise(gold).text) == Compact(Normalise(pred).text)) return {MathResult::kEqual, ""};
    const Answer g = ParseAnswer(gold, 0);
    const Answer p = ParseAnswer(pred, 0);
    if (Compact(g.raw) == Compact(p.raw)) return {MathResult::kEqual, ""};
    Context ctx{opt, {}};
    std::set<std::string> names;
    Symbols(g, &names);
    Symbols(p, &names);
    // Symbols get random positive rationals, the same on both sides.
    uint64_t state = 0x9E3779B97F4A7C15ULL;
    auto next = [&state]() {
      state ^= state << 13;
      state ^= state >> 7;
      state ^= state << 17;
      return state;
    };
    for (int r = 0; r < (names.empty() ? 1 : kRounds); ++r) {
      Assignment vars;
      for (const std::string& n : names) vars[n] = Exact(Rational(static_cast<long long>(next() % 89 + 2),
                                                                  static_cast<long long>(next() % 13 + 2)));
      ctx.rounds.push_back(std::move(vars));
    }
    const std::string why = Same(g, p, ctx);
    j.result = why.empty() ? MathResult::kEqual : MathResult::kNotEqual;
    j.reason = why;
  } catch (const Unverifiable& e) {
    j.result = MathResult::kUnverifiable;
    j.reason = e.what();
  } catch (const std::exception& e) {  // e.g. a multiprecision overflow
    j.result = MathResult::kUnverifiable;
    j.reason = e.what();
  }
  return j;
}

}  // namespace r1lab

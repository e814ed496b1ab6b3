// The math verifier: a table of equivalences (positive and negative) across
// every answer category, bounded-time adversarial inputs, and extraction.
#include <chrono>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "answer.h"
#include "math_equiv.h"

namespace r1lab {
namespace {

struct Case {
  const char* gold;
  const char* pred;
  bool equal;
};

// clang-format off
const Case kCases[] = {
  // integers: signs, separators, leading +
  {"42", "42", true}, {"42", " 42 ", true}, {"-7", "-7", true}, {"7", "+7", true}, {"-7", "7", false},
  {"1000", "1,000", true}, {"1234567", "1,234,567", true}, {"1000", "1{,}000", true}, {"1000", "1\\,000", true},
  {"12", "012", true}, {"5", "6", false}, {"100", "1,000", false}, {"0", "-0", true}, {"3", "3.0", true},
  {"3", "2.9999999999", false}, {"2", "2x", false}, {"10", "10.", true},
  // decimals and fractions, exact
  {"0.5", "1/2", true}, {"\\frac{1}{2}", "0.5", true}, {"\\frac12", "1/2", true}, {"\\dfrac12", "0.5", true},
  {"\\tfrac{1}{2}", "\\frac{2}{4}", true}, {"\\frac{1}{3}", "0.33", false}, {"\\frac{1}{3}", "0.333", false},
  {"\\frac{1}{3}", "0.3333333333333", true}, {"\\frac{14}{3}", "\\frac{28}{6}", true}, {"\\frac{14}{3}", "4\\frac{2}{3}", true},
  {"-\\frac{1}{2}", "\\frac{-1}{2}", true}, {"-\\frac{1}{2}", "\\frac{1}{-2}", true}, {"-\\frac{1}{2}", "-0.5", true},
  {"\\frac{3}{4}", "0.75", true}, {"\\frac{3}{4}", "0.76", false}, {".5", "0.5", true}, {"1.25", "\\frac54", true},
  {"0.1", "\\frac{1}{10}", true}, {"2.5", "5/2", true}, {"\\frac{9}{7}", "\\frac97", true},
  // roots and simplification
  {"\\frac{\\sqrt{2}}{2}", "\\frac{1}{\\sqrt{2}}", true}, {"\\sqrt{8}", "2\\sqrt{2}", true}, {"\\sqrt{8}", "2\\sqrt{3}", false},
  {"\\sqrt[3]{8}", "2", true}, {"\\sqrt[3]{-8}", "-2", true}, {"\\sqrt{12}", "2\\sqrt3", true}, {"3\\sqrt{2}", "\\sqrt{18}", true},
  {"\\frac{\\sqrt{3}}{3}", "\\frac{1}{\\sqrt3}", true}, {"\\sqrt{2}+\\sqrt{3}", "\\sqrt{3}+\\sqrt{2}", true},
  {"\\sqrt{2}", "1.41421356", false}, {"\\sqrt{2}", "1.4142135623730950488", true}, {"2^{1/2}", "\\sqrt2", true},
  {"\\sqrt{5}", "5^{0.5}", true}, {"4\\sqrt{3}", "\\sqrt{48}", true}, {"\\frac{5\\sqrt{2}}{2}", "\\frac{5}{\\sqrt{2}}", true},
  {"1+\\sqrt{2}", "\\sqrt{2}+1", true}, {"1-\\sqrt{2}", "\\sqrt{2}-1", false},
  // pi, powers, products
  {"2\\pi", "2 \\pi", true}, {"\\pi", "3.14", false}, {"\\frac{\\pi}{2}", "\\frac12\\pi", true}, {"4\\pi", "\\pi*4", true},
  {"2^{10}", "1024", true}, {"2^10", "1024", true}, {"3^4", "81", true}, {"10^{-2}", "0.01", true},
  {"6\\cdot 7", "42", true}, {"6\\times7", "42", true}, {"2\\cdot10^3", "2000", true}, {"5!", "120", true},
  {"\\binom{5}{2}", "10", true}, {"\\binom{6}{3}", "21", false}, {"(-2)^3", "-8", true}, {"-2^2", "-4", true},
  {"\\frac{\\pi}{4}", "45\\pi/180", true}, {"\\pi r^2", "r^2\\pi", true}, {"e^2", "e*e", true},
  // \left \right, spacing, text, units, degrees, percent, dollars
  {"\\left(\\frac{1}{2}\\right)", "\\frac12", true}, {"3\\!", "3", true}, {"12\\,\\text{cm}", "12", true},
  {"12 \\text{ cm}^2", "12", true}, {"5\\text{ dollars}", "5", true}, {"30^\\circ", "30", true}, {"30^{\\circ}", "30", true},
  {"30", "30^\\circ", true}, {"50\\%", "50", true}, {"50\\%", "0.5", false}, {"\\$18.90", "18.90", true},
  {"\\$18.90", "18.9", true}, {"7 \\text{ inches}", "7", true}, {"7 inches", "7", true}, {"12 square feet", "12", true},
  {"4 \\mbox{ units}", "4", true}, {"\\displaystyle\\frac12", "0.5", true}, {"90^\\circ", "\\frac{\\pi}{2}", false},
  // equations
  {"3", "x = 3", true}, {"x=3", "3", true}, {"x = 3", "x=3", true}, {"3", "x = 4", false}, {"y = 2x+3", "2x+3", true},
  {"y=2x+3", "y = 3 + 2x", true}, {"y=2x+3", "y=2x-3", false}, {"2x+3y=6", "4x+6y=12", true}, {"2x+3y=6", "2x+3y=7", false},
  {"x^2+y^2=1", "y^2+x^2-1=0", true}, {"k = \\frac{1}{2}", "0.5", true},
  // symbolic expressions
  {"x^2-1", "(x-1)(x+1)", true}, {"x^2-1", "(x-1)^2", false}, {"(a+b)^2", "a^2+2ab+b^2", true}, {"2x", "x+x", true},
  {"2x", "x^2", false}, {"\\frac{x}{2}", "0.5x", true}, {"\\frac{1}{x}", "x^{-1}", true}, {"3x^2", "3x^3", false},
  {"\\frac{a}{b}", "\\frac{b}{a}", false}, {"p - q", "-q + p", true}, {"p-q", "q-p", false}, {"x_1 + x_2", "x_2+x_1", true},
  {"\\sin^2 x + \\cos^2 x", "1", true}, {"\\log_2 8", "3", true}, {"\\ln(e^2)", "2\\ln e", true}, {"|x|", "|x|", true},
  {"|-3|", "3", true}, {"\\frac{2\\theta}{2}", "\\theta", true}, {"\\alpha+\\beta", "\\beta+\\alpha", true},
  // tuples and intervals
  {"(1,2)", "(1, 2)", true}, {"(1,2)", "[1,2]", false}, {"(1,2)", "(2,1)", false}, {"[1,2]", "[1, 2]", true},
  {"(1,2]", "(1,2]", true}, {"(1,2]", "(1,2)", false}, {"[1,2)", "(1,2]", false}, {"(3,\\frac{\\pi}{2})", "(3, \\pi/2)", true},
  {"(-\\infty, 3)", "(-\\infty,3)", true}, {"(-\\infty, 3]", "(-\\infty, 3)", false}, {"(0.5, 2)", "(\\frac12, 2)", true},
  {"(1,2,3)", "(1,2)", false}, {"\\left( 2, \\frac{1}{3} \\right)", "(2, 1/3)", true}, {"(1,2)", "1,2", false},
  {"(-\\infty,-2)\\cup(2,\\infty)", "(2,\\infty)\\cup(-\\infty,-2)", true}, {"(-\\infty,-2)\\cup(2,\\infty)", "(-\\infty,-2]\\cup(2,\\infty)", false},
  {"x \\in [1,2]", "[1,2]", true}, {"(a, b)", "(a,b)", true},
  // unordered sets and lists
  {"\\{1,2,3\\}", "\\{3,2,1\\}", true}, {"\\{1,2\\}", "\\{1,2,3\\}", false}, {"\\{1,2\\}", "\\{1,3\\}", false},
  {"1,-2", "-2,1", true}, {"1,-2", "1, -2", true}, {"1,-2", "1,2", false}, {"3, 5, 7", "7,5,3", true}, {"3, 5, 7", "3,5", false},
  {"\\frac12, 3", "3, 0.5", true}, {"1,2", "\\{1,2\\}", true}, {"2", "\\{2\\}", true}, {"1, 1, 2", "1, 2, 2", false},
  {"x=1, x=2", "1,2", true}, {"\\sqrt2, -\\sqrt2", "-\\sqrt{2},\\sqrt{2}", true},
  // complex numbers
  {"6-5i", "6 - 5i", true}, {"6-5i", "-5i+6", true}, {"6-5i", "6+5i", false}, {"i", "\\sqrt{-1}", true},
  {"1+i", "\\frac{2}{1-i}", true}, {"2i", "i+i", true}, {"-1", "i^2", true}, {"3+4i", "4i+3", true}, {"3+4i", "3+4j", false},
  // numbers in a base
  {"52_8", "52_8", true}, {"52_8", "52_{8}", true}, {"52_8", "52", true}, {"52_8", "42", false}, {"1011_2", "11_{10}", true}, {"1011_2", "12_{10}", false},
  {"1011_2", "1011_{2}", true}, {"10_2", "2_{10}", true}, {"A3_{16}", "a3_{16}", true},
  // words
  {"\\text{odd}", "odd", true}, {"\\text{odd}", "\\text{Odd}", true}, {"\\text{odd}", "even", false}, {"\\text{(C)}", "C", true},
  {"\\text{(C)}", "(C)", true}, {"\\text{(C)}", "(B)", false}, {"Evelyn", "\\text{Evelyn}", true}, {"\\text{Evelyn}", "Evelyn.", true},
  {"\\text{east}", "\\text{west}", false},
  // matrices
  {"\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}", "\\begin{pmatrix}1\\\\2\\end{pmatrix}", true},
  {"\\begin{pmatrix} 1 & 2 \\\\ 3 & 4 \\end{pmatrix}", "\\begin{pmatrix} 1 & 2 \\\\ 3 & 5 \\end{pmatrix}", false},
  {"\\begin{pmatrix} \\frac12 \\\\ 2 \\end{pmatrix}", "\\begin{pmatrix} 0.5 \\\\ 2 \\end{pmatrix}", true},
  {"\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}", "(1,2)", false},
  // more near misses
  {"\\frac{1}{2}", "\\frac{1}{3}", false}, {"\\frac{2}{3}", "\\frac{3}{2}", false}, {"-3", "3", false}, {"0", "1", false},
  {"\\sqrt{3}", "3", false}, {"\\sqrt{3}", "\\sqrt[3]{3}", false}, {"2\\pi", "\\pi", false}, {"1000", "1001", false},
  {"x+1", "x-1", false}, {"(1,2)", "(1,3)", false}, {"\\{1,2\\}", "\\{2\\}", false}, {"i", "-i", false},
  {"25", "25\\%", true}, {"\\frac{5}{2}", "2.6", false},
  // plus-minus: two answers
  {"1 \\pm \\sqrt{19}", "1+\\sqrt{19}, 1-\\sqrt{19}", true}, {"1 \\pm \\sqrt{19}", "1+\\sqrt{19}", false},
  {"\\{1\\pm\\sqrt{5},-2\\}", "\\{-2, 1-\\sqrt5, 1+\\sqrt5\\}", true},
  // boxed leftovers and trailing punctuation
  {"5", "\\boxed{5}", true}, {"5", "5.", true}, {"\\frac{1}{2}", "\\boxed{\\frac{1}{2}}", true},
};
// clang-format on

TEST(MathEquiv, Table) {
  int n = 0, positives = 0;
  for (const Case& c : kCases) {
    const MathJudgement j = CompareMath(c.gold, c.pred);
    EXPECT_EQ(j.result == MathResult::kEqual, c.equal)
        << "gold '" << c.gold << "' pred '" << c.pred << "': " << MathResultName(j.result) << " (" << j.reason << ")";
    ++n;
    positives += c.equal;
  }
  EXPECT_GE(n, 150);
  EXPECT_GE(n - positives, 50);  // plenty of negatives: equal must be earned
}

// Classes of equal answers a published equivalence set (and MATH-500's own
// golds) write differently, each with near misses that must stay unequal.
// clang-format off
const Case kWrittenDifferently[] = {
  // thousands with a negative thin space (three MATH-500 golds), mixed numbers
  {"2,\\!220", "2220", true}, {"10,\\!080", "10080", true}, {"2,\\!220", "2221", false},
  {"1\\frac{4}{5}", "\\frac{9}{5}", true}, {"1\\frac{4}{5}", "\\frac{4}{5}", false}, {"-2\\frac12", "-2.5", true},
  {"2\\frac{\\pi}{3}", "\\frac{2\\pi}{3}", true},
  // inequalities and \\neq, as relations or as the interval they describe
  {"x \\geq 5", "x >= 5", true}, {"x \\ge 5", "5 \\le x", true}, {"x > 5", "x \\geq 5", false},
  {"x < 3", "x > 3", false}, {"2x < 10", "x < 5", true}, {"-x < -5", "x > 5", true}, {"x \\neq 2", "x \\ne 2", true},
  {"x \\neq 2", "x \\neq 3", false}, {"1 < x \\le 3", "3 \\geq x > 1", true}, {"1 < x \\le 3", "1 \\le x \\le 3", false},
  {"[5, \\infty)", "x \\geq 5", true}, {"(5, \\infty)", "x \\geq 5", false}, {"(-\\infty, 2)", "x<2", true},
  {"(1, 3]", "1 < x \\leq 3", true},
  // labelled answers: the label is not part of the answer
  {"(p,q)=(3,2)", "(3,2)", true}, {"(p,q)=(3,2)", "(2,3)", false}, {"f(x)=1", "1", true}, {"f(x) = x^2+1", "x^2+1", true},
  {"f(x)=1", "2", false}, {"S = \\{1, 2\\}", "\\{2, 1\\}", true},
  // several answers joined by words or semicolons
  {"(11,7) \\text{ or } (7,11)", "(7,11), (11,7)", true}, {"(11,7) or (7,11)", "(11,7)", false},
  {"3 \\text{ and } 5", "5, 3", true}, {"1; 2", "2, 1", true}, {"x = 1 \\text{ or } x = -1", "\\pm 1", true},
  // plus-minus against a set written with or without its backslashes
  {"\\pm 2021", "\\{-2021, 2021\\}", true}, {"\\pm 2021", "{-2021, 2021}", true}, {"\\pm 2021", "{2021}", false},
  // more LaTeX
  {"\\cfrac{1}{2}", "0.5", true}, {"\\textnormal{east}", "east", true}, {"5 \\textnormal{ cm}", "5", true},
  {"\\left(\\begin{array}{cc} 1 & 2 \\\\ 3 & 4 \\end{array}\\right)", "\\begin{pmatrix} 1 & 2 \\\\ 3 & 4 \\end{pmatrix}", true},
  {"\\begin{array}{c} 1 \\\\ 2 \\end{array}", "\\begin{pmatrix} 1 \\\\ 3 \\end{pmatrix}", false},
  {"\\sum_{k=1}^{10} k", "55", true}, {"\\sum_{k=1}^{10} k^2", "385", true}, {"\\prod_{j=1}^{5} j", "5!", true},
  {"\\sum_{k=1}^{10} k", "56", false}, {"\\frac{1}{3} \\approx 0.33", "\\frac13", true}, {"x \\approx 2.5", "2.5", true},
  {"\\frac{1}{3} \\approx 0.33", "0.33", false}, {"25 pct", "25", true}, {"40 percentage", "40", true},
  // found by a differential run on math-verify's published cases
  {"32,\\! 349", "32349", true}, {"11,\\! 111,\\! 111,\\! 100", "11111111100", true}, {"19, 46, and 82", "19, 46, 82", true},
  {"19, 46, and 82", "21, 36, and 82", false}, {"(11,7)or(7,11)", "(7,11), (11,7)", true}, {"21,16 or 11", "21,16,11", true},
  {"AB=4, CD=5", "4, 5", true}, {"|AB|=1", "1", true}, {"\\frac{NO}{BO}=\\frac{1}{\\sqrt{6}}", "\\frac{1}{\\sqrt{6}}", true},
  {"x+y=5", "5", false}, {"2x+3y=6", "6", false}, {"S_{MBCN}:S=7:32", "7:32", true}, {"7:32", "14:64", true},
  {"7:32", "32:7", false}, {"0<f(x)<1", "(0,1)", true}, {"0<f(x)<1", "[0,1)", false},
  {"V_{1}:V_{2}=11:21", "11:21", true}, {"(\\begin{pmatrix}1\\\\ 5 \\end{pmatrix})", "\\begin{pmatrix}1\\\\5 \\end{pmatrix}", true},
  // e is Euler's number
  {"e^2", "\\exp(2)", true}, {"0.00001", "1e-5", true}, {"2500", "2.5E3", true}, {"2e", "2\\exp(1)", true},
  {"0.0001", "1e-5", false}, {"e", "\\exp(1)", true}, {"e^2", "\\exp(3)", false}, {"\\ln e^3", "3", true},
  // precision: symbolic values agree to 60 digits or are different
  {"\\pi+10^{-31}", "\\pi", false}, {"10^{40}\\pi+1", "10^{40}\\pi", false}, {"\\pi + 10^{-50}", "\\pi", false},
  {"\\sqrt{2}\\sqrt{3}", "\\sqrt{6}", true}, {"\\frac{\\pi}{6}", "\\arcsin\\frac12", true},
  // found by a differential run against math-verify 0.9.0 (2026-12-05): a number in \\text or bold is a number,
  // not a word whose key drops the rest of the other side; digits apart are not one number, nor a product
  {"3\\pi", "\\textbf{3}", false}, {"3\\pi", "\\text{3}", false}, {"\\textbf{3}", "3\\pi", false},
  {"\\frac{1}{2}", "\\text{12}", false}, {"\\frac{\\pi}{4}", "\\textbf{4}", false}, {"\\sqrt{2}", "\\textbf{2}", false},
  {"2\\sqrt{3}", "\\mathbf{23}", false}, {"3.5", "\\text{35}", false}, {"25", "\\textbf{2.5}", false},
  {"\\frac{\\pi}{x}", "\\text{x}", false}, {"2", "\\textbf{2}", true}, {"3\\pi", "\\textbf{3\\pi}", true},
  {"\\text{(C)}", "C", true}, {"x", "\\text{x}", true},
  {"35", "3 5", false}, {"123", "1 2 3", false}, {"6", "2 3", false}, {"2025", "20 25", false},
  {"1000", "1 000", true}, {"1000000", "1\\,000\\,000", true}, {"1234.5", "1 234.5", true}, {"3.14159", "3.14 159", false},
  {"-3", "\xe2\x88\x92" "3", true},
  // the empty set, the reals, repeating decimals (exact)
  {"\\{\\}", "\\emptyset", true}, {"\\emptyset", "\\varnothing", true}, {"\\emptyset", "\\{0\\}", false},
  {"(-\\infty,\\infty)", "\\mathbb{R}", true}, {"(0,\\infty)", "\\mathbb{R}", false},
  {"\\frac13", "0.\\overline{3}", true}, {"\\frac16", "0.1\\overline{6}", true}, {"\\frac{14}{11}", "1.\\overline{27}", true},
  {"\\frac13", "0.\\overline{33}", true}, {"0.3", "0.\\overline{3}", false}, {"\\frac{1}{7}", "0.\\overline{142857}", true},
};
// clang-format on

TEST(MathEquiv, AnswersWrittenDifferently) {
  for (const Case& c : kWrittenDifferently) {
    const MathJudgement j = CompareMath(c.gold, c.pred);
    EXPECT_EQ(j.result == MathResult::kEqual, c.equal)
        << "gold '" << c.gold << "' pred '" << c.pred << "': " << MathResultName(j.result) << " (" << j.reason << ")";
  }
}

TEST(MathEquiv, HugeValuesAreTooLargeToVerifyQuickly) {
  std::string sum = "\\binom{100000}{50000}";
  for (int k = 1; k < 80; ++k) sum += "+\\binom{100000}{50000}";
  std::string facts = "2000!";
  for (int k = 1; k < 80; ++k) facts += "+2000!";
  for (const std::string& in : {sum, facts, std::string("\\sum_{k=1}^{10000} k!")}) {
    const auto t0 = std::chrono::steady_clock::now();
    const MathJudgement j = CompareMath(in, "7");
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    EXPECT_EQ(j.result, MathResult::kUnverifiable) << in.substr(0, 40);
    EXPECT_NE(j.reason.find("too large"), std::string::npos) << j.reason;
    EXPECT_LT(s, 1.0) << in.substr(0, 40);  // about 50 ms on a 2-core EPYC; generous for slow machines
  }
  // Large but reasonable values stay exact.
  EXPECT_EQ(CompareMath("\\binom{200}{100}", "90548514656103281165404177077484163874504589675413336841320").result,
            MathResult::kEqual);
  EXPECT_EQ(CompareMath("30!", "265252859812191058636308480000000").result, MathResult::kEqual);
}

TEST(MathEquiv, NumericToleranceIsConfigurable) {
  MathOptions loose;
  loose.rel_tol = 1e-2;
  EXPECT_EQ(CompareMath("\\frac13", "0.333", loose).result, MathResult::kEqual);
  EXPECT_EQ(CompareMath("\\sqrt2", "1.4142", loose).result, MathResult::kEqual);
  EXPECT_EQ(CompareMath("100", "100.5", loose).result, MathResult::kNotEqual) << "never a tolerance for integers";
  MathOptions off;
  off.rel_tol = 0;
  EXPECT_EQ(CompareMath("\\frac13", "0.3333333333333", off).result, MathResult::kNotEqual);
  EXPECT_EQ(CompareMath("\\frac{\\sqrt2}{2}", "\\frac{1}{\\sqrt2}", off).result, MathResult::kEqual)
      << "exact identities do not need the tolerance";
}

// Each adversarial input returns quickly, as unverifiable or not equal, never
// equal and never a crash.
TEST(MathEquiv, AdversarialInputsAreBounded) {
  std::vector<std::string> inputs = {
      "10^{10^{10}}", "2^{2^{2^{2^{2^{2}}}}}", "9^{9^{9}}", "10^{100000}", "1000000!", "\\binom{1000000}{500000}",
      std::string(5000, '{') + "1" + std::string(5000, '}'), std::string(5000, '(') + "1" + std::string(5000, ')'),
      std::string(1 << 20, '1'), std::string(1500, '1'), "", "   ", "\xff\xfe\x80", "\\frac{1}{0}", "0^{-1}",
      "\\frac{1", "((1,2)", "\\sqrt", "\\frac{}{}", "x^", "\\begin{pmatrix} 1", "\\text{", "1/0 + 2",
      std::string(3000, '-') + "1", "\\sqrt{\\sqrt{\\sqrt{\\sqrt{\\sqrt{\\sqrt{2}}}}}}^{99999999}", "\\ln 0",
      std::string("1") + std::string(1, '\0') + "2", "\\log_{1} 5", "e^{e^{e^{e^{10}}}}", "(-1)^{0.5}"};
  for (int k = 0; k < 200; ++k) inputs.back() += "+1";
  for (const std::string& in : inputs) {
    const auto t0 = std::chrono::steady_clock::now();
    const MathJudgement a = CompareMath("7", in);
    const MathJudgement b = CompareMath(in, "7");
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    EXPECT_NE(a.result, MathResult::kEqual) << in.substr(0, 60);
    EXPECT_NE(b.result, MathResult::kEqual) << in.substr(0, 60);
    EXPECT_LT(s, 1.0) << "took " << s << " s on '" << in.substr(0, 60) << "'";
  }
  EXPECT_EQ(CompareMath("7", "10^{10^{10}}").result, MathResult::kUnverifiable);
  EXPECT_EQ(CompareMath("7", std::string(5000, '{') + "1" + std::string(5000, '}')).result, MathResult::kUnverifiable);
  EXPECT_EQ(CompareMath("7", std::string(1 << 20, '1')).result, MathResult::kUnverifiable);
  // Deep but reasonable nesting still parses.
  EXPECT_EQ(CompareMath("7", std::string(40, '(') + "7" + std::string(40, ')')).result, MathResult::kEqual);
}

TEST(Extraction, BoxedTakesTheLastWithNestedBraces) {
  Extraction x = ExtractBoxed("first \\boxed{1} then \\boxed{\\frac{1}{\\sqrt{2}}} done");
  ASSERT_TRUE(x.ok);
  EXPECT_EQ(x.answer, "\\frac{1}{\\sqrt{2}}");
  EXPECT_EQ(ExtractBoxed("\\boxed{\\{1,2\\}}").answer, "\\{1,2\\}");
  EXPECT_EQ(ExtractBoxed("so \\boxed 5$.").answer, "5");
  EXPECT_EQ(ExtractBoxed("\\fbox{7}").answer, "7");
  EXPECT_EQ(ExtractBoxed("no box here").error, "no answer");
  EXPECT_EQ(ExtractBoxed("\\boxed{\\frac{1}{2}").error, "unbalanced braces");
  EXPECT_EQ(ExtractBoxed("\\boxed{  }").error, "empty answer");
}

TEST(Extraction, MathAnswerPrefersTheAnswerTagAndReadsBoxedInside) {
  EXPECT_EQ(ExtractMathAnswer("<think>\\boxed{1}</think><answer>2</answer>").answer, "2");
  EXPECT_EQ(ExtractMathAnswer("<think>x</think><answer>so \\boxed{3}</answer>").answer, "3");
  EXPECT_EQ(ExtractMathAnswer("the answer is \\boxed{4}").answer, "4");
  EXPECT_EQ(ExtractMathAnswer("<answer>5").error, "unclosed <answer>");
  EXPECT_EQ(ExtractMathAnswer("<answer></answer>").error, "empty answer");
  EXPECT_EQ(ExtractMathAnswer("nothing").error, "no answer");
}

TEST(Extraction, FreeTextFindsTheStatedAnswerElseTheLastNumber) {
  EXPECT_EQ(ExtractFreeTextAnswer("So she pays 3*4=12. The answer is $12$.").answer, "12");
  EXPECT_EQ(ExtractFreeTextAnswer("Thus, the final answer is 18 dollars. I hope it is correct.").answer, "18 dollars");
  EXPECT_EQ(ExtractFreeTextAnswer("**Answer:** 42").answer, "42");
  EXPECT_EQ(ExtractFreeTextAnswer("The answer is: $\\frac{1}{2}$\nDone").answer, "\\frac{1}{2}");
  EXPECT_EQ(ExtractFreeTextAnswer("She makes 9 * 2 = $18 every day.").answer, "18");
  EXPECT_EQ(ExtractFreeTextAnswer("It costs 1,234.50 in total, not -3/4").answer, "-3/4");
  EXPECT_EQ(ExtractFreeTextAnswer("It costs 1,234.50 in total").answer, "1,234.50");
  EXPECT_EQ(ExtractFreeTextAnswer("no digits here").error, "no answer");
  // Tagged extraction ignores free text; free text is the fallback after tags and boxes.
  EXPECT_FALSE(ExtractMathAnswer("The answer is 5.").ok);
  EXPECT_EQ(ExtractMathAnswer("The answer is 5.", MathExtraction::kFreeText).answer, "5");
  EXPECT_EQ(ExtractMathAnswer("The answer is 5. So \\boxed{6}", MathExtraction::kFreeText).answer, "6");
  EXPECT_TRUE(VerifyMathAnswer("The answer is $\\frac{1}{2}$.", "0.5", 1e-9, MathExtraction::kFreeText).correct);
  EXPECT_FALSE(VerifyMathAnswer("The answer is $\\frac{1}{2}$.", "0.5", 1e-9).correct);
}

TEST(Extraction, HashAnswer) {
  EXPECT_EQ(ExtractHashAnswer("so 3+4=7\n#### 7").answer, "7");
  EXPECT_EQ(ExtractHashAnswer("#### 1,234.").answer, "1234");
  EXPECT_EQ(ExtractHashAnswer("#### -5 ").answer, "-5");
  EXPECT_EQ(ExtractHashAnswer("7").error, "no answer");
  EXPECT_EQ(ExtractHashAnswer("####   ").error, "empty answer");
}

TEST(VerifyMath, JudgesACompletion) {
  const Verdict v = VerifyMathAnswer("<think>half</think><answer>\\frac{1}{2}</answer>", "0.5", 1e-9);
  EXPECT_TRUE(v.correct);
  EXPECT_TRUE(v.format_ok);
  EXPECT_EQ(v.extracted, "\\frac{1}{2}");
  const Verdict u = VerifyMathAnswer("<think>x</think><answer>10^{10^{10}}</answer>", "7", 1e-9);
  EXPECT_FALSE(u.correct);
  EXPECT_NE(u.error.find("unverifiable"), std::string::npos);
}

}  // namespace
}  // namespace r1lab

// Mathematical answer equivalence for MATH/GSM8K-style answers.
//
// Both answers are normalised (LaTeX spacing, \left/\right, \dfrac, units,
// degrees, percent, thousands separators), split into structure (tuples and
// intervals, sets, comma lists, unions, equations, matrices, numbers in a
// base, words) and the scalar parts parsed into expression trees.
// Expressions are compared by evaluation: exact complex rationals wherever
// the value is rational, 100-digit floats where it is not (roots, pi, e, logs,
// trig), equal to 60 digits; free symbols are given the same random rational
// values on both sides for several rounds (polynomial identity testing). See
// docs/DECISIONS.md for why this is not GiNaC, and for the precision policy.
//
// Bounded: inputs over 2,000 characters, nesting over 100 levels, more than
// 2,000 expression nodes, values that overflow, or more work than a fixed
// budget (huge factorials, binomials, sums) are "unverifiable", never a hang
// or a crash. Pure and thread-safe.
#pragma once

#include <string>

namespace r1lab {

enum class MathResult { kEqual, kNotEqual, kUnverifiable };

struct MathOptions {
  // Relative tolerance for answers written as decimals that are not exactly
  // equal (0.3333333333 against 1/3): applied only when a side contains a
  // decimal literal, never when either side is an exact integer. 0 turns it off.
  double rel_tol = 1e-9;
};

struct MathJudgement {
  MathResult result = MathResult::kUnverifiable;
  std::string reason;  // why not equal, or why unverifiable; empty when equal
};

MathJudgement CompareMath(const std::string& gold, const std::string& pred, const MathOptions& opt = {});

const char* MathResultName(MathResult r);

}  // namespace r1lab

// Mathematical answer equivalence for MATH/GSM8K-style answers.
//
// Both answers are normalised (LaTeX spacing, \left/\right, \dfrac, units,
// degrees, percent, thousands separators), split into structure (tuples and
// intervals, sets, comma lists, unions, equations, matrices, numbers in a
// base, words) and the scalar parts parsed into expression trees.
// Expressions are compared by evaluation: exact complex rationals wherever
// the value is rational, 50-digit floats where it is not (roots, pi, logs,
// trig), and free symbols are given the same random rational values on both
// sides for several rounds (polynomial identity testing). See
// docs/DECISIONS.md for why this is not GiNaC.
//
// Bounded: inputs over 2,000 characters, nesting over 100 levels, more than
// 2,000 expression nodes, or values that overflow are "unverifiable", never a
// hang or a crash. Pure and thread-safe.
#pragma once

#include <string>

namespace r1lab {

enum class MathResult { kEqual, kNotEqual, kUnverifiable };

struct MathOptions {
  // Relative tolerance for non-integer values that are not exactly equal
  // (e.g. 0.3333333333 against 1/3). Never applied when either side is an
  // exact integer. 0 turns it off.
  double rel_tol = 1e-9;
};

struct MathJudgement {
  MathResult result = MathResult::kUnverifiable;
  std::string reason;  // why not equal, or why unverifiable; empty when equal
};

MathJudgement CompareMath(const std::string& gold, const std::string& pred, const MathOptions& opt = {});

const char* MathResultName(MathResult r);

}  // namespace r1lab

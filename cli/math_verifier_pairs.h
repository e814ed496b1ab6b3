// The answer pairs `r1lab bench` times the math verifier on, shared with
// scripts/bench_math_verifier.cc (which compares two verifier versions).
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace r1lab {

// Integers, fractions, decimals.
inline const std::vector<std::pair<std::string, std::string>> kEasyMathPairs = {
    {"42", "42"}, {"\\frac{1}{2}", "0.5"}, {"-7", "+7"}, {"1,000", "1000"}, {"\\frac{14}{3}", "4.6"}};

// Radicals, symbols, sets, unions, trigonometry, a huge power.
inline const std::vector<std::pair<std::string, std::string>> kHardMathPairs = {
    {"\\frac{\\sqrt{2}}{2}", "\\frac{1}{\\sqrt2}"},
    {"(a+b)^2", "a^2+2ab+b^2"},
    {"\\{1\\pm\\sqrt{5},-2\\}", "\\{-2, 1-\\sqrt5, 1+\\sqrt5\\}"},
    {"(-\\infty,-2)\\cup(2,\\infty)", "(2,\\infty)\\cup(-\\infty,-2)"},
    {"\\sin^2 x + \\cos^2 x", "1"},
    {"10^{10^{10}}", "7"}};

}  // namespace r1lab

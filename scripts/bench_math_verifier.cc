// Throughput of the math verifier on r1lab bench's easy and hard pairs, for
// comparing two versions of verify/math_equiv.cc without a full build
// (BENCHMARKS.md, 2026-12-02 (a)). From the repository root:
//   g++ -O2 -march=native -std=c++17 -Iverify -Icore scripts/bench_math_verifier.cc verify/math_equiv.cc -o /tmp/mb
//   /tmp/mb
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>
#include "math_equiv.h"
using namespace r1lab;
int main() {
  const std::vector<std::pair<std::string, std::string>> easy = {
      {"42", "42"}, {"\\frac{1}{2}", "0.5"}, {"-7", "+7"}, {"1,000", "1000"}, {"\\frac{14}{3}", "4.6"}};
  const std::vector<std::pair<std::string, std::string>> hard = {
      {"\\frac{\\sqrt{2}}{2}", "\\frac{1}{\\sqrt2}"}, {"(a+b)^2", "a^2+2ab+b^2"},
      {"\\{1\\pm\\sqrt{5},-2\\}", "\\{-2, 1-\\sqrt5, 1+\\sqrt5\\}"}, {"(-\\infty,-2)\\cup(2,\\infty)", "(2,\\infty)\\cup(-\\infty,-2)"},
      {"\\sin^2 x + \\cos^2 x", "1"}, {"10^{10^{10}}", "7"}};
  for (int rep = 0; rep < 3; ++rep)
  for (const auto* set : {&easy, &hard}) {
    long n = 0;
    auto t0 = std::chrono::steady_clock::now();
    double s = 0;
    while (s < 1.0) {
      for (const auto& [g, p] : *set) CompareMath(g, p), ++n;
      s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    }
    std::printf("%s %.0f /s\n", set == &easy ? "easy" : "hard", n / s);
  }
}

// Throughput of the math verifier on r1lab bench's easy and hard pairs, for
// comparing two versions of verify/math_equiv.cc without a full build
// (BENCHMARKS.md, 2026-12-02 (a)). From the repository root:
//   g++ -O2 -march=native -std=c++17 -Iverify -Icore -Icli scripts/bench_math_verifier.cc verify/math_equiv.cc -o /tmp/mb
//   /tmp/mb
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>
#include "math_equiv.h"
#include "math_verifier_pairs.h"
using namespace r1lab;
int main() {
  const auto& easy = kEasyMathPairs;
  const auto& hard = kHardMathPairs;
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

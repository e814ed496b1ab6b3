// A seeded mutation fuzzer over the libFuzzer target in fuzz/verify_fuzz.cc:
// every test run feeds it a few thousand mutated inputs and checks that each
// returns (no crash, no exception) within a time bound. scripts/fuzz.sh runs
// the same target under libFuzzer with AddressSanitizer.
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "rng.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace r1lab {
namespace {

TEST(Fuzz, VerifierSurvivesMutatedInputsQuickly) {
  const std::vector<std::string> seeds = {
      "\\frac{1}{2}\n0.5", "(1,2]\n[1,2)", "\\{1,2\\}\n2,1", "6-5i\n-5i+6", "52_8\n42", "x=3\n3",
      "\\begin{pmatrix}1\\\\2\\end{pmatrix}\n(1,2)", "\\sqrt[3]{-8}\n-2", "10^{10^{10}}\n7",
      "AB3 AC7 BC2 CD1 A to D\n<think>x</think><answer>A-B-C-D</answer>",
      "3 7 25\n<think>25-3=22</think><answer>(25-3)*7</answer>",
      "x\ns=0;while x gt 0{s=s+x%10;x=x/10};return s", "1 \\pm \\sqrt{19}\n\\boxed{1+\\sqrt{19}, 1-\\sqrt{19}}",
      "<think>3 mas 4 es 7</think><answer>7</answer>", "#### 1,234.\n1234"};
  const std::string alphabet = "0123456789+-*/^()[]{}\\,.=_ xiepa\n<>!|$%";
  Rng rng(2026);
  int runs = 0;
  double worst = 0;
  const auto t_end = std::chrono::steady_clock::now() + std::chrono::seconds(8);
  while (runs < 20000 && std::chrono::steady_clock::now() < t_end) {
    std::string s = seeds[static_cast<size_t>(rng.Int(0, static_cast<long long>(seeds.size()) - 1))];
    const int edits = static_cast<int>(rng.Int(1, 8));
    for (int e = 0; e < edits; ++e) {
      const size_t at = s.empty() ? 0 : static_cast<size_t>(rng.Int(0, static_cast<long long>(s.size()) - 1));
      switch (rng.Int(0, 4)) {
        case 0: if (!s.empty()) s[at] = alphabet[static_cast<size_t>(rng.Int(0, static_cast<long long>(alphabet.size()) - 1))]; break;
        case 1: s.insert(at, 1, alphabet[static_cast<size_t>(rng.Int(0, static_cast<long long>(alphabet.size()) - 1))]); break;
        case 2: if (!s.empty()) s.erase(at, 1); break;
        case 3: s.insert(at, s.substr(at, static_cast<size_t>(rng.Int(0, 20)))); break;  // repeat a span
        default: s.insert(at, 1, static_cast<char>(rng.Int(0, 255))); break;            // any byte
      }
    }
    const auto t0 = std::chrono::steady_clock::now();
    LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(s.data()), s.size());
    const double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    worst = std::max(worst, dt);
    EXPECT_LT(dt, 0.5) << "slow input: " << s;
    ++runs;
  }
  EXPECT_GT(runs, 500);
  std::cout << runs << " fuzz inputs, slowest " << worst * 1000 << " ms\n";
}

}  // namespace
}  // namespace r1lab

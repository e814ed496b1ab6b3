// The verifier's libFuzzer target (fuzz/verify_fuzz.cc) under the seeded
// mutation driver: a few thousand mutated inputs every test run.
#include <string>
#include <vector>

#include "fuzz_driver.h"

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
  EXPECT_GT(testing::MutationFuzz(seeds, alphabet, 20000, 8), 500);
}

}  // namespace
}  // namespace r1lab

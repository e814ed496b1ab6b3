// r1lab's math verifier against math-verify 0.9.0's published test cases
// (tests/verify/data/README.md): every case where the two agreed must still
// agree; the 17 noted differences may change (an improvement), and the count
// of agreements may only grow.
#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "answer.h"
#include "json.h"
#include "math_equiv.h"

namespace r1lab {
namespace {

TEST(MathVerifyCases, EveryAgreementHolds) {
  const std::string path = std::string(R1LAB_SOURCE_DIR) + "/tests/verify/data/math_verify_0.9.0.jsonl";
  std::ifstream in(path);
  ASSERT_TRUE(in) << path;
  int cases = 0, agree = 0, noted = 0;
  for (std::string line; std::getline(in, line);) {
    const JsonValue c = JsonValue::Parse(line);
    const bool expected = c.at("expected").boolean();
    const Verdict v = VerifyMathAnswer(c.at("completion").string(), c.at("gold").string(), MathOptions().rel_tol);
    ++cases;
    agree += v.correct == expected;
    if (c.find("r1lab_differs")) {
      ++noted;
      continue;
    }
    EXPECT_EQ(v.correct, expected) << c.at("src").string() << ": gold " << c.at("gold").string() << ", answer "
                                   << c.at("completion").string() << " (" << v.error << ")";
  }
  EXPECT_EQ(cases, 187);
  EXPECT_EQ(noted, 17);
  EXPECT_GE(agree, 170);
}

}  // namespace
}  // namespace r1lab

#include <gtest/gtest.h>

#include <cmath>

#include "answer.h"
#include "json.h"
#include "metrics.h"
#include "report.h"
#include "error.h"

namespace r1lab {
namespace {

// Reference: the definition 1 - C(n-c, k) / C(n, k), in double precision.
double Binom(int n, int k) {
  if (k < 0 || k > n) return 0;
  double r = 1;
  for (int i = 1; i <= k; ++i) r = r * (n - k + i) / i;
  return r;
}

TEST(PassAtK, HandComputedValues) {
  EXPECT_DOUBLE_EQ(PassAtK(5, 2, 1), 0.4);
  EXPECT_NEAR(PassAtK(5, 2, 2), 1.0 - 3.0 / 10.0, 1e-12);       // C(3,2)/C(5,2)
  EXPECT_NEAR(PassAtK(10, 3, 5), 1.0 - 21.0 / 252.0, 1e-12);    // C(7,5)/C(10,5)
  EXPECT_DOUBLE_EQ(PassAtK(10, 0, 4), 0.0);
  EXPECT_DOUBLE_EQ(PassAtK(4, 4, 2), 1.0);
  EXPECT_DOUBLE_EQ(PassAtK(8, 6, 3), 1.0);  // fewer than k wrong: always a hit
}

TEST(PassAtK, MatchesBinomialDefinition) {
  for (int n : {1, 7, 16, 40})
    for (int c = 0; c <= n; c += 3)
      for (int k = 1; k <= n; k += 2)
        EXPECT_NEAR(PassAtK(n, c, k), 1.0 - Binom(n - c, k) / Binom(n, k), 1e-9) << n << " " << c << " " << k;
}

TEST(MajorityVote, CountsAnswersAndBreaksTiesByFirstSeen) {
  EXPECT_EQ(MajorityAnswer({"3", "5", "5", "3", "5"}), "5");
  EXPECT_EQ(MajorityAnswer({"7", "", "2", "2", "7"}), "7");
  EXPECT_EQ(MajorityAnswer({"", "", "4"}), "4");
  EXPECT_EQ(MajorityAnswer({"", ""}), "");
}

TEST(ReflectiveWords, WholeWordsCaseInsensitive) {
  EXPECT_EQ(CountWord("Wait, wait. awaits waiting", "wait"), 2);
  EXPECT_EQ(CountReflectiveWords("but check: however, I verify; butter"), 4);
  EXPECT_EQ(CountReflectiveWords("no reflection"), 0);
}

TEST(Verify, ExtractsTheLastAnswerAndSaysWhyNot) {
  EXPECT_EQ(ExtractTaggedAnswer("<answer>1</answer><answer> 12 </answer>").answer, "12");
  EXPECT_EQ(ExtractTaggedAnswer("no tags").error, "no answer");
  EXPECT_EQ(ExtractTaggedAnswer("<answer>  </answer>").error, "empty answer");
  EXPECT_EQ(ExtractTaggedAnswer("<answer>3").error, "unclosed <answer>");
}

TEST(Verify, FormatNeedsEachTagOnceInOrderAndNothingAfter) {
  EXPECT_TRUE(FormatOk("<think>1+2=3\n</think><answer>3</answer>"));
  EXPECT_TRUE(FormatOk("<think>x</think><answer>3</answer><eos>"));
  EXPECT_FALSE(FormatOk("<think>x</think><answer>3</answer>junk"));
  EXPECT_FALSE(FormatOk("<answer>3</answer><think>x</think>"));
  EXPECT_FALSE(FormatOk("<think>x</think> <answer>3</answer>"));
  EXPECT_FALSE(FormatOk("<think>x<think></think><answer>3</answer>"));
  EXPECT_FALSE(FormatOk("x<think>x</think><answer>3</answer>"));
}

TEST(Verify, IntegerAnswers) {
  EXPECT_TRUE(VerifyIntegerAnswer("<think>x</think><answer>-4</answer>", "-4").correct);
  EXPECT_TRUE(VerifyIntegerAnswer("<think>x</think><answer>+7</answer>", "7").correct);
  EXPECT_FALSE(VerifyIntegerAnswer("<think>x</think><answer>7.0</answer>", "7").correct);
  EXPECT_FALSE(VerifyIntegerAnswer("<think>x</think><answer>8</answer>", "7").correct);
  const Verdict v = VerifyIntegerAnswer("<think>x</think>", "7");
  EXPECT_FALSE(v.correct);
  EXPECT_EQ(v.error, "no answer");
}

TEST(ConfidenceInterval, StudentTAgainstHandValues) {
  // (1, 2, 3): mean 2, s = 1, half-width t(0.975, 2) * 1 / sqrt(3); t(0.975, 2) = 0.95 / sqrt(2 * 0.975 * 0.025)
  // = 4.302652729749462 (closed form for 2 degrees of freedom).
  const MeanCi m = MeanWithCi({1, 2, 3});
  EXPECT_DOUBLE_EQ(m.mean, 2.0);
  EXPECT_NEAR(m.half, 4.302652729749462 / std::sqrt(3.0), 1e-12);
  EXPECT_EQ(MeanWithCi({5}).half, 0.0);
  // Double-precision bisection on Simpson-integrated t densities (R: qt(0.975, 10), qt(0.975, 1000)).
  EXPECT_NEAR(TCritical95(10), 2.228138851986158, 1e-9);
  EXPECT_NEAR(TCritical95(1000), 1.96233908082575, 1e-9);
  EXPECT_EQ(TCritical95(0), 0.0);
}

TEST(Json, ParsesWhatWeWriteAndRejectsGarbage) {
  const JsonValue v = JsonValue::Parse(
      Json().Add("a", 1.5).Add("s", "x\"y\n").Add("b", true).Add("v", std::vector<double>{1, 2}).str());
  EXPECT_DOUBLE_EQ(v.num("a"), 1.5);
  EXPECT_EQ(v.at("s").string(), "x\"y\n");
  EXPECT_TRUE(v.at("b").boolean());
  EXPECT_EQ(v.at("v").array().size(), 2u);
  EXPECT_EQ(v.find("missing"), nullptr);
  EXPECT_THROW(JsonValue::Parse("{\"a\": }"), InputError);
  EXPECT_THROW(JsonValue::Parse("[1, 2"), InputError);
  EXPECT_THROW(JsonValue::Parse(std::string(5000, '[')), InputError);  // too deep, not a stack overflow
  EXPECT_THROW(v.num("missing"), InputError);
}

}  // namespace
}  // namespace r1lab

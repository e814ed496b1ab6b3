// Answer extraction and the format check (verify/answer.h).
#include <gtest/gtest.h>

#include "answer.h"

namespace r1lab {
namespace {

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

TEST(Verify, FormatAllowingWhitespaceAllowsItAroundTheTagsOnly) {
  // R1's template ("</think> <answer>") and a real LM's newlines.
  EXPECT_TRUE(FormatOk("<think>x</think> <answer>3</answer>", true));
  EXPECT_TRUE(FormatOk(" \n<think>x</think>\n\n<answer>3</answer>\n<eos>", true));
  EXPECT_TRUE(FormatOk("<think>x</think>\t<answer>3</answer> ", true));
  EXPECT_TRUE(FormatOk("<think>x</think><answer>3</answer>", true));
  EXPECT_FALSE(FormatOk("<think>x</think> so <answer>3</answer>", true));
  EXPECT_FALSE(FormatOk("x <think>x</think><answer>3</answer>", true));
  EXPECT_FALSE(FormatOk("<think>x</think><answer>3</answer> junk", true));
  EXPECT_FALSE(FormatOk("<answer>3</answer> <think>x</think>", true));
  EXPECT_FALSE(FormatOk("<think>x</think> <answer>3</answer>\n", false));
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

}  // namespace
}  // namespace r1lab

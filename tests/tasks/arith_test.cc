#include <gtest/gtest.h>

#include <set>

#include "answer.h"
#include "arith.h"
#include "error.h"
#include "json.h"
#include "task_verify.h"
#include "test_util.h"

namespace r1lab {
namespace {

TaskConfig Arith(const std::string& arith = "min_ops: 2 max_ops: 3", const std::string& extra = "") {
  return testing::ParseResolved<TaskConfig>("arith { " + arith + " } num_test: 200 " + extra);
}

TEST(Arith, EvaluatesLeftToRight) {
  EXPECT_EQ(EvalLeftToRight("3+5-2"), 6);
  EXPECT_EQ(EvalLeftToRight("2+3*4"), 20);
  EXPECT_EQ(EvalLeftToRight("1-9-9"), -17);
}

TEST(Arith, SplitsAreSeededAndDisjoint) {
  ArithTask a(Arith()), b(Arith());
  ASSERT_EQ(a.TestSet().size(), 200u);
  std::set<std::string> test;
  for (size_t i = 0; i < a.TestSet().size(); ++i) {
    EXPECT_EQ(a.TestSet()[i].key, b.TestSet()[i].key);
    test.insert(a.TestSet()[i].key);
  }
  EXPECT_EQ(test.size(), 200u);
  // Validation: the next distinct keys, none a test key, the same for the same seed.
  ASSERT_EQ(a.ValidationSet().size(), 200u);
  std::set<std::string> held_out = test;
  for (size_t i = 0; i < a.ValidationSet().size(); ++i) {
    EXPECT_EQ(a.ValidationSet()[i].key, b.ValidationSet()[i].key);
    held_out.insert(a.ValidationSet()[i].key);
  }
  EXPECT_EQ(held_out.size(), 400u);
  // Adding validation left the test split as it was.
  ArithTask none(Arith("min_ops: 2 max_ops: 3", "num_validation: 0"));
  for (size_t i = 0; i < 200; ++i) EXPECT_EQ(none.TestSet()[i].key, a.TestSet()[i].key);
  EXPECT_TRUE(none.ValidationSet().empty());
  Rng rng(3);
  for (int i = 0; i < 5000; ++i) EXPECT_EQ(held_out.count(a.SampleTrain(rng).key), 0u);
  ArithTask c(Arith("min_ops: 2 max_ops: 3", "split_seed: 99"));
  int same = 0;
  for (size_t i = 0; i < 200; ++i) same += c.TestSet()[i].key == a.TestSet()[i].key;
  EXPECT_LT(same, 20);
}

TEST(Arith, DifficultyKnobSetsTheLevel) {
  ArithTask t(testing::ParseResolved<TaskConfig>("arith { min_ops: 4 max_ops: 4 } num_test: 10"));
  for (const Problem& p : t.TestSet()) EXPECT_EQ(p.level, 4);
}

TEST(Arith, CleanTeacherIsAlwaysRightAndWellFormed) {
  ArithTask t(Arith());
  TeacherConfig clean;
  clean.set_step_error_rate(0);
  Rng rng(1);
  for (int i = 0; i < 200; ++i) {
    const Problem p = t.SampleTrain(rng);
    const Trace tr = t.Teach(p, clean, rng);
    EXPECT_TRUE(tr.answer_correct);
    const Verdict v = VerifyIntegerAnswer(tr.completion, p.gold);
    EXPECT_TRUE(v.correct) << tr.completion;
    EXPECT_TRUE(v.format_ok) << tr.completion;
    EXPECT_EQ(static_cast<int>(tr.steps.size()), p.level);
    for (const Step& s : tr.steps) EXPECT_TRUE(s.correct);
  }
}

TEST(Arith, NoiseKnobsProduceLabelledErrorsAndFixes) {
  ArithTask t(Arith());
  TeacherConfig noisy;
  noisy.set_step_error_rate(0.5);
  noisy.set_reflection_rate(0);
  Rng rng(2);
  int wrong_steps = 0, wrong_answers = 0;
  for (int i = 0; i < 300; ++i) {
    const Problem p = t.SampleTrain(rng);
    const Trace tr = t.Teach(p, noisy, rng);
    for (const Step& s : tr.steps) {
      // Ground truth of a step: its own arithmetic.
      const size_t eq = s.text.find('=');
      EXPECT_EQ(s.correct, EvalLeftToRight(s.text.substr(0, eq)) == std::stoll(s.text.substr(eq + 1))) << s.text;
      wrong_steps += !s.correct;
    }
    wrong_answers += !tr.answer_correct;
    EXPECT_EQ(tr.answer_correct, VerifyIntegerAnswer(tr.completion, p.gold).correct);
  }
  EXPECT_GT(wrong_steps, 200);
  EXPECT_GT(wrong_answers, 150);

  TeacherConfig reflective = noisy;
  reflective.set_reflection_rate(1);
  for (int i = 0; i < 100; ++i) {
    const Problem p = t.SampleTrain(rng);
    const Trace tr = t.Teach(p, reflective, rng);
    EXPECT_TRUE(tr.answer_correct) << tr.completion;  // every error is caught by a "wait" line
    for (size_t k = 0; k < tr.steps.size(); ++k)
      if (!tr.steps[k].correct) {
        EXPECT_EQ(tr.steps[k + 1].text.rfind("wait ", 0), 0u) << tr.completion;
      }
  }
}

TEST(Arith, VerificationCatchesErrorsAndLanguagesMix) {
  ArithTask t(Arith("min_ops: 2 max_ops: 3 spanish_rate: 1"));
  TeacherConfig v;
  v.set_step_error_rate(0.5);
  v.set_reflection_rate(0);
  v.set_verification_rate(1);
  Rng rng(4);
  int spanish_words = 0, english_words = 0;
  for (int i = 0; i < 100; ++i) {
    const Problem p = t.SampleTrain(rng);
    EXPECT_EQ(p.prompt.rfind("es:", 0), 0u);
    const Trace tr = t.Teach(p, v, rng);
    EXPECT_TRUE(tr.answer_correct) << tr.completion;  // checks expose every error (no '*' here)
    spanish_words += tr.completion.find("comprueba") != std::string::npos;
    english_words += tr.completion.find("check") != std::string::npos;
  }
  EXPECT_EQ(english_words, 0);
  EXPECT_GT(spanish_words, 90);
  v.set_language_mix_rate(0.5);
  int mixed = 0;
  for (int i = 0; i < 50; ++i) mixed += t.Teach(t.SampleTrain(rng), v, rng).completion.find("check") != std::string::npos;
  EXPECT_GT(mixed, 20);
}

TEST(Arith, EveryValueOfASigned64BitIntegerIsComparedExactly) {
  auto answer = [](const std::string& a) { return "<think>x</think><answer>" + a + "</answer>"; };
  for (const char* gold : {"9223372036854775807", "-9223372036854775808", "1000000000000000001", "-1000000000000000001",
                           "+9223372036854775806", "00000000000000000000042"})
    EXPECT_TRUE(VerifyIntegerAnswer(answer(gold), gold).correct) << gold;
  EXPECT_FALSE(VerifyIntegerAnswer(answer("9223372036854775806"), "9223372036854775807").correct);
  EXPECT_FALSE(VerifyIntegerAnswer(answer("1000000000000000000"), "1000000000000000001").correct);
  EXPECT_FALSE(VerifyIntegerAnswer(answer("9223372036854775808"), "9223372036854775808").correct)
      << "beyond 64 bits is not an integer answer";
  long long v = 0;
  EXPECT_FALSE(ParseInteger("-9223372036854775809", &v));
  EXPECT_FALSE(ParseInteger("99999999999999999999", &v));
  // A chain-of-thought line with such numbers is judged, not thrown out or overflowed.
  EXPECT_EQ(ArithLineWrong("4611686018427387904+4611686018427387903=9223372036854775807"), false);
  EXPECT_EQ(ArithLineWrong("9223372036854775807+1=-9223372036854775808"), true);
  EXPECT_EQ(ArithLineWrong("3037000500*3037000500=-9223372036709301616"), true);
  EXPECT_EQ(ArithLineWrong("99999999999999999999+1=2"), std::nullopt);
}

TEST(Arith, ARecordGoldIsAJsonIntegerOrAString) {
  const std::string seven = "<think>x</think><answer>-7</answer>";
  for (const char* record : {R"({"gold": -7})", R"({"gold": "-7"})", R"({"gold": -7.0})", R"({"gold": -7e0})"})
    EXPECT_TRUE(VerifyRecord("arith", JsonValue::Parse(record), seven, 0).correct) << record;
  EXPECT_FALSE(VerifyRecord("arith", JsonValue::Parse(R"({"gold": 7})"), seven, 0).correct);
  EXPECT_TRUE(VerifyRecord("arith", JsonValue::Parse(R"({"gold": "9223372036854775807"})"),
                           "<think>x</think><answer>9223372036854775807</answer>", 0)
                  .correct);
  // Not an integer, or a JSON number too large to be exact as a double: an error naming the field.
  for (const char* record : {R"({"gold": 7.5})", R"({"gold": 1e300})", R"({"gold": 9007199254740993})",
                             R"({"gold": "seven"})", R"({"gold": null})"}) {
    try {
      VerifyRecord("arith", JsonValue::Parse(record), seven, 0);
      ADD_FAILURE() << "accepted " << record;
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find("\"gold\""), std::string::npos) << record << ": " << e.what();
    }
  }
}

TEST(Arith, TooSmallProblemSpaceIsAConfigError) {
  EXPECT_THROW(ArithTask(testing::ParseResolved<TaskConfig>("arith { min_ops: 1 max_ops: 1 max_operand: 3 } num_test: 10")),
               ConfigError);
}

}  // namespace
}  // namespace r1lab

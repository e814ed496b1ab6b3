#include <gtest/gtest.h>

#include <set>

#include "answer.h"
#include "arith.h"
#include "error.h"
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
  Rng rng(3);
  for (int i = 0; i < 5000; ++i) EXPECT_EQ(test.count(a.SampleTrain(rng).key), 0u);
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

TEST(Arith, TooSmallProblemSpaceIsAConfigError) {
  EXPECT_THROW(ArithTask(testing::ParseResolved<TaskConfig>("arith { min_ops: 1 max_ops: 1 max_operand: 3 } num_test: 10")),
               ConfigError);
}

}  // namespace
}  // namespace r1lab

// The note task: its hidden rubric by hand, a clean teacher that meets it,
// a noisy teacher that breaks each criterion at the configured rate, and
// quality as partial credit.
#include <gtest/gtest.h>

#include <set>

#include "error.h"
#include "note.h"
#include "test_util.h"

namespace r1lab {
namespace {

TEST(Note, RubricByHand) {
  const std::string key = "en ana cats nice short";
  NoteRubric r = JudgeNote("hi ana, cats are nice. bye", key);
  EXPECT_EQ(r.met(), 5);
  r = JudgeNote("cats are nice. bye", key);  // no greeting
  EXPECT_FALSE(r.greeting);
  EXPECT_EQ(r.met(), 4);
  EXPECT_FALSE(JudgeNote("hi bob, cats are nice. bye", key).greeting) << "the wrong name";
  EXPECT_FALSE(JudgeNote("hi ana, dogs are nice. bye", key).content) << "another topic";
  EXPECT_FALSE(JudgeNote("hi ana, cats are fun. bye", key).content) << "another adjective";
  r = JudgeNote("hi ana, cats are bonitos. bye", key);  // the adjective in Spanish: on topic, wrong language
  EXPECT_TRUE(r.content);
  EXPECT_FALSE(r.language);
  EXPECT_FALSE(JudgeNote("hi ana, cats are nice xyz. bye", key).language) << "a word of no language";
  EXPECT_FALSE(JudgeNote("hi ana, i think cats are nice and i like cats a lot. bye", key).length) << "long, asked short";
  EXPECT_TRUE(JudgeNote("hi ana, i think cats are nice and i like cats a lot. bye", "en ana cats nice long").length);
  EXPECT_FALSE(JudgeNote("hi ana, cats are nice.", key).closing);
  EXPECT_EQ(JudgeNote("", key).met(), 0);
  EXPECT_EQ(JudgeNote("hola ana, gatos son bonitos. adios", "es ana cats nice short").met(), 5);
  EXPECT_FALSE(JudgeNote("hi ana, cats are nice. bye", "es ana cats nice short").language) << "English, asked Spanish";
  EXPECT_THROW(JudgeNote("hi", "en ana cats nice medium"), InputError);
  EXPECT_THROW(JudgeNote("hi", "en ana unicorns nice short"), InputError);
}

TEST(Note, CleanTeacherMeetsTheRubricAndQualityIsPartialCredit) {
  const NoteTask task(testing::ParseResolved<TaskConfig>("note {} num_test: 300 num_validation: 100"));
  std::set<std::string> keys;
  for (const Problem& p : task.TestSet()) keys.insert(p.key);
  for (const Problem& p : task.ValidationSet()) keys.insert(p.key);
  EXPECT_EQ(keys.size(), 400u);
  TeacherConfig clean;
  clean.set_step_error_rate(0);
  Rng rng(1);
  int spanish = 0;
  for (const Problem& p : task.TestSet()) {
    const Trace t = task.Teach(p, clean, rng);
    EXPECT_TRUE(t.answer_correct) << t.completion;
    EXPECT_TRUE(task.Verify(t.completion, p).correct) << t.completion;
    EXPECT_EQ(task.Quality(t.completion, p), 1.0);
    EXPECT_EQ(task.Verify(t.completion, p).extracted, p.gold);
    spanish += p.language == "es";
  }
  EXPECT_GT(spanish, 100);
  EXPECT_LT(spanish, 200);
  const Problem& p = task.TestSet()[0];
  EXPECT_EQ(task.Quality("<think>x\n</think>no tags", p), 0.0);
  const std::string no_closing = "<think>x\n</think><answer>" + p.gold.substr(0, p.gold.rfind(' ')) + "</answer>";
  EXPECT_DOUBLE_EQ(task.Quality(no_closing, p), 0.8) << no_closing;
  EXPECT_FALSE(task.Verify(no_closing, p).correct);
}

// Each criterion breaks independently with probability step_error_rate, and
// the trace's label is the rubric's verdict.
TEST(Note, NoisyTeacherBreaksEachCriterionAtTheConfiguredRate) {
  const NoteTask task(testing::ParseResolved<TaskConfig>("note {} num_test: 300 num_validation: 100"));
  TeacherConfig noisy;
  noisy.set_step_error_rate(0.2);
  Rng rng(2);
  const int n = 4000;
  int all = 0, broken[5] = {0, 0, 0, 0, 0};
  for (int i = 0; i < n; ++i) {
    const Problem p = task.SampleTrain(rng);
    const Trace t = task.Teach(p, noisy, rng);
    const Verdict v = task.Verify(t.completion, p);
    EXPECT_EQ(v.correct, t.answer_correct);
    const NoteRubric r = JudgeNote(v.extracted, p.key);
    all += r.met() == 5;
    broken[0] += !r.greeting, broken[1] += !r.content, broken[2] += !r.language, broken[3] += !r.length,
        broken[4] += !r.closing;
  }
  EXPECT_NEAR(static_cast<double>(all) / n, 0.8 * 0.8 * 0.8 * 0.8 * 0.8, 0.03);
  for (int b : broken) EXPECT_NEAR(static_cast<double>(b) / n, 0.2, 0.025);
}

}  // namespace
}  // namespace r1lab

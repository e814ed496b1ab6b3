// The mix task: held-out sets interleaved by weight, each problem taught,
// verified and graded by the part that made it, and config errors that name
// the part.
#include <gtest/gtest.h>

#include <set>

#include "error.h"
#include "mix.h"
#include "test_util.h"

namespace r1lab {
namespace {

constexpr const char* kMix =
    "mix { parts { weight: 2 task { arith {} num_test: 30 num_validation: 10 } } "
    "parts { task { note {} num_test: 15 num_validation: 5 } } }";

TEST(Mix, InterleavesByWeightAndRoutesEachProblemToItsPart) {
  const MixTask task(testing::ParseResolved<TaskConfig>(kMix));
  EXPECT_EQ(task.name(), "mix(arith,note)");
  ASSERT_EQ(task.TestSet().size(), 45u);
  ASSERT_EQ(task.ValidationSet().size(), 15u);
  std::vector<int> first;
  for (int i = 0; i < 6; ++i) first.push_back(task.TestSet()[static_cast<size_t>(i)].level);
  EXPECT_EQ(first, (std::vector<int>{1, 2, 1, 1, 2, 1})) << "two arith problems per note";
  std::set<std::string> keys;
  TeacherConfig clean;
  clean.set_step_error_rate(0);
  Rng rng(1);
  for (const auto* split : {&task.TestSet(), &task.ValidationSet()})
    for (const Problem& p : *split) {
      keys.insert(p.key);
      const Trace t = task.Teach(p, clean, rng);
      EXPECT_TRUE(task.Verify(t.completion, p).correct) << p.key << ": " << t.completion;
      EXPECT_EQ(task.Quality(t.completion, p), 1.0) << p.key;
      EXPECT_EQ(t.completion.find("note") != std::string::npos || t.completion.find("nota") != std::string::npos,
                p.level == 2)
          << "the note teacher writes the notes, the arith teacher the sums: " << t.completion;
    }
  EXPECT_EQ(keys.size(), 60u);
  // A note missing its closing: partial credit from the note's rubric.
  const Problem& note = task.TestSet()[1];
  const std::string cut = "<think>x\n</think><answer>" + note.gold.substr(0, note.gold.rfind(' ')) + "</answer>";
  EXPECT_DOUBLE_EQ(task.Quality(cut, note), 0.8);
  // An arith answer is right or wrong.
  const Problem& sum = task.TestSet()[0];
  EXPECT_EQ(task.Quality("<think>\n</think><answer>" + sum.gold + "</answer>", sum), 1.0);
  EXPECT_EQ(task.Quality("<think>\n</think><answer>9999</answer>", sum), 0.0);
  Problem stray = sum;
  stray.key = "7|" + sum.key.substr(2);
  EXPECT_THROW(task.Verify("", stray), InputError);
  stray.key = "99999999999999999999|" + sum.key.substr(2);
  EXPECT_THROW(task.Verify("", stray), InputError);
  int arith = 0;
  for (int i = 0; i < 3000; ++i) {
    const Problem p = task.SampleTrain(rng);
    EXPECT_EQ(keys.count(p.key), 0u) << "a held-out key in training";
    arith += p.level == 1;
  }
  EXPECT_NEAR(arith / 3000.0, 2.0 / 3, 0.03);
}

// Arm.train_prompts VERIFIABLE_PROMPTS: training draws only what a rule can
// check (the mix's arith part); held-out sets are the task's, notes and all.
TEST(Mix, TrainPromptsWhereDrawsOnlyTheAskedPart) {
  const MixTask task(testing::ParseResolved<TaskConfig>(kMix));
  const TrainPromptsWhere reasoning(task, true, "train_prompts");
  EXPECT_EQ(reasoning.TestSet().size(), task.TestSet().size());
  Rng rng(3);
  for (int i = 0; i < 300; ++i) EXPECT_EQ(reasoning.SampleTrain(rng).level, 1);
  const auto notes = MakeTask(testing::ParseResolved<TaskConfig>("note {} num_test: 10 num_validation: 0"));
  EXPECT_THROW(TrainPromptsWhere(*notes, true, "train_prompts").SampleTrain(rng), InputError);
  EXPECT_EQ(TrainPromptsWhere(task, false, "route").SampleTrain(rng).level, 2) << "the other way: notes only";
}

TEST(Mix, ConfigErrorsNameThePart) {
  auto error = [](const std::string& text) {
    try {
      testing::ParseResolved<TaskConfig>(text);
    } catch (const ConfigError& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  EXPECT_NE(error("mix {}").find("mix.parts"), std::string::npos);
  EXPECT_NE(error("mix { parts { task { mix { parts { task { arith {} } } } } } }").find("mix.parts[0].task.mix"),
            std::string::npos);
  EXPECT_NE(error("mix { parts { task { arith {} } } parts { task { note {} teacher { summary: true } } } }")
                .find("mix.parts[1].task.teacher"),
            std::string::npos);
  EXPECT_NE(error("mix { parts { task { arith { min_ops: 4 max_ops: 2 } } } }").find("mix.parts[0].task.arith.min_ops"),
            std::string::npos);
}

}  // namespace
}  // namespace r1lab

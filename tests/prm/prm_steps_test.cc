// Best-of-N reranking and process advantages against hand computations.
#include <gtest/gtest.h>

#include <cmath>


#include "rerank.h"

namespace r1lab {
namespace {

TEST(BestOfN, PicksTheKnownBestCandidate) {
  const std::vector<Candidate> c = {
      {"7", false, 0.2}, {"5", true, 0.9}, {"7", false, 0.3}, {"7", false, 0.1}, {"5", true, 0.8}, {"", false, 0.95}};
  EXPECT_EQ(Select(c, 5, Selection::kScore), 1) << "the highest score";
  EXPECT_EQ(Select(c, 6, Selection::kScore), 5) << "a higher score wins even without an answer";
  EXPECT_EQ(Select(c, 5, Selection::kMajority), 0) << "7 has 3 votes";
  EXPECT_EQ(Select(c, 5, Selection::kWeightedMajority), 1) << "5 weighs 1.7 against 7's 0.6";
  EXPECT_EQ(Select(c, 1, Selection::kScore), 0);
  EXPECT_EQ(Select(c, 2, Selection::kMajority), 0) << "a tie goes to the earliest answer";
  EXPECT_THROW(Select(c, 7, Selection::kScore), std::exception);
  EXPECT_EQ(Select({{"", false, 0}, {"", true, 0}}, 2, Selection::kMajority), 0);
  const std::vector<std::vector<Candidate>> problems = {c, {{"1", true, 0.1}, {"2", false, 0.9}}};
  EXPECT_DOUBLE_EQ(SelectionAccuracy(problems, 2, Selection::kScore), 0.5);
  EXPECT_DOUBLE_EQ(SelectionAccuracy(problems, 1, Selection::kScore), 0.5);
  EXPECT_DOUBLE_EQ(SelectionAccuracy(problems, 2, Selection::kMajority), 0.5);
}

}  // namespace
}  // namespace r1lab

#include "process_advantage.h"

namespace r1lab {
namespace {

TEST(ProcessAdvantages, AgainstAHandComputation) {
  // One group of two samples. Step rewards 1, 0 (sample A) and 1 (sample B):
  // mean 2/3, sample std sqrt(1/3). Normalised: a1 = b1 = (1/3)/sqrt(1/3) = sqrt(1/3), a2 = -2 sqrt(1/3).
  const double z = std::sqrt(1.0 / 3);
  const auto adv = ProcessAdvantages({{{1, 0}, {1, 4}, 6}, {{1}, {2}, 3}}, 2, 0);
  ASSERT_EQ(adv[0].size(), 6u);
  // Tokens 0-1 (step 1): a1 + a2; tokens 2-4 (step 2): a2; token 5 after the last step: 0.
  for (int t : {0, 1}) EXPECT_NEAR(adv[0][t], z - 2 * z, 1e-12);
  for (int t : {2, 3, 4}) EXPECT_NEAR(adv[0][t], -2 * z, 1e-12);
  EXPECT_EQ(adv[0][5], 0.0);
  for (int t : {0, 1, 2}) EXPECT_NEAR(adv[1][t], z, 1e-12);
  // Equal rewards: no signal.
  const auto flat = ProcessAdvantages({{{1}, {0}, 2}, {{1}, {1}, 2}}, 2, 1e-4);
  for (const auto& a : flat)
    for (double x : a) EXPECT_EQ(x, 0.0);
  EXPECT_THROW(ProcessAdvantages({{{1}, {0}, 2}}, 2, 0), std::exception);
  EXPECT_THROW(ProcessAdvantages({{{1, 1}, {1, 0}, 3}, {{1}, {0}, 1}}, 2, 0), std::exception) << "decreasing ends";
}

}  // namespace
}  // namespace r1lab


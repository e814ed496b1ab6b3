// FLOP booking by phase (core/flops.h).
#include <gtest/gtest.h>

#include "flops.h"

namespace r1lab {
namespace {

// Inside a scope every FLOP goes to the scope's phase, whatever the spender
// names; scopes nest and restore; outside, the named phase counts.
TEST(Flops, PhaseScopesBookWhereTheCostIsSpent) {
  FlopCounter f;
  f.Add(FlopPhase::kGenerate, 1);
  {
    FlopPhaseScope label(&f, FlopPhase::kLabel);
    f.Add(FlopPhase::kGenerate, 10);  // sampling the reward model's data
    {
      FlopPhaseScope train(&f, FlopPhase::kRewardTrain);
      f.Add(FlopPhase::kTrain, 100);
    }
    f.Add(FlopPhase::kGenerate, 1000);
  }
  f.Add(FlopPhase::kTrain, 10000);
  EXPECT_EQ(f.Get(FlopPhase::kGenerate), 1);
  EXPECT_EQ(f.Get(FlopPhase::kLabel), 1010);
  EXPECT_EQ(f.Get(FlopPhase::kRewardTrain), 100);
  EXPECT_EQ(f.Get(FlopPhase::kTrain), 10000);
  EXPECT_EQ(f.Total(), 11111);
  FlopPhaseScope nothing(nullptr, FlopPhase::kLabel);  // no counter, nothing to book
}

}  // namespace
}  // namespace r1lab

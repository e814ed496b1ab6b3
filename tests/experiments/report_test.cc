// Results statistics (experiments/report.h).
#include <gtest/gtest.h>

#include <cmath>

#include "report.h"

namespace r1lab {
namespace {

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

}  // namespace
}  // namespace r1lab

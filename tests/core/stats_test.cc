// Means over seeds and their intervals (core/stats.h).
#include <gtest/gtest.h>

#include <cmath>

#include "stats.h"

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

TEST(ConfidenceInterval, PrintsMeanAndHalfWidthAndSkipsMissingValues) {
  EXPECT_EQ(Fmt(MeanWithCi({0.1, 0.2, 0.3}), 100, 1), "20.0 ± 24.8");
  EXPECT_EQ(Fmt(MeanWithCi({0.25}), 100, 1), "25.0");
  EXPECT_EQ(FmtOr(MeanWithCi(Present({NAN, NAN})), 1, 2), "-");
  EXPECT_EQ(FmtSciOr(MeanWithCi(Present({1.5e12, NAN}))), "1.5e+12");
  // The first and last tenth (at least one element).
  const std::vector<double> v = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20};
  auto id = [](double x) { return x; };
  EXPECT_DOUBLE_EQ(WindowMean(v, false, id), 1.5);
  EXPECT_DOUBLE_EQ(WindowMean(v, true, id), 19.5);
  EXPECT_DOUBLE_EQ(WindowMean(std::vector<double>{4}, true, id), 4.0);
  EXPECT_TRUE(std::isnan(WindowMean(std::vector<double>{}, true, id)));
}

}  // namespace
}  // namespace r1lab

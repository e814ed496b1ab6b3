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

// GCC 12.2 with -march=native on an AVX-512 CPU built {1, 1, 0, 0} as
// {1, 1, 1, 1} (CMakeLists.txt, R1LAB_AVX512): the build must not.
TEST(Compiler, ConstantVectorsHoldWhatTheSourceSays) {
  const std::vector<std::vector<double>> v = {{1, 1, 0, 0}};
  EXPECT_EQ(v[0], (std::vector<double>{1, 1, 0, 0}));
  EXPECT_EQ(v[0][2], 0);
  EXPECT_EQ(v[0][3], 0);
  const std::vector<float> f = {2, 2, 2, 2, 0, 0, 0, 0};
  EXPECT_EQ(f[7], 0);
}

// The paired cluster bootstrap against hand-computed distributions.
TEST(PairedBootstrap, HandComputedCases) {
  // Two problems, differences 1 and 0: a resample's mean is 0, 0.5 or 1 with
  // probabilities 1/4, 1/2, 1/4, so the 95% interval is [0, 1] around 0.5.
  PairedDiff d = PairedBootstrap({{{1, 0}}}, {{{0, 0}}});
  EXPECT_DOUBLE_EQ(d.mean, 0.5);
  EXPECT_DOUBLE_EQ(d.lo, 0);
  EXPECT_DOUBLE_EQ(d.hi, 1);
  EXPECT_FALSE(d.ExcludesZero());
  // Pairing: two arms right on exactly the same problems differ by 0 in
  // every resample (unpaired, problem draws would spread it to about ±0.5).
  d = PairedBootstrap({{{1, 0, 1, 0}, {1, 0, 1, 0}}}, {{{1, 0, 1, 0}}});
  EXPECT_EQ(d.lo, 0);
  EXPECT_EQ(d.hi, 0);
  // A constant gain of 0.25 on every problem and seed: [0.25, 0.25].
  d = PairedBootstrap({{{0.75, 0.25, 0.5}, {0.75, 0.25, 0.5}}}, {{{0.5, 0, 0.25}}});
  EXPECT_DOUBLE_EQ(d.lo, 0.25);
  EXPECT_DOUBLE_EQ(d.hi, 0.25);
  EXPECT_TRUE(d.ExcludesZero());
  // Seeds are resampled: seeds at 1 and 0 against 0.5 give +0.5 (both draws
  // the first seed, probability 1/4), 0 (1/2) or -0.5 (1/4).
  d = PairedBootstrap({{{1, 1}, {0, 0}}}, {{{0.5, 0.5}}});
  EXPECT_DOUBLE_EQ(d.mean, 0);
  EXPECT_DOUBLE_EQ(d.lo, -0.5);
  EXPECT_DOUBLE_EQ(d.hi, 0.5);
  // Deterministic for a seed.
  const PairedDiff x = PairedBootstrap({{{1, 0, 0.5}, {0, 1, 1}}}, {{{0.5, 0.5, 0}}}, 500, 7);
  const PairedDiff y = PairedBootstrap({{{1, 0, 0.5}, {0, 1, 1}}}, {{{0.5, 0.5, 0}}}, 500, 7);
  EXPECT_EQ(x.lo, y.lo);
  EXPECT_EQ(x.hi, y.hi);
}

TEST(PairedBootstrap, ResamplesBasesPairedAcrossArms) {
  // Two bases, one seed each: the arm gains 1 on base 0 and 0 on base 1. A
  // resample's bases give 1, 0.5 or 0 (probabilities 1/4, 1/2, 1/4): [0, 1].
  PairedDiff d = PairedBootstrap({{{1, 1}}, {{0, 0}}}, {{{0, 0}}, {{0, 0}}});
  EXPECT_DOUBLE_EQ(d.mean, 0.5);
  EXPECT_DOUBLE_EQ(d.lo, 0);
  EXPECT_DOUBLE_EQ(d.hi, 1);
  // A base effect both arms share (base 0 scores 0.5 higher for both) cancels
  // in the pairing: a constant gain of 0.25 stays [0.25, 0.25] however the
  // bases are drawn.
  d = PairedBootstrap({{{0.75, 0.75}, {0.75, 0.75}}, {{0.25, 0.25}, {0.25, 0.25}}},
                      {{{0.5, 0.5}}, {{0, 0}}});
  EXPECT_DOUBLE_EQ(d.mean, 0.25);
  EXPECT_DOUBLE_EQ(d.lo, 0.25);
  EXPECT_DOUBLE_EQ(d.hi, 0.25);
  // The mean weighs bases equally, each the mean of its own seeds: base 0's
  // two seeds (1 and 0) average 0.5, base 1's one seed 1, so 0.75 - 0.
  d = PairedBootstrap({{{1}, {0}}, {{1}}}, {{{0}}, {{0}}});
  EXPECT_DOUBLE_EQ(d.mean, 0.75);
}

}  // namespace
}  // namespace r1lab

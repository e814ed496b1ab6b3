#include "stats.h"

#include <boost/math/distributions/students_t.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "error.h"
#include "rng.h"

namespace r1lab {

double TCritical95(int df) {
  if (df < 1) return 0;
  return boost::math::quantile(boost::math::students_t(df), 0.975);
}

MeanCi MeanWithCi(const std::vector<double>& xs) {
  MeanCi m;
  m.n = static_cast<int>(xs.size());
  if (xs.empty()) return m;
  for (double x : xs) m.mean += x / m.n;
  if (m.n < 2) return m;
  double var = 0;
  for (double x : xs) var += (x - m.mean) * (x - m.mean);
  var /= m.n - 1;
  m.half = TCritical95(m.n - 1) * std::sqrt(var / m.n);
  return m;
}

std::vector<double> Present(const std::vector<double>& xs) {
  std::vector<double> out;
  for (double x : xs)
    if (!std::isnan(x)) out.push_back(x);
  return out;
}

std::string Fmt(const MeanCi& m, double scale, int decimals) {
  char buf[64];
  if (m.n >= 2)
    std::snprintf(buf, sizeof buf, "%.*f ± %.*f", decimals, m.mean * scale, decimals, m.half * scale);
  else
    std::snprintf(buf, sizeof buf, "%.*f", decimals, m.mean * scale);
  return buf;
}

std::string FmtOr(const MeanCi& m, double scale, int decimals) { return m.n == 0 ? "-" : Fmt(m, scale, decimals); }

std::string FmtSci(const MeanCi& m) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.3g", m.mean);
  return buf;
}

std::string FmtSciOr(const MeanCi& m) { return m.n == 0 ? "-" : FmtSci(m); }

PairedDiff PairedBootstrap(const RunsByBase& a, const RunsByBase& b, int resamples, uint64_t seed) {
  const size_t B = a.size();
  R1_CHECK(B > 0 && b.size() == B && resamples > 0, "PairedBootstrap: the arms differ in their bases");
  R1_CHECK(!a[0].empty(), "PairedBootstrap: a base without runs");
  const size_t P = a[0][0].size();
  for (const RunsByBase* arm : {&a, &b})
    for (const auto& base : *arm) {
      R1_CHECK(!base.empty(), "PairedBootstrap: a base without runs");
      for (const auto& run : base) R1_CHECK(run.size() == P && P > 0, "PairedBootstrap: runs differ in their problems");
    }
  // An arm's mean: over the bases drawn, of each base's mean over its seeds
  // drawn, of the weighted problem mean (weights: problem draw counts).
  Rng rng(seed);
  std::vector<double> weight(P, 1.0);
  std::vector<int> bases(B);
  for (size_t i = 0; i < B; ++i) bases[i] = static_cast<int>(i);
  auto arm_mean = [&](const RunsByBase& arm, bool draw_seeds) {
    double sum = 0;
    for (int bi : bases) {
      const auto& runs = arm[static_cast<size_t>(bi)];
      double base_sum = 0;
      for (size_t k = 0; k < runs.size(); ++k) {
        const size_t s = draw_seeds ? static_cast<size_t>(rng.Int(0, static_cast<int64_t>(runs.size()) - 1)) : k;
        for (size_t p = 0; p < P; ++p) base_sum += weight[p] * runs[s][p];
      }
      sum += base_sum / (static_cast<double>(runs.size()) * static_cast<double>(P));
    }
    return sum / static_cast<double>(B);
  };
  PairedDiff d;
  d.mean = arm_mean(a, false) - arm_mean(b, false);
  std::vector<double> diffs;
  diffs.reserve(static_cast<size_t>(resamples));
  for (int r = 0; r < resamples; ++r) {
    std::fill(weight.begin(), weight.end(), 0.0);
    for (size_t p = 0; p < P; ++p) weight[static_cast<size_t>(rng.Int(0, static_cast<int64_t>(P) - 1))] += 1;
    if (B > 1)
      for (int& bi : bases) bi = static_cast<int>(rng.Int(0, static_cast<int64_t>(B) - 1));
    const double ma = arm_mean(a, true);
    diffs.push_back(ma - arm_mean(b, true));
  }
  std::sort(diffs.begin(), diffs.end());
  auto quantile = [&](double q) { return diffs[static_cast<size_t>(q * static_cast<double>(diffs.size() - 1))]; };
  d.lo = quantile(0.025);
  d.hi = quantile(0.975);
  return d;
}

}  // namespace r1lab

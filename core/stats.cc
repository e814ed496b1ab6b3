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

PairedDiff PairedBootstrap(const std::vector<std::vector<double>>& a, const std::vector<std::vector<double>>& b,
                           int resamples, uint64_t seed) {
  R1_CHECK(!a.empty() && !b.empty() && resamples > 0, "PairedBootstrap: an arm without runs");
  const size_t P = a[0].size();
  for (const auto* arm : {&a, &b})
    for (const auto& run : *arm) R1_CHECK(run.size() == P && P > 0, "PairedBootstrap: runs differ in their problems");
  auto mean_over = [&](const std::vector<std::vector<double>>& arm, const std::vector<int>& seeds,
                       const std::vector<double>& weight) {
    double sum = 0;
    for (int s : seeds)
      for (size_t p = 0; p < P; ++p) sum += weight[p] * arm[static_cast<size_t>(s)][p];
    return sum / (static_cast<double>(seeds.size()) * static_cast<double>(P));
  };
  std::vector<int> all_a(a.size()), all_b(b.size());
  for (size_t s = 0; s < a.size(); ++s) all_a[s] = static_cast<int>(s);
  for (size_t s = 0; s < b.size(); ++s) all_b[s] = static_cast<int>(s);
  PairedDiff d;
  d.mean = mean_over(a, all_a, std::vector<double>(P, 1.0)) - mean_over(b, all_b, std::vector<double>(P, 1.0));
  Rng rng(seed);
  std::vector<double> diffs;
  diffs.reserve(static_cast<size_t>(resamples));
  std::vector<double> weight(P);
  std::vector<int> sa(a.size()), sb(b.size());
  for (int r = 0; r < resamples; ++r) {
    std::fill(weight.begin(), weight.end(), 0.0);
    for (size_t p = 0; p < P; ++p) weight[static_cast<size_t>(rng.Int(0, static_cast<int64_t>(P) - 1))] += 1;
    for (int& s : sa) s = static_cast<int>(rng.Int(0, static_cast<int64_t>(a.size()) - 1));
    for (int& s : sb) s = static_cast<int>(rng.Int(0, static_cast<int64_t>(b.size()) - 1));
    diffs.push_back(mean_over(a, sa, weight) - mean_over(b, sb, weight));
  }
  std::sort(diffs.begin(), diffs.end());
  auto quantile = [&](double q) { return diffs[static_cast<size_t>(q * static_cast<double>(diffs.size() - 1))]; };
  d.lo = quantile(0.025);
  d.hi = quantile(0.975);
  return d;
}

}  // namespace r1lab

#include "stats.h"

#include <boost/math/distributions/students_t.hpp>

#include <cmath>
#include <cstdio>

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

}  // namespace r1lab

// Means over seeds with Student-t intervals, and how the report prints them.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

namespace r1lab {

// Two-sided 95% Student t critical value for `df` degrees of freedom (Boost.Math).
double TCritical95(int df);

struct MeanCi {
  double mean = 0;
  double half = 0;  // half-width of the 95% t-interval; 0 with fewer than 2 values
  int n = 0;
};
MeanCi MeanWithCi(const std::vector<double>& xs);

// The values that are present (not NaN): a metric older runs lack is NaN.
std::vector<double> Present(const std::vector<double>& xs);

// "41.2 ± 3.1" (mean and half-width times `scale`), "41.2" for one value.
std::string Fmt(const MeanCi& m, double scale, int decimals);
// The same, "-" when there is no value.
std::string FmtOr(const MeanCi& m, double scale, int decimals);
// The mean in %.3g ("1.5e+12"); FmtSciOr: "-" when there is no value.
std::string FmtSci(const MeanCi& m);
std::string FmtSciOr(const MeanCi& m);

// The difference of two arms' mean scores on the same problems, a[b][s][p]
// minus b[b][s][p] (b: the bases both arms started from, the same B for
// both; s: an arm's seeds from that base, any number; p: problems, the same P
// throughout), with a 95% percentile interval from a paired cluster
// bootstrap. Each resample draws P problems with replacement and B bases
// with replacement (the same draws for both arms: the pairing), then, for
// each drawn base and each arm on its own, that arm's seeds from the base
// with replacement. Deterministic for a given `seed`.
struct PairedDiff {
  double mean = 0, lo = 0, hi = 0;
  bool ExcludesZero() const { return lo > 0 || hi < 0; }
};
using RunsByBase = std::vector<std::vector<std::vector<double>>>;  // [base][seed][problem]
PairedDiff PairedBootstrap(const RunsByBase& a, const RunsByBase& b, int resamples = 2000, uint64_t seed = 1);

// Mean of f over the first (or last) tenth of v, at least one element; NaN if empty.
template <typename P, typename F>
double WindowMean(const std::vector<P>& v, bool last, F f) {
  if (v.empty()) return NAN;
  const size_t w = v.size() / 10 > 1 ? v.size() / 10 : 1;
  double sum = 0;
  for (size_t i = 0; i < w; ++i) sum += f(v[last ? v.size() - w + i : i]);
  return sum / static_cast<double>(w);
}

}  // namespace r1lab

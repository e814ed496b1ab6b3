#include "process_advantage.h"

#include <cmath>

#include "error.h"

namespace r1lab {

std::vector<std::vector<double>> ProcessAdvantages(const std::vector<StepRewards>& samples, int G, double eps) {
  if (G < 1 || samples.size() % static_cast<size_t>(G) != 0)
    throw InputError("process advantages: the samples do not form whole groups of " + std::to_string(G));
  std::vector<std::vector<double>> out(samples.size());
  for (size_t g = 0; g < samples.size(); g += static_cast<size_t>(G)) {
    double sum = 0, sq = 0;
    size_t n = 0;
    for (size_t i = g; i < g + static_cast<size_t>(G); ++i) {
      const StepRewards& s = samples[i];
      if (s.rewards.size() != s.end_tokens.size())
        throw InputError("process advantages: rewards and step ends differ in number");
      for (size_t k = 0; k < s.end_tokens.size(); ++k)
        if (s.end_tokens[k] < 0 || s.end_tokens[k] >= s.length || (k > 0 && s.end_tokens[k] <= s.end_tokens[k - 1]))
          throw InputError("process advantages: step ends must increase within the completion");
      for (double r : s.rewards) sum += r, sq += r * r, ++n;
    }
    const double mean = n ? sum / static_cast<double>(n) : 0;
    const double var = n > 1 ? (sq - static_cast<double>(n) * mean * mean) / static_cast<double>(n - 1) : 0;
    const double sd = std::sqrt(std::max(0.0, var));
    for (size_t i = g; i < g + static_cast<size_t>(G); ++i) {
      const StepRewards& s = samples[i];
      out[i].assign(static_cast<size_t>(s.length), 0.0);
      if (sd == 0) continue;
      // Suffix sums of normalised rewards, assigned back to front.
      double suffix = 0;
      int next_end = s.length;  // tokens after the last step end get nothing
      for (size_t k = s.rewards.size(); k-- > 0;) {
        const int end = s.end_tokens[k];
        for (int t = end + 1; t < next_end; ++t) out[i][static_cast<size_t>(t)] = suffix;
        suffix += (s.rewards[k] - mean) / (sd + eps);
        next_end = end + 1;
      }
      for (int t = 0; t < next_end; ++t) out[i][static_cast<size_t>(t)] = suffix;
    }
  }
  return out;
}

}  // namespace r1lab

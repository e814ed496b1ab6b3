// FLOP accounting: every forward and backward token is counted, so arms can be
// compared and stopped at equal compute.
//
// Forward FLOPs per token = 2 * (matmul parameters) + attention, where the
// matmul parameters are L*(4*d^2 + 2*d*d_ff) + d*vocab (the tied LM head) and
// attention costs 4*L*d*ctx (q.k and p.v over ctx keys). A trained token costs
// 3x its forward (backward = 2x forward), the usual 6N rule.
#pragma once

#include <atomic>
#include <string>

#include "r1lab.pb.h"

namespace r1lab {

double MatmulParams(const ModelConfig& m, int vocab);
double ForwardFlopsPerToken(const ModelConfig& m, int vocab, double ctx);
// Forward FLOPs of one sequence of `len` tokens under causal attention
// (token t attends to t+1 keys).
double ForwardFlopsSequence(const ModelConfig& m, int vocab, int64_t len);

// kLabel, kRewardTrain and kRewardScore are a learned reward's costs:
// sampling and Monte Carlo labelling of its training data, training it, and
// scoring rollouts with it. kScore is other no-grad forwards (the reference).
enum class FlopPhase { kGenerate = 0, kTrain = 1, kScore = 2, kLabel = 3, kRewardTrain = 4, kRewardScore = 5, kCount = 6 };
const char* FlopPhaseName(FlopPhase p);

// Thread-safe counters per phase.
class FlopCounter {
 public:
  void Add(FlopPhase p, double flops) { c_[static_cast<int>(p)].fetch_add(flops); }
  double Get(FlopPhase p) const { return c_[static_cast<int>(p)].load(); }
  double Total() const;
  void Set(FlopPhase p, double v) { c_[static_cast<int>(p)].store(v); }

 private:
  std::atomic<double> c_[static_cast<int>(FlopPhase::kCount)]{};
};

}  // namespace r1lab

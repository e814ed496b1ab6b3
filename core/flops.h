// FLOP accounting: every forward and backward token is counted, so arms can be
// compared and stopped at equal compute.
//
// Forward FLOPs per token = 2 * (matmul parameters) + attention, where the
// matmul parameters are L*(4*d^2 + 2*d*d_ff) + d*vocab (the LM head) for the
// character GPT, L*(2*d^2 + 2*d*kv + 3*d*d_ff) + d*vocab for a Hugging Face
// decoder (kv = d * n_kv_heads / n_heads; SwiGLU's three matrices), and
// attention costs 4*L*d*ctx (q.k and p.v over ctx keys). A trained token costs
// 3x its forward (backward = 2x forward), the usual 6N rule.
#pragma once

#include <atomic>
#include <cstdint>
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

// Thread-safe counters per phase, and the run's oracle calls: verdicts
// against the gold answer (or the task's exact per-step truth) that training
// used. Each site that asks for one adds it: one per rule-rewarded sample,
// per Monte Carlo completion and per labelled completion, per line a search
// verifies. Evaluation and verdicts kept only for metrics are not counted.
class FlopCounter {
 public:
  // Books to `p`, or to the phase of the innermost FlopPhaseScope alive on
  // this counter.
  void Add(FlopPhase p, double flops) {
    const int scoped = scope_.load();
    c_[scoped >= 0 ? scoped : static_cast<int>(p)].fetch_add(flops);
  }
  double Get(FlopPhase p) const { return c_[static_cast<int>(p)].load(); }
  double Total() const;
  void Set(FlopPhase p, double v) { c_[static_cast<int>(p)].store(v); }
  void AddOracleCalls(int64_t n) { oracle_calls_.fetch_add(n); }
  int64_t OracleCalls() const { return oracle_calls_.load(); }
  void SetOracleCalls(int64_t n) { oracle_calls_.store(n); }

 private:
  friend class FlopPhaseScope;
  std::atomic<double> c_[static_cast<int>(FlopPhase::kCount)]{};
  std::atomic<int> scope_{-1};
  std::atomic<int64_t> oracle_calls_{0};
};

// While alive, every FLOP added to `counter` is booked to `phase`, whatever
// phase the code spending it names: sampling and labelling a reward model's
// data runs the generation code, but its FLOPs are the kLabel phase's. So
// costs are booked where they are spent, never counted aside and re-booked.
// Scopes nest; a null counter is allowed (nothing is counted).
class FlopPhaseScope {
 public:
  FlopPhaseScope(FlopCounter* counter, FlopPhase phase)
      : counter_(counter), previous_(counter ? counter->scope_.exchange(static_cast<int>(phase)) : -1) {}
  ~FlopPhaseScope() {
    if (counter_) counter_->scope_.store(previous_);
  }
  FlopPhaseScope(const FlopPhaseScope&) = delete;
  FlopPhaseScope& operator=(const FlopPhaseScope&) = delete;

 private:
  FlopCounter* counter_;
  int previous_;
};

}  // namespace r1lab

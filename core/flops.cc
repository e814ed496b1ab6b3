#include "flops.h"

namespace r1lab {

double MatmulParams(const ModelConfig& m, int vocab) {
  const double d = m.d_model(), ff = m.d_ff();
  const double kv = m.n_kv_heads() > 0 ? d * m.n_kv_heads() / m.n_heads() : d;  // width of k and of v
  const double mlp = m.hf_folder().empty() ? 2 * d * ff : 3 * d * ff;  // GELU: in, out; SwiGLU: gate, up, down
  return m.n_layers() * (2 * d * d + 2 * d * kv + mlp) + d * vocab;
}

double ForwardFlopsPerToken(const ModelConfig& m, int vocab, double ctx) {
  return 2 * MatmulParams(m, vocab) + 4.0 * m.n_layers() * m.d_model() * ctx;
}

double ForwardFlopsSequence(const ModelConfig& m, int vocab, int64_t len) {
  // Sum over t of (t+1) keys = len*(len+1)/2.
  const double keys = static_cast<double>(len) * (len + 1) / 2;
  return 2 * MatmulParams(m, vocab) * len + 4.0 * m.n_layers() * m.d_model() * keys;
}

const char* FlopPhaseName(FlopPhase p) {
  switch (p) {
    case FlopPhase::kGenerate: return "generate";
    case FlopPhase::kTrain: return "train";
    case FlopPhase::kScore: return "score";
    case FlopPhase::kLabel: return "label";
    case FlopPhase::kRewardTrain: return "reward_train";
    case FlopPhase::kRewardScore: return "reward_score";
    default: return "?";
  }
}

double FlopCounter::Total() const {
  double t = 0;
  for (const auto& c : c_) t += c.load();
  return t;
}

}  // namespace r1lab

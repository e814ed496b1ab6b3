#include "memory.h"

#include <torch/version.h>

#include <algorithm>
#include <cstdio>

#include "error.h"
#include "flops.h"
#include "transformer.h"

namespace r1lab {

namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;

int64_t IntField(const Message& m, const char* name, int64_t otherwise) {
  const FieldDescriptor* f = m.GetDescriptor()->FindFieldByName(name);
  if (!f || f->is_repeated() || f->cpp_type() != FieldDescriptor::CPPTYPE_INT32) return otherwise;
  return m.GetReflection()->GetInt32(m, f);
}

// The largest batches anywhere in the config: sampling.batch_size (rows per
// generate call) and training batches (batch_size elsewhere, or
// prompts_per_step x group_size / minibatches).
void LargestBatches(const Message& m, int64_t* train, int64_t* sample) {
  if (m.GetDescriptor() == SamplingConfig::descriptor()) {
    *sample = std::max(*sample, IntField(m, "batch_size", 0));
    return;
  }
  *train = std::max(*train, IntField(m, "batch_size", 0));
  if (const int64_t prompts = IntField(m, "prompts_per_step", 0); prompts > 0)
    *train = std::max(*train, prompts * IntField(m, "group_size", 1) / std::max<int64_t>(1, IntField(m, "minibatches", 1)));
  const auto* r = m.GetReflection();
  for (int i = 0; i < m.GetDescriptor()->field_count(); ++i) {
    const FieldDescriptor* f = m.GetDescriptor()->field(i);
    if (f->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE) continue;
    if (f->is_repeated()) {
      for (int k = 0; k < r->FieldSize(m, f); ++k) LargestBatches(r->GetRepeatedMessage(m, f, k), train, sample);
    } else if (r->HasField(m, f)) {
      LargestBatches(r->GetMessage(m, f), train, sample);
    }
  }
}

}  // namespace

MemoryEstimate EstimateMemory(const ExperimentConfig& cfg, int vocab) {
  const ModelConfig m = ResolveModelShape(cfg.model());
  const double d = m.d_model(), layers = m.n_layers(), heads = m.n_heads(), ff = m.d_ff(), t = m.max_seq_len();
  const double kv = m.n_kv_heads() > 0 ? d * m.n_kv_heads() / heads : d;  // cached width per layer, keys or values
  constexpr double kGb = 1024.0 * 1024 * 1024, kFloat = 4;
  MemoryEstimate e;
  e.params = MatmulParams(m, vocab) + t * d;
  LargestBatches(cfg, &e.train_rows, &e.sample_rows);
  e.train_state_gb = 4 * e.params * kFloat / kGb;  // weights, gradients, two Adam moments
  // Per layer a forward keeps about 8d + 2 d_ff values per token, and two
  // heads x T attention rows where the attention is materialised: always in
  // the character GPT, in a model folder's decoder only where LibTorch lacks
  // the fused scaled-dot-product attention (1.x). The logits and their
  // log-softmax on top.
  const double rows = static_cast<double>(e.train_rows);
  const bool fused_attention = !cfg.model().hf_folder().empty() && TORCH_VERSION_MAJOR >= 2;
  const double attention = fused_attention ? 0 : 2 * heads * t;
  // Under BF16_MIXED the activations and the KV cache are bfloat16 (the
  // residual stream, norms and logits float32: counted at 2 bytes, a bound
  // from below like the rest).
  const double act = m.precision() == BF16_MIXED ? 2 : kFloat;
  e.activations_gb = (layers * rows * t * (8 * d + 2 * ff + attention) * act + 2 * rows * t * vocab * kFloat) / kGb;
  const double srows = static_cast<double>(e.sample_rows);
  e.kv_cache_gb = (2 * layers * srows * t * kv * act + srows * vocab * kFloat) / kGb;
  e.total_gb = e.train_state_gb + std::max(e.activations_gb, e.kv_cache_gb);
  return e;
}

void CheckMemory(const ExperimentConfig& cfg, int vocab, double available_mb, const std::string& source) {
  if (available_mb <= 0) return;
  const MemoryEstimate e = EstimateMemory(cfg, vocab);
  const double available_gb = available_mb / 1024;
  if (e.total_gb <= available_gb) return;
  const bool gpu = cfg.model().device() == CUDA, hf = !cfg.model().hf_folder().empty();
  // A model folder fixes the model's shape: what to lower is its length, or the folder.
  const std::string shape = hf ? "model.max_seq_len (or take a smaller model.hf_folder)"
                               : "model.d_model, model.n_layers, model.d_ff or model.max_seq_len";
  char buf[768];
  std::snprintf(buf, sizeof buf,
                "%s: needs at least %.1f GiB but %.1f GiB of %s is available: the policy's weights, gradients "
                "and Adam state %.1f GiB (%.3g parameters), plus the larger of training activations %.1f GiB (%lld "
                "rows) and the generation KV cache %.1f GiB (sampling.batch_size %lld). Lower %s, the training "
                "batch (batch_size, prompts_per_step, group_size) or sampling.batch_size",
                source.c_str(), e.total_gb, available_gb, gpu ? "free GPU memory (nvidia-smi)" : "memory",
                e.train_state_gb, e.params, e.activations_gb, static_cast<long long>(e.train_rows), e.kv_cache_gb,
                static_cast<long long>(e.sample_rows), shape.c_str());
  throw ConfigError(buf);
}

}  // namespace r1lab

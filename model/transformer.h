// A GPT-style decoder: learned token and position embeddings, pre-LayerNorm
// blocks (causal multi-head attention, GELU MLP), a final LayerNorm, an LM
// head tied to the token embedding, and optional value and PRM heads.
//
// One class serves the policy, the PPO critic, the MCTS value network, the
// PRM and the ORM: separate instances, heads switched on by ModelConfig.
// With model.hf_folder the trunk is instead the folder's Llama/Qwen2 decoder
// (lm/llama.h, its weights and its tokenizer), the heads on its final norm.
// Device and dtype come from the config; inputs may live on any device and
// are moved to the model's.
#pragma once

#include <torch/torch.h>

#include <vector>

#include "llama.h"
#include "r1lab.pb.h"
#include "tokenizer.h"

namespace r1lab {

struct ForwardOutput {
  torch::Tensor logits;      // [B, T, V]
  torch::Tensor values;      // [B, T]  value head, if on
  torch::Tensor prm_logits;  // [B, T]  PRM head (logit of "step is good"), if on
};

// Preallocated key/value cache for batched decoding.
struct KvCache {
  // Per layer. The character GPT: keys [B, H, ceil(capacity / 8), head_dim,
  // 8] in transposed tiles (decode_attention.h), values [B, H, capacity,
  // head_dim]. A Hugging Face decoder (not tiled): both [B, kv_heads,
  // capacity, head_dim].
  std::vector<torch::Tensor> k;
  std::vector<torch::Tensor> v;
  int64_t len = 0;     // positions filled, the same for every row
  bool tiled = true;   // keys in transposed tiles
  int64_t batch() const { return k.empty() ? 0 : k[0].size(0); }
  int64_t capacity() const { return v.empty() ? 0 : v[0].size(2); }
  // Keeps only the rows in `keep` (int64 indices), in that order.
  void Compact(const torch::Tensor& keep);
};

class TransformerImpl;

// While it lives, LibTorch's autocast to bfloat16 on the model's device
// when the model's precision is BF16_MIXED (else nothing); the previous
// autocast state comes back after. The model's own passes open one; a
// caller that runs many passes (a generation loop) opens one around them
// all, so the weights are cast to bfloat16 once (autocast's cast cache
// lives until the outermost scope ends), not once per decoding step.
class PrecisionScope {
 public:
  explicit PrecisionScope(const TransformerImpl& model);
  ~PrecisionScope();
  PrecisionScope(const PrecisionScope&) = delete;
  PrecisionScope& operator=(const PrecisionScope&) = delete;

 private:
  bool on_ = false;
  c10::DeviceType type_ = c10::DeviceType::CPU;
  bool was_enabled_ = false;
  c10::ScalarType was_dtype_ = c10::ScalarType::Float;
};

class TransformerImpl : public torch::nn::Module {
 public:
  TransformerImpl(const ModelConfig& cfg, int vocab_size);

  // tokens [B, T] int64. `start` [B] int64 (optional): per-row count of left
  // padding; row b's positions count from start[b] and keys before it are
  // masked. If `cache` is given (capacity >= T), K and V of every layer are
  // written into positions [0, T) and cache->len becomes T. With
  // `last_position`, the outputs are the last position's alone ([B, 1, V]
  // logits): a prefill's, without the [B, T, V] logits it does not use.
  ForwardOutput forward(const torch::Tensor& tokens, const torch::Tensor& start = {},
                        KvCache* cache = nullptr, bool last_position = false);

  // One decoding step for a batch at position cache.len: tokens [B] int64,
  // start [B] int64. Appends K and V, returns logits [B, V]. No autograd.
  torch::Tensor DecodeStep(const torch::Tensor& tokens, const torch::Tensor& start, KvCache& cache);
  // The same step with every head on: logits [B, V], values and prm_logits [B].
  ForwardOutput DecodeStepHeads(const torch::Tensor& tokens, const torch::Tensor& start, KvCache& cache);

  KvCache NewCache(int64_t batch, int64_t capacity) const;

  // The config with the trunk's real shape (hf_folder's config.json filled in).
  const ModelConfig& config() const { return cfg_; }
  int vocab_size() const { return vocab_; }
  const Tokenizer& tokenizer() const { return *tok_; }
  torch::Device device() const;
  torch::Dtype dtype() const;  // the parameters' (float32 under BF16_MIXED)
  // The KV cache's: bfloat16 under BF16_MIXED, else dtype().
  torch::Dtype cache_dtype() const;
  bool mixed_precision() const { return cfg_.precision() == BF16_MIXED; }
  int64_t NumParameters() const;

 private:
  struct Block {
    torch::nn::LayerNorm ln1{nullptr}, ln2{nullptr};
    torch::nn::Linear qkv{nullptr}, proj{nullptr}, fc1{nullptr}, fc2{nullptr};
  };
  void Init();
  // Logits and the heads that are on, from the final norm's output h.
  ForwardOutput Outputs(const torch::Tensor& h);
  torch::Tensor LmHead(const torch::Tensor& h);
  // DecodeStep up to the final norm: [B, d].
  torch::Tensor DecodeTrunk(const torch::Tensor& tokens, const torch::Tensor& start, KvCache& cache);

  ModelConfig cfg_;
  int vocab_;
  const Tokenizer* tok_;
  Llama hf_{nullptr};  // the trunk when cfg.hf_folder() is set; the members below stay empty then
  torch::nn::Embedding tok_emb_{nullptr}, pos_emb_{nullptr};
  std::vector<Block> blocks_;
  torch::nn::LayerNorm ln_f_{nullptr};
  torch::nn::Linear value_head_{nullptr}, prm_head_{nullptr};
};
TORCH_MODULE(Transformer);

// Builds a model on the config's device and dtype. A CUDA device without a
// CUDA-enabled LibTorch is a ConfigError.
Transformer MakeModel(const ModelConfig& cfg, int vocab_size);
// The same with the vocabulary of the config's model (ModelVocab).
Transformer MakeModel(const ModelConfig& cfg);
// The vocabulary size of models built from `cfg`: the character
// vocabulary's, or hf_folder's config.json vocab_size (which may exceed its
// tokenizer's).
int ModelVocab(const ModelConfig& cfg);
// `cfg` with the shape of the model in cfg.hf_folder() (d_model, n_layers,
// n_heads, d_ff, n_kv_heads from its config.json); `cfg` itself without one.
// A shape field set to another value, a max_seq_len beyond the model's
// max_position_embeddings or a head_dim other than d_model / n_heads is a
// ConfigError naming the field and the file.
ModelConfig ResolveModelShape(const ModelConfig& cfg);
// A hash of the content of a model folder's files (config.json,
// generation_config.json, tokenizer.json, the safetensors and their index), for cache keys that
// must change when the weights do.
uint64_t HfFolderHash(const std::string& folder);
torch::Device ConfigDevice(const ModelConfig& cfg);
torch::Dtype ConfigDtype(const ModelConfig& cfg);

// dst's parameters := src's. Strict: the two must have the same parameters.
// Otherwise every parameter dst shares with src (same name and shape) is
// copied and the rest (e.g. a fresh value head) is left as initialised.
void CopyWeights(Transformer& src, Transformer& dst, bool strict = true);

// Parameter + AdamW state bytes of a model (3 x params x element size).
double TrainingStateBytes(Transformer& m);

// Teacher-forced statistics of the next token at the sampling temperature.
// logits [B, T, V] (from tokens [B, T]); returns [B, T-1]: log-prob of
// tokens[:, t+1] and the entropy of the distribution at t.
struct TokenStats {
  torch::Tensor logprobs;
  torch::Tensor entropy;
};
TokenStats NextTokenStats(const torch::Tensor& logits, const torch::Tensor& tokens, double temperature = 1.0);

}  // namespace r1lab

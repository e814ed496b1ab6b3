// A Llama/Qwen2-style decoder, loaded from a Hugging Face model folder
// (config.json + safetensors) and saved back to one: RMSNorm, rotary
// embeddings (theta; linear or Llama-3 scaling), SwiGLU, grouped-query
// attention, optional QKV bias, tied or untied embeddings. Its logits match
// transformers' to 1e-4 in fp32 (tests/lm, fixtures from
// tools/make_hf_fixtures.py).
#pragma once

#include <torch/torch.h>

#include <map>
#include <string>
#include <vector>

namespace r1lab {

struct LlamaConfig {
  std::string model_type;  // "llama" or "qwen2"
  int64_t vocab_size = 0, hidden_size = 0, intermediate_size = 0, num_layers = 0, num_heads = 0, num_kv_heads = 0,
          head_dim = 0, max_position_embeddings = 0;
  double rms_norm_eps = 1e-6, rope_theta = 10000;
  bool qkv_bias = false;  // q, k, v projections (Qwen2 always; Llama's attention_bias also biases o)
  bool o_bias = false;
  bool tie_word_embeddings = false;
  // rope_scaling: "" (none), "linear" (positions / factor) or "llama3".
  std::string rope_type;
  double rope_factor = 1, low_freq_factor = 1, high_freq_factor = 4;
  int64_t original_max_position_embeddings = 0;
  std::vector<int> eos_token_ids;  // config.json's eos_token_id (a number or a list; none when null)
};

// config.json of a LlamaForCausalLM or Qwen2ForCausalLM; InputError naming
// the file and field for anything else or anything this model does not do.
LlamaConfig ReadHfConfig(const std::string& path);
// The parameters a model of `c`'s shape holds (as a double: a config's
// sizes may be absurd), computed from the shape alone, before any is made:
// LoadHfModel refuses a config.json that asks for more than twice the
// values its safetensors hold.
double LlamaParameterCount(const LlamaConfig& c);
// generation_config.json's eos_token_id in `folder` (the stop tokens
// transformers' generate uses; an instruct model's list may go beyond
// config.json's): none when the file or the field is absent; InputError
// naming the file for an id not below vocab_size.
std::vector<int> ReadGenerationEos(const std::string& folder, int64_t vocab_size);

// Keys and values of every layer for batched decoding: [B, kv_heads, capacity, head_dim].
struct LlamaCache {
  std::vector<torch::Tensor> k, v;
  int64_t len = 0;
};

class LlamaImpl : public torch::nn::Module {
 public:
  explicit LlamaImpl(const LlamaConfig& cfg);

  // tokens [B, T] int64; `start` [B] int64 (optional): left padding per row
  // (row b's positions count from start[b]; keys before it are masked).
  // With `cache` (capacity >= T) the keys and values are kept and len = T.
  // Returns logits [B, T, vocab] in float32 (float64 for a float64 model).
  torch::Tensor forward(const torch::Tensor& tokens, const torch::Tensor& start = {}, LlamaCache* cache = nullptr);
  // One step at position cache.len: tokens [B] -> logits [B, vocab]. No autograd.
  torch::Tensor DecodeStep(const torch::Tensor& tokens, const torch::Tensor& start, LlamaCache& cache);
  // The same up to the final norm: hidden states [B, T, d] and [B, d], for
  // heads on the trunk; Logits applies the LM head to them.
  torch::Tensor Hidden(const torch::Tensor& tokens, const torch::Tensor& start = {}, LlamaCache* cache = nullptr);
  torch::Tensor DecodeHidden(const torch::Tensor& tokens, const torch::Tensor& start, LlamaCache& cache);
  torch::Tensor Logits(const torch::Tensor& hidden) const;
  LlamaCache NewCache(int64_t batch, int64_t capacity) const;  // in the weights' dtype
  LlamaCache NewCache(int64_t batch, int64_t capacity, torch::Dtype dtype) const;

  // Casting to another dtype keeps the rotary frequencies in float32, as
  // transformers computes them: in bf16 they are off by up to 0.4%, which
  // turns position p's angles by up to p / 256 radians.
  using torch::nn::Module::to;
  void to(torch::Device device, torch::Dtype dtype, bool non_blocking = false) override;
  void to(torch::Dtype dtype, bool non_blocking = false) override;
  void load(torch::serialize::InputArchive& archive) override;  // (the same for a loaded checkpoint)

  const LlamaConfig& config() const { return cfg_; }
  const torch::Tensor& embedding() const { return embed_; }
  // Parameters by their Hugging Face names (lm_head.weight only when untied).
  std::map<std::string, torch::Tensor> HfStateDict();

 private:
  struct Layer {  // raw parameters (torch::linear): their HF names are the state dict's
    torch::Tensor in_norm, post_norm, q_w, q_b, k_w, k_b, v_w, v_b, o_w, o_b, gate_w, up_w, down_w;
  };
  enum class Init { kNormal, kOnes, kZeros };
  torch::Tensor Param(const std::string& hf_name, std::vector<int64_t> shape, Init init = Init::kNormal);
  torch::Tensor Rms(const torch::Tensor& x, const torch::Tensor& w) const;
  void RestoreRotary();  // inv_freq_ back to inv_freq_cpu_'s float32 values, on its device
  // Rotary cos and sin for positions [B, T]: each [B, 1, T, head_dim].
  std::pair<torch::Tensor, torch::Tensor> Rotary(const torch::Tensor& positions) const;
  // Runs the layers on x [B, T, d] at `positions` [B, T], each query seeing
  // the keys `allowed` [B, 1, T, S] (bool; S = cache len + T, or T); writes
  // the new keys and values into `cache` at its len.
  torch::Tensor Trunk(torch::Tensor x, const torch::Tensor& positions, const torch::Tensor& allowed, LlamaCache* cache);

  LlamaConfig cfg_;
  std::map<std::string, torch::Tensor> hf_;  // HF name -> parameter
  torch::Tensor embed_, norm_, lm_head_;
  std::vector<Layer> layers_;
  torch::Tensor inv_freq_;  // [head_dim / 2] float32, as transformers computes it (a buffer: it follows the device)
  torch::Tensor inv_freq_cpu_;  // the same, kept for casts
};
TORCH_MODULE(Llama);

// Samples a continuation of `prompt` with the KV cache: up to `max_new`
// tokens, greedy at temperature 0, otherwise from softmax(logits / t) with a
// generator seeded by `seed`; stops after a token of `stop`. Returns the new
// tokens (the stop token included).
std::vector<int> LlamaGenerate(Llama& model, const std::vector<int>& prompt, int max_new, double temperature,
                               uint64_t seed, const std::vector<int>& stop = {});

// A model folder (config.json, model.safetensors or its sharded index) as
// a float32 model on the CPU (bf16 and f16 weights are widened). Missing or
// unexpected tensors, and shapes that disagree with config.json, are
// errors naming the tensor and the folder.
Llama LoadHfModel(const std::string& folder);
// config.json (the fields ReadHfConfig reads, plus architectures and
// torch_dtype) and model.safetensors in `dtype` (float32 or bfloat16).
void SaveHfModel(Llama& model, const std::string& folder, torch::Dtype dtype = torch::kFloat32);

}  // namespace r1lab

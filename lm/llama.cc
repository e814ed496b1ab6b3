#include "llama.h"

#include <torch/version.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <sstream>
#include <nlohmann/json.hpp>

#include "error.h"
#include "io.h"
#include "safetensors.h"

namespace r1lab {

namespace {

using nlohmann::json;

json ParseJsonFile(const std::string& path) {
  try {
    return json::parse(ReadFile(path));
  } catch (const json::exception& e) {
    throw InputError(path + ": not JSON: " + e.what());
  }
}

// A config file's eos_token_id: a token id, a list of them, or null (none).
std::vector<int> EosTokenIds(const json& j, int64_t vocab_size, const std::string& path) {
  std::vector<int> ids;
  if (!j.contains("eos_token_id") || j["eos_token_id"].is_null()) return ids;
  const json& e = j["eos_token_id"];
  for (const json& id : e.is_array() ? e : json::array({e})) {
    if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() >= vocab_size)
      throw InputError(path + ": eos_token_id: expected a token id (or a list of them) below vocab_size " +
                       std::to_string(vocab_size));
    ids.push_back(id.get<int>());
  }
  return ids;
}

}  // namespace

LlamaConfig ReadHfConfig(const std::string& path) {
  const json j = ParseJsonFile(path);
  auto bad = [&](const std::string& field, const std::string& what) -> InputError {
    return InputError(path + ": " + field + ": " + what);
  };
  if (!j.is_object()) throw bad("(top level)", "expected an object");
  LlamaConfig c;
  if (!j.contains("model_type") || !j["model_type"].is_string()) throw bad("model_type", "missing");
  c.model_type = j["model_type"].get<std::string>();
  if (c.model_type != "llama" && c.model_type != "qwen2")
    throw bad("model_type", "'" + c.model_type + "'; expected llama or qwen2 (Llama, SmolLM, Qwen2, Qwen2.5)");
  if (j.contains("architectures") && j["architectures"].is_array() && !j["architectures"].empty()) {
    const std::string arch = j["architectures"][0].is_string() ? j["architectures"][0].get<std::string>() : "";
    if (arch != "LlamaForCausalLM" && arch != "Qwen2ForCausalLM")
      throw bad("architectures[0]", "'" + arch + "'; expected LlamaForCausalLM or Qwen2ForCausalLM");
  }
  auto integer = [&](const char* key, int64_t def) -> int64_t {
    if (!j.contains(key) || j[key].is_null()) {
      if (def < 0) throw bad(key, "missing");
      return def;
    }
    if (!j[key].is_number_integer() || j[key].get<int64_t>() <= 0) throw bad(key, "expected a positive integer");
    return j[key].get<int64_t>();
  };
  // A positive number; `below` bounds it where a larger value would turn
  // the float32 arithmetic it feeds into infinities or zeros.
  auto number = [&](const json& o, const char* key, double def, const std::string& field,
                    double below = std::numeric_limits<double>::infinity()) -> double {
    if (!o.contains(key) || o[key].is_null()) return def;
    if (!o[key].is_number() || o[key].get<double>() <= 0 || o[key].get<double>() >= below) {
      std::ostringstream what;
      what << "expected a positive number";
      if (!std::isinf(below)) what << " below " << below;
      throw bad(field, what.str());
    }
    return o[key].get<double>();
  };
  // Rotary frequencies theta^(-2i/d) are float32: a base at or below 1 makes
  // them grow with i (at 1e-300, infinite: NaN logits), one past 1e30 rounds
  // them to 0.
  auto theta = [&](const json& o, double def, const std::string& field) -> double {
    const double t = number(o, "rope_theta", def, field, 1e30);
    if (t <= 1) throw bad(field, "expected a number above 1 (real models use 1e4 to 1e6)");
    return t;
  };
  auto flag = [&](const char* key, bool def) -> bool {
    if (!j.contains(key) || j[key].is_null()) return def;
    if (!j[key].is_boolean()) throw bad(key, "expected true or false");
    return j[key].get<bool>();
  };
  c.vocab_size = integer("vocab_size", -1);
  c.hidden_size = integer("hidden_size", -1);
  c.intermediate_size = integer("intermediate_size", -1);
  c.num_layers = integer("num_hidden_layers", -1);
  c.num_heads = integer("num_attention_heads", -1);
  c.num_kv_heads = integer("num_key_value_heads", c.num_heads);
  c.max_position_embeddings = integer("max_position_embeddings", -1);
  if (c.num_heads % c.num_kv_heads != 0)
    throw bad("num_key_value_heads", std::to_string(c.num_kv_heads) + " does not divide num_attention_heads " +
                                         std::to_string(c.num_heads));
  if (!j.contains("head_dim") && c.hidden_size % c.num_heads != 0)
    throw bad("num_attention_heads", std::to_string(c.num_heads) + " does not divide hidden_size");
  c.head_dim = integer("head_dim", c.hidden_size / c.num_heads);
  if (c.head_dim % 2 != 0) throw bad("head_dim", "odd; rotary embeddings rotate pairs");
  c.rms_norm_eps = number(j, "rms_norm_eps", 1e-6, "rms_norm_eps", 1);
  c.tie_word_embeddings = flag("tie_word_embeddings", false);
  if (c.model_type == "qwen2") {
    c.qkv_bias = true;
    if (flag("use_sliding_window", false)) throw bad("use_sliding_window", "true is not supported");
  } else {
    c.qkv_bias = c.o_bias = flag("attention_bias", false);
    if (flag("mlp_bias", false)) throw bad("mlp_bias", "true is not supported");
  }
  if (j.contains("hidden_act") && j["hidden_act"] != "silu") throw bad("hidden_act", "expected silu (SwiGLU)");
  c.eos_token_ids = EosTokenIds(j, c.vocab_size, path);
  if (j.contains("layer_types") && j["layer_types"].is_array())
    for (size_t i = 0; i < j["layer_types"].size(); ++i)
      if (j["layer_types"][i] != "full_attention")
        throw bad("layer_types[" + std::to_string(i) + "]", "expected full_attention (sliding windows are not supported)");
  // Rotary: transformers 5 writes rope_parameters (theta inside); files
  // before it, rope_theta and rope_scaling.
  const bool v5 = j.contains("rope_parameters") && !j["rope_parameters"].is_null();
  const std::string rope_field = v5 ? "rope_parameters" : "rope_scaling";
  c.rope_theta = theta(j, 10000, "rope_theta");
  if (j.contains(rope_field) && !j[rope_field].is_null()) {
    const json& r = j[rope_field];
    if (!r.is_object()) throw bad(rope_field, "expected an object or null");
    if (v5) c.rope_theta = theta(r, c.rope_theta, rope_field + ".rope_theta");
    const std::string key = r.contains("rope_type") ? "rope_type" : "type";
    const std::string type = r.contains(key) && r[key].is_string() ? r[key].get<std::string>() : "default";
    const std::string f = rope_field + ".";
    if (type == "default") {
    } else if (type == "linear" || type == "llama3") {
      c.rope_type = type;
      c.rope_factor = number(r, "factor", -1, f + "factor");
      if (c.rope_factor < 0) throw bad(f + "factor", "missing");
      // As transformers checks: scaling stretches positions, never shrinks
      // them (a factor of 1e-300 made the float32 frequencies infinite).
      if (c.rope_factor < 1) throw bad(f + "factor", "expected a number of at least 1");
      if (type == "llama3") {
        c.low_freq_factor = number(r, "low_freq_factor", 1, f + "low_freq_factor");
        c.high_freq_factor = number(r, "high_freq_factor", 4, f + "high_freq_factor");
        if (!r.contains("original_max_position_embeddings") || !r["original_max_position_embeddings"].is_number_integer() ||
            r["original_max_position_embeddings"].get<int64_t>() <= 0)
          throw bad(f + "original_max_position_embeddings", "expected a positive integer");
        c.original_max_position_embeddings = r["original_max_position_embeddings"].get<int64_t>();
        if (c.high_freq_factor <= c.low_freq_factor) throw bad(f + "high_freq_factor", "must exceed low_freq_factor");
      }
    } else {
      throw bad(f + key, "'" + type + "'; expected default, linear or llama3");
    }
  }
  return c;
}

std::vector<int> ReadGenerationEos(const std::string& folder, int64_t vocab_size) {
  const std::string path = folder + "/generation_config.json";
  if (!FileExists(path)) return {};
  const json j = ParseJsonFile(path);
  if (!j.is_object()) throw InputError(path + ": (top level): expected an object");
  return EosTokenIds(j, vocab_size, path);
}

torch::Tensor LlamaImpl::Param(const std::string& hf_name, std::vector<int64_t> shape, Init init) {
  // transformers' initialisation: normal(0, 0.02) weights, unit norms, zero biases.
  torch::Tensor t = init == Init::kOnes ? torch::ones(shape) : init == Init::kZeros ? torch::zeros(shape)
                                                                                    : torch::randn(shape) * 0.02;
  std::string safe = hf_name;
  for (char& ch : safe)
    if (ch == '.') ch = '_';
  t = register_parameter(safe, t);
  hf_[hf_name] = t;
  return t;
}

LlamaImpl::LlamaImpl(const LlamaConfig& cfg) : cfg_(cfg) {
  const int64_t d = cfg.hidden_size, hd = cfg.head_dim, q = cfg.num_heads * hd, kv = cfg.num_kv_heads * hd;
  embed_ = Param("model.embed_tokens.weight", {cfg.vocab_size, d});
  for (int64_t i = 0; i < cfg.num_layers; ++i) {
    const std::string p = "model.layers." + std::to_string(i) + ".";
    Layer l;
    l.in_norm = Param(p + "input_layernorm.weight", {d}, Init::kOnes);
    l.post_norm = Param(p + "post_attention_layernorm.weight", {d}, Init::kOnes);
    l.q_w = Param(p + "self_attn.q_proj.weight", {q, d});
    l.k_w = Param(p + "self_attn.k_proj.weight", {kv, d});
    l.v_w = Param(p + "self_attn.v_proj.weight", {kv, d});
    l.o_w = Param(p + "self_attn.o_proj.weight", {d, q});
    if (cfg.qkv_bias) {
      l.q_b = Param(p + "self_attn.q_proj.bias", {q}, Init::kZeros);
      l.k_b = Param(p + "self_attn.k_proj.bias", {kv}, Init::kZeros);
      l.v_b = Param(p + "self_attn.v_proj.bias", {kv}, Init::kZeros);
    }
    if (cfg.o_bias) l.o_b = Param(p + "self_attn.o_proj.bias", {d}, Init::kZeros);
    l.gate_w = Param(p + "mlp.gate_proj.weight", {cfg.intermediate_size, d});
    l.up_w = Param(p + "mlp.up_proj.weight", {cfg.intermediate_size, d});
    l.down_w = Param(p + "mlp.down_proj.weight", {d, cfg.intermediate_size});
    layers_.push_back(l);
  }
  norm_ = Param("model.norm.weight", {d}, Init::kOnes);
  lm_head_ = cfg.tie_word_embeddings ? embed_ : Param("lm_head.weight", {cfg.vocab_size, d});

  // transformers' inv_freq, in float32 as it computes it, then its scaling.
  torch::Tensor inv = 1.0 / torch::pow(torch::tensor(cfg.rope_theta, torch::kFloat32),
                                       torch::arange(0, hd, 2, torch::kInt64).to(torch::kFloat32) / static_cast<double>(hd));
  if (cfg.rope_type == "linear") inv = inv / cfg.rope_factor;
  if (cfg.rope_type == "llama3") {
    const double old_len = static_cast<double>(cfg.original_max_position_embeddings);
    const double low_wavelen = old_len / cfg.low_freq_factor, high_wavelen = old_len / cfg.high_freq_factor;
    const torch::Tensor wavelen = 2 * M_PI / inv;
    torch::Tensor scaled = torch::where(wavelen > low_wavelen, inv / cfg.rope_factor, inv);
    const torch::Tensor smooth = (old_len / wavelen - cfg.low_freq_factor) / (cfg.high_freq_factor - cfg.low_freq_factor);
    const torch::Tensor smoothed = (1 - smooth) * scaled / cfg.rope_factor + smooth * scaled;
    const torch::Tensor medium = (wavelen >= high_wavelen).logical_and(wavelen <= low_wavelen);
    inv = torch::where(medium, smoothed, scaled);
  }
  inv_freq_cpu_ = inv;
  inv_freq_ = register_buffer("inv_freq", inv.clone());
}

void LlamaImpl::RestoreRotary() { inv_freq_.set_data(inv_freq_cpu_.to(inv_freq_.device())); }

void LlamaImpl::to(torch::Device device, torch::Dtype dtype, bool non_blocking) {
  torch::nn::Module::to(device, dtype, non_blocking);
  RestoreRotary();
}

void LlamaImpl::to(torch::Dtype dtype, bool non_blocking) {
  torch::nn::Module::to(dtype, non_blocking);
  RestoreRotary();
}

void LlamaImpl::load(torch::serialize::InputArchive& archive) {
  torch::nn::Module::load(archive);
  // A checkpoint stores the buffer too; one written before casts kept it in
  // float32 may hold it in the weights' dtype.
  RestoreRotary();
}

std::map<std::string, torch::Tensor> LlamaImpl::HfStateDict() { return hf_; }

torch::Tensor LlamaImpl::Rms(const torch::Tensor& x, const torch::Tensor& w) const {
  const torch::Tensor f = x.to(torch::kFloat32);
  const torch::Tensor var = f.pow(2).mean(-1, /*keepdim=*/true);
  return w * (f * torch::rsqrt(var + cfg_.rms_norm_eps)).to(x.scalar_type());
}

std::pair<torch::Tensor, torch::Tensor> LlamaImpl::Rotary(const torch::Tensor& positions) const {
  const torch::Tensor freqs = positions.to(torch::kFloat32).unsqueeze(-1) * inv_freq_;  // [B, T, hd/2]
  const torch::Tensor emb = torch::cat({freqs, freqs}, -1).unsqueeze(1);             // [B, 1, T, hd]
  return {emb.cos(), emb.sin()};
}

namespace {

torch::Tensor RotateHalf(const torch::Tensor& x) {
  const int64_t h = x.size(-1) / 2;
  return torch::cat({-x.narrow(-1, h, h), x.narrow(-1, 0, h)}, -1);
}

torch::Tensor Linear(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b) {
  return b.defined() ? torch::linear(x, w, b) : torch::linear(x, w);
}

}  // namespace

torch::Tensor LlamaImpl::Trunk(torch::Tensor x, const torch::Tensor& positions, const torch::Tensor& allowed,
                               LlamaCache* cache) {
  const int64_t B = x.size(0), T = x.size(1), H = cfg_.num_heads, KV = cfg_.num_kv_heads, hd = cfg_.head_dim;
  auto [cos, sin] = Rotary(positions);
  cos = cos.to(x.scalar_type());  // as transformers: rotary in the activations' dtype
  sin = sin.to(x.scalar_type());
  for (size_t i = 0; i < layers_.size(); ++i) {
    const Layer& l = layers_[i];
    const torch::Tensor h = Rms(x, l.in_norm);
    torch::Tensor q = Linear(h, l.q_w, l.q_b).view({B, T, H, hd}).transpose(1, 2);
    torch::Tensor k = Linear(h, l.k_w, l.k_b).view({B, T, KV, hd}).transpose(1, 2);
    torch::Tensor v = Linear(h, l.v_w, l.v_b).view({B, T, KV, hd}).transpose(1, 2);
    q = q * cos + RotateHalf(q) * sin;
    k = k * cos + RotateHalf(k) * sin;
    if (cache) {
      cache->k[i].narrow(2, cache->len, T).copy_(k);
      cache->v[i].narrow(2, cache->len, T).copy_(v);
      k = cache->k[i].narrow(2, 0, cache->len + T);
      v = cache->v[i].narrow(2, 0, cache->len + T);
    }
    // Grouped-query attention: query head h reads key head h / G. A decode
    // step (T = 1) turns the G query heads of a key head into G query rows of
    // it ([B, KV, G, hd], the one mask row broadcast), so attention reads the
    // cache in place; repeating K and V would copy the whole cache every
    // token. A prompt or a training batch repeats K and V instead: the
    // grouped rows would need the [T, S] mask G times over, more memory than
    // the copy (and the fused CUDA kernel keeps it for the backward pass).
    const int64_t G = H / KV;
    const bool grouped = G > 1 && T == 1;
    if (grouped) {
      q = q.reshape({B, KV, G, hd});
    } else if (G > 1) {
      k = k.repeat_interleave(G, 1);
      v = v.repeat_interleave(G, 1);
    }
#if TORCH_VERSION_MAJOR >= 2
    // The fused kernel (flash or memory-efficient on CUDA) where LibTorch has it.
    const torch::Tensor att_out = at::scaled_dot_product_attention(q, k, v, allowed);
#else
    const double scale = 1.0 / std::sqrt(static_cast<double>(hd));
    const torch::Tensor scores = (torch::matmul(q, k.transpose(-2, -1)) * scale)
                                     .to(torch::kFloat32)
                                     .masked_fill(allowed.logical_not(), -std::numeric_limits<float>::infinity());
    const torch::Tensor att_out = torch::matmul(torch::softmax(scores, -1).to(q.scalar_type()), v);
#endif
    const torch::Tensor y = (grouped ? att_out.reshape({B, H, T, hd}) : att_out).transpose(1, 2).reshape({B, T, H * hd});
    x = x + Linear(y, l.o_w, l.o_b);
    const torch::Tensor g = Rms(x, l.post_norm);
    x = x + torch::linear(torch::silu(torch::linear(g, l.gate_w)) * torch::linear(g, l.up_w), l.down_w);
  }
  return x;
}

torch::Tensor LlamaImpl::forward(const torch::Tensor& tokens, const torch::Tensor& start, LlamaCache* cache) {
  return Logits(Hidden(tokens, start, cache));
}

torch::Tensor LlamaImpl::DecodeStep(const torch::Tensor& tokens, const torch::Tensor& start, LlamaCache& cache) {
  torch::NoGradGuard no_grad;
  return Logits(DecodeHidden(tokens, start, cache));
}

torch::Tensor LlamaImpl::Logits(const torch::Tensor& hidden) const {
  const torch::Tensor z = torch::linear(hidden, lm_head_);
  return z.scalar_type() == torch::kFloat64 ? z : z.to(torch::kFloat32);
}

torch::Tensor LlamaImpl::Hidden(const torch::Tensor& tokens_in, const torch::Tensor& start_in, LlamaCache* cache) {
  const torch::Device dev = embed_.device();
  const torch::Tensor tokens = tokens_in.to(dev, torch::kInt64);
  const int64_t B = tokens.size(0), T = tokens.size(1);
  if (cache && (cache->len != 0 || cache->k.empty() || cache->k[0].size(2) < T))
    throw InternalError("Llama::forward: the cache must be empty and hold " + std::to_string(T) + " positions");
  const auto i64 = torch::TensorOptions().dtype(torch::kInt64).device(dev);
  const torch::Tensor start = start_in.defined() ? start_in.to(dev, torch::kInt64) : torch::zeros({B}, i64);
  const torch::Tensor t = torch::arange(T, i64);
  const torch::Tensor positions = (t.unsqueeze(0) - start.unsqueeze(1)).clamp_min(0);  // [B, T]
  // Query i sees keys j <= i from the row's start on; a padding query sees
  // itself only (its output is never used, but stays finite).
  const torch::Tensor causal = (t.unsqueeze(1) >= t.unsqueeze(0)).unsqueeze(0);             // [1, T, T]
  const torch::Tensor real_key = (t.unsqueeze(0) >= start.unsqueeze(1)).unsqueeze(1);       // [B, 1, T]
  const torch::Tensor diagonal = torch::eye(T, torch::TensorOptions().dtype(torch::kBool).device(dev)).unsqueeze(0);
  const torch::Tensor allowed = causal.logical_and(real_key).logical_or(diagonal).unsqueeze(1);  // [B, 1, T, T]
  torch::Tensor x = torch::embedding(embed_, tokens);
  x = Trunk(x, positions, allowed, cache);
  if (cache) cache->len = T;
  return Rms(x, norm_);
}

torch::Tensor LlamaImpl::DecodeHidden(const torch::Tensor& tokens_in, const torch::Tensor& start_in, LlamaCache& cache) {
  torch::NoGradGuard no_grad;
  const torch::Device dev = embed_.device();
  const torch::Tensor tokens = tokens_in.to(dev, torch::kInt64);
  const int64_t B = tokens.size(0), S = cache.len + 1;
  if (cache.k.empty() || cache.k[0].size(2) < S) throw InternalError("Llama::DecodeStep: the cache is full");
  const auto i64 = torch::TensorOptions().dtype(torch::kInt64).device(dev);
  const torch::Tensor start = start_in.defined() ? start_in.to(dev, torch::kInt64) : torch::zeros({B}, i64);
  const torch::Tensor positions = (cache.len - start).clamp_min(0).unsqueeze(1);  // [B, 1]
  const torch::Tensor allowed = (torch::arange(S, i64).unsqueeze(0) >= start.unsqueeze(1)).view({B, 1, 1, S});
  torch::Tensor x = torch::embedding(embed_, tokens.view({B, 1}));
  x = Trunk(x, positions, allowed, &cache);
  cache.len = S;
  return Rms(x, norm_).squeeze(1);
}

LlamaCache LlamaImpl::NewCache(int64_t batch, int64_t capacity) const {
  return NewCache(batch, capacity, embed_.scalar_type());
}

LlamaCache LlamaImpl::NewCache(int64_t batch, int64_t capacity, torch::Dtype dtype) const {
  const auto opt = embed_.options().dtype(dtype).requires_grad(false);
  LlamaCache c;
  for (int64_t i = 0; i < cfg_.num_layers; ++i) {
    c.k.push_back(torch::zeros({batch, cfg_.num_kv_heads, capacity, cfg_.head_dim}, opt));
    c.v.push_back(torch::zeros({batch, cfg_.num_kv_heads, capacity, cfg_.head_dim}, opt));
  }
  return c;
}

std::vector<int> LlamaGenerate(Llama& model, const std::vector<int>& prompt, int max_new, double temperature,
                               uint64_t seed, const std::vector<int>& stop) {
  if (prompt.empty()) throw InputError("LlamaGenerate: an empty prompt");
  torch::NoGradGuard no_grad;
  const int64_t n = static_cast<int64_t>(prompt.size());
  LlamaCache cache = model->NewCache(1, n + max_new);
  const torch::Tensor ids = torch::tensor(std::vector<int64_t>(prompt.begin(), prompt.end())).unsqueeze(0);
  torch::Tensor logits = model->forward(ids, {}, &cache).select(1, n - 1)[0];
  at::Generator gen = at::detail::createCPUGenerator(seed);
  std::vector<int> out;
  for (int i = 0; i < max_new; ++i) {
    const torch::Tensor probs = temperature > 0 ? torch::softmax(logits.cpu() / temperature, -1) : torch::Tensor();
    const int next = temperature > 0 ? static_cast<int>(torch::multinomial(probs, 1, false, gen).item<int64_t>())
                                     : static_cast<int>(logits.argmax().item<int64_t>());
    out.push_back(next);
    if (std::find(stop.begin(), stop.end(), next) != stop.end() || i + 1 == max_new) break;
    logits = model->DecodeStep(torch::tensor({static_cast<int64_t>(next)}), {}, cache)[0];
  }
  return out;
}

double LlamaParameterCount(const LlamaConfig& c) {
  const double d = static_cast<double>(c.hidden_size), hd = static_cast<double>(c.head_dim),
               q = static_cast<double>(c.num_heads) * hd, kv = static_cast<double>(c.num_kv_heads) * hd,
               ff = static_cast<double>(c.intermediate_size), vocab = static_cast<double>(c.vocab_size);
  const double layer = 2 * d + q * d + 2 * kv * d + d * q + (c.qkv_bias ? q + 2 * kv : 0) + (c.o_bias ? d : 0) + 3 * ff * d;
  return vocab * d * (c.tie_word_embeddings ? 1 : 2) + static_cast<double>(c.num_layers) * layer + d;
}

Llama LoadHfModel(const std::string& folder) {
  const LlamaConfig cfg = ReadHfConfig(folder + "/config.json");
  std::map<std::string, torch::Tensor> weights = LoadSafetensorsFolder(folder);
  // Before the model is allocated: a config.json whose shapes ask for far
  // more than the files hold would otherwise allocate it first (a typo of a
  // few digits: terabytes) and only then fail on the first missing or
  // misshapen tensor. Within twice the files' values the allocation is
  // harmless, and the tensor-by-tensor checks below say more precisely
  // what is missing or misshapen.
  double held = 0;
  for (const auto& [name, w] : weights) held += static_cast<double>(w.numel());
  const double wanted = LlamaParameterCount(cfg);
  if (wanted > 2 * held) {
    char buf[160];
    std::snprintf(buf, sizeof buf, "describes %.4g parameters, but the folder's safetensors hold %.4g values", wanted, held);
    throw InputError(folder + "/config.json " + buf + "; expected the shapes (vocab_size, hidden_size, "
                     "intermediate_size, num_hidden_layers, heads) of the checkpoint beside it");
  }
  Llama model(cfg);
  torch::NoGradGuard no_grad;
  for (auto& [name, param] : model->HfStateDict()) {
    const auto it = weights.find(name);
    if (it == weights.end()) throw InputError(folder + ": no tensor '" + name + "' (config.json asks for it)");
    const torch::Tensor& w = it->second;
    if (!w.is_floating_point())
      throw InputError(folder + ": tensor '" + name + "' is " + std::string(c10::toString(w.scalar_type())) +
                       "; expected F32, BF16 or F16 weights");
    if (w.sizes() != param.sizes())
      throw InputError(folder + ": tensor '" + name + "' has shape " + c10::str(w.sizes()) + "; config.json gives " +
                       c10::str(param.sizes()));
    param.copy_(w.to(torch::kFloat32));
    weights.erase(it);
  }
  for (const auto& [name, w] : weights) {
    const bool harmless = (name == "lm_head.weight" && cfg.tie_word_embeddings) ||  // some tied files store it
                          name.find("rotary_emb.inv_freq") != std::string::npos;   // older files keep the buffer
    if (!harmless) throw InputError(folder + ": unexpected tensor '" + name + "' (not part of a " + cfg.model_type + " model as config.json describes it)");
  }
  return model;
}

void SaveHfModel(Llama& model, const std::string& folder, torch::Dtype dtype) {
  if (dtype != torch::kFloat32 && dtype != torch::kBFloat16)
    throw InternalError("SaveHfModel: dtype must be float32 or bfloat16");
  const LlamaConfig& c = model->config();
  json j = {{"architectures", {c.model_type == "qwen2" ? "Qwen2ForCausalLM" : "LlamaForCausalLM"}},
            {"model_type", c.model_type},
            {"vocab_size", c.vocab_size},
            {"hidden_size", c.hidden_size},
            {"intermediate_size", c.intermediate_size},
            {"num_hidden_layers", c.num_layers},
            {"num_attention_heads", c.num_heads},
            {"num_key_value_heads", c.num_kv_heads},
            {"head_dim", c.head_dim},
            {"max_position_embeddings", c.max_position_embeddings},
            {"rms_norm_eps", c.rms_norm_eps},
            {"rope_theta", c.rope_theta},
            {"hidden_act", "silu"},
            {"tie_word_embeddings", c.tie_word_embeddings},
            {"torch_dtype", dtype == torch::kFloat32 ? "float32" : "bfloat16"}};
  if (c.model_type == "llama") j["attention_bias"] = c.qkv_bias;
  if (!c.eos_token_ids.empty())
    j["eos_token_id"] = c.eos_token_ids.size() == 1 ? json(c.eos_token_ids[0]) : json(c.eos_token_ids);
  if (!c.rope_type.empty()) {
    j["rope_scaling"] = {{"rope_type", c.rope_type}, {"factor", c.rope_factor}};
    if (c.rope_type == "llama3") {
      j["rope_scaling"]["low_freq_factor"] = c.low_freq_factor;
      j["rope_scaling"]["high_freq_factor"] = c.high_freq_factor;
      j["rope_scaling"]["original_max_position_embeddings"] = c.original_max_position_embeddings;
    }
  }
  EnsureWritableDir(folder);
  std::map<std::string, torch::Tensor> out;
  for (const auto& [name, t] : model->HfStateDict()) out[name] = t.detach().to(dtype);
  SaveSafetensors(folder + "/model.safetensors", out);
  WriteFileAtomic(folder + "/config.json", j.dump(2) + "\n");
}

}  // namespace r1lab

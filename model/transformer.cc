#include "transformer.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>

#include "autocast.h"
#include "cpu_kernels.h"
#include "decode_attention.h"
#include "error.h"
#include "io.h"
#include "text.h"

namespace r1lab {

torch::Device ConfigDevice(const ModelConfig& cfg) {
  if (cfg.device() == CUDA) {
    if (!torch::cuda::is_available())
      throw ConfigError("model.device: CUDA requested, but this LibTorch build has no usable CUDA device; "
                        "use CPU or build against a CUDA-enabled LibTorch (Torch_DIR)");
    return torch::Device(torch::kCUDA);
  }
  return torch::Device(torch::kCPU);
}

torch::Dtype ConfigDtype(const ModelConfig& cfg) {
  return cfg.dtype() == FLOAT64 ? torch::kFloat64 : torch::kFloat32;
}

namespace {

// Results leave the model in float32 whatever autocast computed them in.
torch::Tensor Float(const torch::Tensor& t) {
  return t.defined() && t.scalar_type() == torch::kBFloat16 ? t.to(torch::kFloat32) : t;
}

}  // namespace

PrecisionScope::PrecisionScope(const TransformerImpl& model) : on_(model.mixed_precision()) {
  if (!on_) return;
  type_ = model.device().type();
  was_enabled_ = AutocastEnabled(type_);
  was_dtype_ = AutocastDtype(type_);
  SetAutocastEnabled(type_, true);
  SetAutocastDtype(type_, torch::kBFloat16);
  at::autocast::increment_nesting();
}

PrecisionScope::~PrecisionScope() {
  if (!on_) return;
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  SetAutocastEnabled(type_, was_enabled_);
  SetAutocastDtype(type_, was_dtype_);
}

void KvCache::Compact(const torch::Tensor& keep) {
  for (auto& t : k) t = t.index_select(0, keep.to(t.device()));
  for (auto& t : v) t = t.index_select(0, keep.to(t.device()));
}

ModelConfig ResolveModelShape(const ModelConfig& cfg) {
  if (cfg.hf_folder().empty()) return cfg;
  const std::string file = cfg.hf_folder() + "/config.json";
  if (!FileExists(file)) throw InputError(file + ": no such file (model.hf_folder must be a Hugging Face model folder)");
  const LlamaConfig hf = ReadHfConfig(file);
  if (hf.head_dim * hf.num_heads != hf.hidden_size)
    throw ConfigError(file + ": head_dim: " + std::to_string(hf.head_dim) + " x num_attention_heads is not hidden_size " +
                      std::to_string(hf.hidden_size) + "; r1lab's model layer needs head_dim = hidden_size / heads");
  ModelConfig out = cfg;
  auto take = [&](bool has, int32_t value, int64_t from_file, const char* field, const char* hf_field,
                  void (ModelConfig::*set)(int32_t)) {
    if (has && value != from_file)
      throw ConfigError(std::string("model.") + field + ": " + std::to_string(value) + ", but " + file + " gives " +
                        hf_field + " " + std::to_string(from_file) + "; leave it unset with model.hf_folder");
    (out.*set)(static_cast<int32_t>(from_file));
  };
  take(cfg.has_d_model(), cfg.d_model(), hf.hidden_size, "d_model", "hidden_size", &ModelConfig::set_d_model);
  take(cfg.has_n_layers(), cfg.n_layers(), hf.num_layers, "n_layers", "num_hidden_layers", &ModelConfig::set_n_layers);
  take(cfg.has_n_heads(), cfg.n_heads(), hf.num_heads, "n_heads", "num_attention_heads", &ModelConfig::set_n_heads);
  take(cfg.has_d_ff(), cfg.d_ff(), hf.intermediate_size, "d_ff", "intermediate_size", &ModelConfig::set_d_ff);
  take(cfg.has_n_kv_heads(), cfg.n_kv_heads(), hf.num_kv_heads, "n_kv_heads", "num_key_value_heads",
       &ModelConfig::set_n_kv_heads);
  if (cfg.max_seq_len() > hf.max_position_embeddings)
    throw ConfigError("model.max_seq_len: " + std::to_string(cfg.max_seq_len()) + " exceeds " + file +
                      "'s max_position_embeddings " + std::to_string(hf.max_position_embeddings));
  return out;
}

uint64_t HfFolderHash(const std::string& folder) {
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(folder)) {
    const std::string n = e.path().filename().string();
    if (n == "config.json" || n == "generation_config.json" || n == "tokenizer.json" ||
        n.find(".safetensors") != std::string::npos)
      names.push_back(n);
  }
  std::sort(names.begin(), names.end());
  uint64_t h = Fnv64("");
  std::vector<char> buf(1 << 20);
  for (const std::string& n : names) {
    h = Fnv64(n + '\0', h);
    std::ifstream in(folder + "/" + n, std::ios::binary);
    if (!in) throw IoError(folder + "/" + n + ": cannot be read");
    while (in) {
      in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
      h = Fnv64(std::string_view(buf.data(), static_cast<size_t>(in.gcount())), h);
    }
  }
  return h;
}

int ModelVocab(const ModelConfig& cfg) {
  if (cfg.hf_folder().empty()) return Tokenizer::Get().vocab_size();
  return static_cast<int>(ReadHfConfig(cfg.hf_folder() + "/config.json").vocab_size);
}

TransformerImpl::TransformerImpl(const ModelConfig& cfg, int vocab_size)
    : cfg_(ResolveModelShape(cfg)), vocab_(vocab_size), tok_(&Tokenizer::For(cfg)) {
  const int64_t d = cfg_.d_model();
  if (!cfg.hf_folder().empty()) {
    hf_ = register_module("hf", LoadHfModel(cfg.hf_folder()));
    if (hf_->config().vocab_size != vocab_size)
      throw InternalError("a model of " + cfg.hf_folder() + " built with vocabulary " + std::to_string(vocab_size) +
                          " (its config.json has " + std::to_string(hf_->config().vocab_size) + "); use ModelVocab");
    if (tok_->vocab_size() > vocab_size)
      throw InputError(cfg.hf_folder() + "/tokenizer.json: " + std::to_string(tok_->vocab_size()) +
                       " tokens, more than config.json's vocab_size " + std::to_string(vocab_size));
    if (cfg.value_head()) value_head_ = register_module("value_head", torch::nn::Linear(d, 1));
    if (cfg.prm_head()) prm_head_ = register_module("prm_head", torch::nn::Linear(d, 1));
    Init();
    return;
  }
  tok_emb_ = register_module("tok_emb", torch::nn::Embedding(vocab_size, d));
  pos_emb_ = register_module("pos_emb", torch::nn::Embedding(cfg.max_seq_len(), d));
  for (int l = 0; l < cfg.n_layers(); ++l) {
    Block b;
    const std::string p = "block" + std::to_string(l) + "_";
    b.ln1 = register_module(p + "ln1", torch::nn::LayerNorm(torch::nn::LayerNormOptions({d})));
    b.qkv = register_module(p + "qkv", torch::nn::Linear(d, 3 * d));
    b.proj = register_module(p + "proj", torch::nn::Linear(d, d));
    b.ln2 = register_module(p + "ln2", torch::nn::LayerNorm(torch::nn::LayerNormOptions({d})));
    b.fc1 = register_module(p + "fc1", torch::nn::Linear(d, cfg.d_ff()));
    b.fc2 = register_module(p + "fc2", torch::nn::Linear(cfg.d_ff(), d));
    blocks_.push_back(b);
  }
  ln_f_ = register_module("ln_f", torch::nn::LayerNorm(torch::nn::LayerNormOptions({d})));
  if (cfg.value_head()) value_head_ = register_module("value_head", torch::nn::Linear(d, 1));
  if (cfg.prm_head()) prm_head_ = register_module("prm_head", torch::nn::Linear(d, 1));
  Init();
}

// GPT-2 initialisation from the config's own seed (never the global RNG):
// N(0, 0.02) weights, residual projections scaled by 1/sqrt(2L), zero biases.
void TransformerImpl::Init() {
  torch::NoGradGuard no_grad;
  auto gen = at::detail::createCPUGenerator(cfg_.init_seed());
  const double resid_std = 0.02 / std::sqrt(2.0 * cfg_.n_layers());
  for (auto& item : named_parameters()) {
    const std::string& name = item.key();
    torch::Tensor& p = item.value();
    if (name.rfind("hf.", 0) == 0) continue;  // a Hugging Face trunk keeps its weights
    const bool is_bias = name.size() >= 4 && name.compare(name.size() - 4, 4, "bias") == 0;
    if (name.find("ln") != std::string::npos) {
      p.fill_(is_bias ? 0.0 : 1.0);
    } else if (is_bias) {
      p.zero_();
    } else {
      const bool resid = name.find("proj") != std::string::npos || name.find("fc2") != std::string::npos;
      p.copy_(at::randn(p.sizes(), gen) * (resid ? resid_std : 0.02));
    }
  }
}

torch::Device TransformerImpl::device() const { return hf_ ? hf_->embedding().device() : tok_emb_->weight.device(); }
torch::Dtype TransformerImpl::dtype() const {
  return hf_ ? hf_->embedding().scalar_type() : tok_emb_->weight.scalar_type();
}

torch::Dtype TransformerImpl::cache_dtype() const { return mixed_precision() ? torch::kBFloat16 : dtype(); }

int64_t TransformerImpl::NumParameters() const {
  int64_t n = 0;
  for (const auto& p : parameters()) n += p.numel();
  return n;
}

KvCache TransformerImpl::NewCache(int64_t batch, int64_t capacity) const {
  KvCache c;
  if (hf_) {
    LlamaCache lc = hf_->NewCache(batch, capacity, cache_dtype());
    c.k = std::move(lc.k);
    c.v = std::move(lc.v);
    c.tiled = false;
    return c;
  }
  const int64_t h = cfg_.n_heads(), hd = cfg_.d_model() / cfg_.n_heads();
  auto opt = torch::TensorOptions().device(device()).dtype(cache_dtype());
  for (int l = 0; l < cfg_.n_layers(); ++l) {
    // Keys in transposed tiles (decode_attention.h); zeros, so the unused
    // lanes of a tile the kernel reads are never uninitialised memory.
    c.k.push_back(torch::zeros({batch, h, (capacity + kKeyTile - 1) / kKeyTile, hd, kKeyTile}, opt));
    c.v.push_back(torch::empty({batch, h, capacity, hd}, opt));
  }
  return c;
}

torch::Tensor TransformerImpl::LmHead(const torch::Tensor& h) {
  return hf_ ? hf_->Logits(h) : Linear(h, tok_emb_->weight, {});
}

ForwardOutput TransformerImpl::Outputs(const torch::Tensor& h) {
  ForwardOutput out;
  out.logits = Float(LmHead(h));
  if (value_head_) out.values = Float(value_head_->forward(h).squeeze(-1));
  if (prm_head_) out.prm_logits = Float(prm_head_->forward(h).squeeze(-1));
  return out;
}

ForwardOutput TransformerImpl::forward(const torch::Tensor& tokens_in, const torch::Tensor& start_in,
                                       KvCache* cache, bool last_position) {
  R1_CHECK(tokens_in.dim() == 2, "forward expects tokens [B, T]");
  const auto dev = device();
  const int64_t B = tokens_in.size(0), T = tokens_in.size(1);
  const int64_t d = cfg_.d_model(), H = cfg_.n_heads(), hd = d / H;
  if (T > cfg_.max_seq_len())
    throw InputError("sequence of " + std::to_string(T) + " tokens exceeds model.max_seq_len=" +
                     std::to_string(cfg_.max_seq_len()));
  if (cache) R1_CHECK(cache->capacity() >= T && cache->batch() == B, "cache too small for prefill");
  const PrecisionScope precision(*this);
  if (hf_) {
    LlamaCache lc;
    if (cache) lc = LlamaCache{cache->k, cache->v, 0};
    const torch::Tensor h = hf_->Hidden(tokens_in, start_in, cache ? &lc : nullptr);
    if (cache) cache->len = lc.len;
    return Outputs(last_position ? h.narrow(1, T - 1, 1) : h);
  }
  const torch::Tensor tokens = tokens_in.to(dev);
  auto lopt = torch::TensorOptions().device(dev).dtype(torch::kLong);
  const torch::Tensor ar = torch::arange(T, lopt).view({1, T});
  torch::Tensor start;  // [B] left padding, or undefined: none
  torch::Tensor pos = ar.expand({B, T});
  if (start_in.defined()) {
    start = start_in.to(dev).to(torch::kLong);
    pos = (ar - start.view({B, 1})).clamp_min(0);
  }
  torch::Tensor x = tok_emb_->forward(tokens) + pos_emb_->forward(pos);  // [B, T, d]
  const double scale = 1.0 / std::sqrt(static_cast<double>(hd));
  for (size_t l = 0; l < blocks_.size(); ++l) {
    Block& b = blocks_[l];
    const torch::Tensor qkv = Linear(b.ln1->forward(x), b.qkv->weight, b.qkv->bias);  // [B, T, 3d]
    if (cache) {
      const torch::Tensor heads = qkv.view({B, T, 3, H, hd}).permute({2, 0, 3, 1, 4});  // [3, B, H, T, hd]
      const int64_t tiles = (T + kKeyTile - 1) / kKeyTile;  // the last one padded with zeros
      const torch::Tensor keys = torch::constant_pad_nd(heads[1], {0, 0, 0, tiles * kKeyTile - T});
      cache->k[l].narrow(2, 0, tiles).copy_(keys.reshape({B, H, tiles, kKeyTile, hd}).transpose(3, 4));
      cache->v[l].narrow(2, 0, T).copy_(heads[2]);
    }
    const torch::Tensor y = CausalAttention(qkv, start, H, scale);  // [B, T, d]
    x = x + Linear(y, b.proj->weight, b.proj->bias);
    x = x + Linear(Gelu(Linear(b.ln2->forward(x), b.fc1->weight, b.fc1->bias)), b.fc2->weight, b.fc2->bias);
  }
  if (cache) cache->len = T;
  return Outputs(ln_f_->forward(last_position ? x.narrow(1, T - 1, 1) : x));
}

torch::Tensor TransformerImpl::DecodeStep(const torch::Tensor& tokens, const torch::Tensor& start, KvCache& cache) {
  torch::NoGradGuard no_grad;
  const PrecisionScope precision(*this);
  return Float(LmHead(DecodeTrunk(tokens, start, cache)));
}

ForwardOutput TransformerImpl::DecodeStepHeads(const torch::Tensor& tokens, const torch::Tensor& start,
                                               KvCache& cache) {
  torch::NoGradGuard no_grad;
  const PrecisionScope precision(*this);
  return Outputs(DecodeTrunk(tokens, start, cache));
}

torch::Tensor TransformerImpl::DecodeTrunk(const torch::Tensor& tokens_in, const torch::Tensor& start_in,
                                           KvCache& cache) {
  torch::NoGradGuard no_grad;
  const auto dev = device();
  const int64_t B = tokens_in.size(0), d = cfg_.d_model(), H = cfg_.n_heads(), hd = d / H;
  const int64_t t = cache.len;
  R1_CHECK(cache.batch() == B, "DecodeStep: cache batch differs from token batch");
  if (t >= cache.capacity() || t >= cfg_.max_seq_len())
    throw InputError("decoding past model.max_seq_len=" + std::to_string(cfg_.max_seq_len()));
  if (hf_) {
    LlamaCache lc{cache.k, cache.v, t};
    const torch::Tensor h = hf_->DecodeHidden(tokens_in, start_in, lc);
    cache.len = lc.len;
    return h;
  }
  const torch::Tensor tokens = tokens_in.to(dev);
  const torch::Tensor start = start_in.to(dev);
  const torch::Tensor pos = (t - start).clamp_min(0);
  torch::Tensor x = tok_emb_->forward(tokens) + pos_emb_->forward(pos);  // [B, d]
  const double scale = 1.0 / std::sqrt(static_cast<double>(hd));
  for (size_t l = 0; l < blocks_.size(); ++l) {
    Block& b = blocks_[l];
    torch::Tensor qkv = Linear(b.ln1->forward(x), b.qkv->weight, b.qkv->bias).view({B, 3, H, hd});
    torch::Tensor y = DecodeAttention(qkv, cache.k[l], cache.v[l], start, t, scale);  // [B, H, hd]
    x = x + Linear(y.view({B, d}), b.proj->weight, b.proj->bias);
    x = x + Linear(Gelu(Linear(b.ln2->forward(x), b.fc1->weight, b.fc1->bias)), b.fc2->weight, b.fc2->bias);
  }
  cache.len = t + 1;
  return ln_f_->forward(x);
}

Transformer MakeModel(const ModelConfig& cfg) { return MakeModel(cfg, ModelVocab(cfg)); }

Transformer MakeModel(const ModelConfig& cfg, int vocab_size) {
  const torch::Device dev = ConfigDevice(cfg);
  Transformer m(cfg, vocab_size);
  m->to(dev, ConfigDtype(cfg));
  return m;
}

void CopyWeights(Transformer& src, Transformer& dst, bool strict) {
  torch::NoGradGuard no_grad;
  auto s = src->named_parameters(), d = dst->named_parameters();
  if (strict) R1_CHECK(s.size() == d.size(), "CopyWeights: models differ");
  for (auto& item : d) {
    const torch::Tensor* from = s.find(item.key());
    if (from && from->sizes() == item.value().sizes()) item.value().copy_(*from);
    else R1_CHECK(!strict, "CopyWeights: no matching source for " + item.key());
  }
}

double TrainingStateBytes(Transformer& m) {
  double bytes = 0;
  for (const auto& p : m->parameters()) bytes += static_cast<double>(p.numel()) * p.element_size();
  return 3 * bytes;  // parameters + AdamW's two moments
}

TokenStats NextTokenStats(const torch::Tensor& logits, const torch::Tensor& tokens, double temperature) {
  const int64_t T = logits.size(1);
  torch::Tensor z = logits.narrow(1, 0, T - 1);
  if (temperature > 0 && temperature != 1.0) z = z / temperature;
  torch::Tensor logp = torch::log_softmax(z, -1);
  torch::Tensor next = tokens.to(logits.device()).narrow(1, 1, T - 1).unsqueeze(-1);
  TokenStats s;
  s.logprobs = logp.gather(-1, next).squeeze(-1);
  s.entropy = -(logp.exp() * logp).sum(-1);
  return s;
}

}  // namespace r1lab

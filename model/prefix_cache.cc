#include "prefix_cache.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cstring>

#include "cpu_kernels.h"
#include "decode_attention.h"
#include "error.h"
#include "tokenizer.h"

namespace r1lab {

PrefixKvStore::PrefixKvStore(Transformer model, bool reuse)
    : model_(model), reuse_(reuse), layers_(model->config().n_layers()),
      heads_(model->config().n_kv_heads() > 0 ? model->config().n_kv_heads() : model->config().n_heads()),
      head_dim_(model->config().d_model() / model->config().n_heads()) {}

int32_t PrefixKvStore::Child(int32_t node, int token) const {
  const auto it = children_.find(static_cast<int64_t>(node) * model_->vocab_size() + token);
  return it == children_.end() ? 0 : it->second;
}

int32_t PrefixKvStore::AddNode(int32_t parent, int token) {
  const int32_t id = static_cast<int32_t>(nodes_++);
  children_.emplace(static_cast<int64_t>(parent) * model_->vocab_size() + token, id);
  return id;
}

void PrefixKvStore::StoreRows(size_t first, const torch::Tensor& kv, const std::vector<int64_t>& src) {
  if (src.empty()) return;
  const int64_t need = static_cast<int64_t>(nodes_);
  if (!pool_.defined())
    pool_ = torch::zeros({std::max<int64_t>(need, 256), layers_, 2, heads_, head_dim_},
                         torch::TensorOptions().device(model_->device()).dtype(model_->cache_dtype()));
  if (need > pool_.size(0)) {
    torch::Tensor grown = torch::zeros({std::max(need, 2 * pool_.size(0)), layers_, 2, heads_, head_dim_},
                                       pool_.options());
    grown.narrow(0, 0, static_cast<int64_t>(first)).copy_(pool_.narrow(0, 0, static_cast<int64_t>(first)));
    pool_ = grown;
  }
  const torch::Tensor index = torch::tensor(src, torch::kLong).to(kv.device());
  pool_.narrow(0, static_cast<int64_t>(first), static_cast<int64_t>(src.size())).copy_(kv.index_select(0, index));
}

ForwardOutput PrefixKvStore::Last(const std::vector<std::vector<int>>& seqs, FlopCounter* flops, FlopPhase phase) {
  const ModelConfig& mc = model_->config();
  const int64_t B = static_cast<int64_t>(seqs.size());
  ForwardOutput out;
  const auto opt = torch::TensorOptions().dtype(model_->dtype());
  out.logits = torch::zeros({B, model_->vocab_size()}, opt);
  if (mc.value_head()) out.values = torch::zeros({B}, opt);
  if (mc.prm_head()) out.prm_logits = torch::zeros({B}, opt);
  if (seqs.empty()) return out;
  std::vector<size_t> fresh, extend;
  std::vector<std::vector<int32_t>> paths;
  for (size_t i = 0; i < seqs.size(); ++i) {
    const std::vector<int>& s = seqs[i];
    R1_CHECK(!s.empty(), "PrefixKvStore: an empty sequence");
    std::vector<int32_t> path;
    if (reuse_)
      for (size_t t = 0, node = 0; t + 1 < s.size(); ++t) {
        const int32_t c = Child(static_cast<int32_t>(node), s[t]);
        if (c == 0) break;
        path.push_back(c);
        node = static_cast<size_t>(c);
      }
    if (!path.empty() && path.size() + 1 == s.size()) {
      extend.push_back(i);
      paths.push_back(std::move(path));
      computed_ += 1;
      if (flops) flops->Add(phase, ForwardFlopsPerToken(mc, model_->vocab_size(), static_cast<double>(s.size())));
    } else {
      fresh.push_back(i);
      computed_ += static_cast<int64_t>(s.size());
      if (flops) flops->Add(phase, ForwardFlopsSequence(mc, model_->vocab_size(), static_cast<int64_t>(s.size())));
    }
  }
  model_->eval();
  torch::NoGradGuard no_grad;
  if (!fresh.empty()) Forward(seqs, fresh, &out);
  if (!extend.empty()) Extend(seqs, extend, paths, &out);
  return out;
}

namespace {

// Copies heads [n, ...] of `from` into rows `rows` of `to` (on the CPU).
void Scatter(const ForwardOutput& from, const std::vector<size_t>& rows, ForwardOutput* to) {
  std::vector<int64_t> r(rows.begin(), rows.end());
  const torch::Tensor index = torch::tensor(r, torch::kLong);
  to->logits.index_copy_(0, index, from.logits.to(torch::kCPU));
  if (to->values.defined()) to->values.index_copy_(0, index, from.values.to(torch::kCPU));
  if (to->prm_logits.defined()) to->prm_logits.index_copy_(0, index, from.prm_logits.to(torch::kCPU));
}

}  // namespace

void PrefixKvStore::Forward(const std::vector<std::vector<int>>& seqs, const std::vector<size_t>& rows,
                            ForwardOutput* out) {
  const int64_t n = static_cast<int64_t>(rows.size());
  int64_t T = 0;
  for (size_t r : rows) T = std::max<int64_t>(T, static_cast<int64_t>(seqs[r].size()));
  // Left-padded, so every row ends at position T - 1.
  torch::Tensor tokens = torch::full({n, T}, model_->tokenizer().pad(), torch::kLong);
  torch::Tensor start = torch::zeros({n}, torch::kLong);
  auto ta = tokens.accessor<int64_t, 2>();
  auto sa = start.accessor<int64_t, 1>();
  for (int64_t k = 0; k < n; ++k) {
    const std::vector<int>& s = seqs[rows[static_cast<size_t>(k)]];
    const int64_t pad = T - static_cast<int64_t>(s.size());
    sa[k] = pad;
    for (size_t t = 0; t < s.size(); ++t) ta[k][pad + static_cast<int64_t>(t)] = s[t];
  }
  KvCache cache;
  if (reuse_) cache = model_->NewCache(n, T);
  const ForwardOutput f = model_->forward(tokens, start, reuse_ ? &cache : nullptr);
  ForwardOutput last;
  last.logits = f.logits.select(1, T - 1);
  if (f.values.defined()) last.values = f.values.select(1, T - 1);
  if (f.prm_logits.defined()) last.prm_logits = f.prm_logits.select(1, T - 1);
  Scatter(last, rows, out);
  if (!reuse_) return;
  // Store every token not stored yet: its node, and its row in the cache.
  const size_t first = nodes_;
  std::vector<int64_t> src;
  for (int64_t k = 0; k < n; ++k) {
    const std::vector<int>& s = seqs[rows[static_cast<size_t>(k)]];
    const int64_t pad = T - static_cast<int64_t>(s.size());
    int32_t node = 0;
    for (size_t t = 0; t < s.size(); ++t) {
      int32_t c = Child(node, s[t]);
      if (c == 0) {
        c = AddNode(node, s[t]);
        src.push_back(k * T + pad + static_cast<int64_t>(t));
      }
      node = c;
    }
  }
  if (src.empty()) return;
  const int64_t tiles = (T + kKeyTile - 1) / kKeyTile;
  std::vector<torch::Tensor> per_layer;
  for (int64_t l = 0; l < layers_; ++l) {
    // [n, H, tiles, hd, 8] (or [n, H, T, hd]) -> [n, T, H, hd]
    const torch::Tensor& keys = cache.k[static_cast<size_t>(l)];
    const torch::Tensor k = (cache.tiled ? keys.narrow(2, 0, tiles)
                                               .transpose(3, 4)
                                               .reshape({n, heads_, tiles * kKeyTile, head_dim_})
                                               .narrow(2, 0, T)
                                         : keys.narrow(2, 0, T))
                                .permute({0, 2, 1, 3});
    const torch::Tensor v = cache.v[static_cast<size_t>(l)].narrow(2, 0, T).permute({0, 2, 1, 3});
    per_layer.push_back(torch::stack({k, v}, 2));  // [n, T, 2, H, hd]
  }
  const torch::Tensor kv = torch::stack(per_layer, 2).reshape({n * T, layers_, 2, heads_, head_dim_});
  StoreRows(first, kv, src);
}

namespace {

// Copies pool rows into a cache in one pass: row b's position p gets node
// index[b][p]'s keys (into their lane of the key tile) and values, every
// layer and head. Node 0 (padding) gets zero values (its keys are zero from
// NewCache): the fused float kernel never reads them, but LibTorch's decode
// attention (other dtypes) multiplies them by a zero weight, and
// uninitialised memory there can be NaN.
template <typename T>
void GatherRows(const T* pool, const int64_t* index, int64_t n, int64_t P, int64_t L, int64_t H, int64_t hd,
                const std::vector<T*>& kt, const std::vector<T*>& v, int64_t tiles, int64_t capacity) {
  const int64_t row = L * 2 * H * hd;
  at::parallel_for(0, n * L * H, 1, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      const int64_t b = i / (L * H), l = i / H % L, h = i % H;
      T* kd = kt[static_cast<size_t>(l)] + (b * H + h) * tiles * hd * kKeyTile;
      T* vd = v[static_cast<size_t>(l)] + (b * H + h) * capacity * hd;
      for (int64_t p = 0; p < P; ++p) {
        const int64_t node = index[b * P + p];
        if (node == 0) {
          std::memset(vd + p * hd, 0, static_cast<size_t>(hd) * sizeof(T));
          continue;
        }
        const T* ks = pool + node * row + (l * 2 * H + h) * hd;
        const T* vs = ks + H * hd;
        T* kp = kd + (p / kKeyTile) * hd * kKeyTile + p % kKeyTile;
        for (int64_t e = 0; e < hd; ++e) kp[e * kKeyTile] = ks[e];
        std::memcpy(vd + p * hd, vs, static_cast<size_t>(hd) * sizeof(T));
      }
    }
  });
}

}  // namespace

void PrefixKvStore::GatherCpu(const torch::Tensor& index, KvCache* cache) const {
  const int64_t n = index.size(0), P = index.size(1);
  AT_DISPATCH_FLOATING_TYPES(pool_.scalar_type(), "PrefixKvStore::GatherCpu", [&] {
    std::vector<scalar_t*> kt, v;
    for (size_t l = 0; l < cache->k.size(); ++l) {
      kt.push_back(cache->k[l].data_ptr<scalar_t>());
      v.push_back(cache->v[l].data_ptr<scalar_t>());
    }
    GatherRows<scalar_t>(pool_.data_ptr<scalar_t>(), index.data_ptr<int64_t>(), n, P, layers_, heads_, head_dim_, kt,
                         v, cache->k[0].size(2), cache->capacity());
  });
}

void PrefixKvStore::GatherReference(const torch::Tensor& index, KvCache* cache) const {
  const int64_t n = index.size(0), P = index.size(1);
  const torch::Tensor g =
      pool_.index_select(0, index.view({-1}).to(pool_.device())).view({n, P, layers_, 2, heads_, head_dim_});
  const int64_t tiles = (P + kKeyTile - 1) / kKeyTile;
  for (int64_t l = 0; l < layers_; ++l) {
    const torch::Tensor k = g.select(2, l).select(2, 0).permute({0, 2, 1, 3});  // [n, H, P, hd]
    if (!cache->tiled) {
      cache->k[static_cast<size_t>(l)].narrow(2, 0, P).copy_(k);
    } else {
      const torch::Tensor keys = torch::constant_pad_nd(k, {0, 0, 0, tiles * kKeyTile - P});
      cache->k[static_cast<size_t>(l)].narrow(2, 0, tiles).copy_(
          keys.reshape({n, heads_, tiles, kKeyTile, head_dim_}).transpose(3, 4));
    }
    cache->v[static_cast<size_t>(l)].narrow(2, 0, P).copy_(g.select(2, l).select(2, 1).permute({0, 2, 1, 3}));
  }
}

void PrefixKvStore::Extend(const std::vector<std::vector<int>>& seqs, const std::vector<size_t>& rows,
                           const std::vector<std::vector<int32_t>>& paths, ForwardOutput* out) {
  const int64_t n = static_cast<int64_t>(rows.size());
  int64_t P = 0;  // the longest stored prefix; row k's starts at P - its length
  for (const auto& p : paths) P = std::max<int64_t>(P, static_cast<int64_t>(p.size()));
  torch::Tensor index = torch::zeros({n, P}, torch::kLong);  // node 0: zeros, masked
  torch::Tensor start = torch::zeros({n}, torch::kLong);
  torch::Tensor last = torch::zeros({n}, torch::kLong);
  auto ia = index.accessor<int64_t, 2>();
  auto sa = start.accessor<int64_t, 1>();
  auto la = last.accessor<int64_t, 1>();
  for (int64_t k = 0; k < n; ++k) {
    const std::vector<int32_t>& p = paths[static_cast<size_t>(k)];
    const int64_t pad = P - static_cast<int64_t>(p.size());
    sa[k] = pad;
    la[k] = seqs[rows[static_cast<size_t>(k)]].back();
    for (size_t t = 0; t < p.size(); ++t) ia[k][pad + static_cast<int64_t>(t)] = p[t];
  }
  KvCache cache = model_->NewCache(n, P + 1);
  if (cache.tiled && pool_.is_cpu() && !ReferenceKernels() && !model_->mixed_precision())
    GatherCpu(index, &cache);
  else
    GatherReference(index, &cache);
  cache.len = P;
  Scatter(model_->DecodeStepHeads(last, start, cache), rows, out);
  // Store each row's last token (once, if two rows share it).
  const size_t first = nodes_;
  std::vector<int64_t> src;
  for (int64_t k = 0; k < n; ++k) {
    const int token = seqs[rows[static_cast<size_t>(k)]].back();
    const int32_t parent = paths[static_cast<size_t>(k)].back();
    if (Child(parent, token) != 0) continue;
    AddNode(parent, token);
    src.push_back(k);
  }
  if (src.empty()) return;
  std::vector<torch::Tensor> per_layer;
  for (int64_t l = 0; l < layers_; ++l) {
    const torch::Tensor& keys = cache.k[static_cast<size_t>(l)];
    const torch::Tensor k = cache.tiled ? keys.select(2, P / kKeyTile).select(3, P % kKeyTile) : keys.select(2, P);
    const torch::Tensor v = cache.v[static_cast<size_t>(l)].select(2, P);
    per_layer.push_back(torch::stack({k, v}, 1));  // [n, 2, H, hd]
  }
  StoreRows(first, torch::stack(per_layer, 1), src);
}

}  // namespace r1lab

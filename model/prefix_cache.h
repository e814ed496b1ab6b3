// The keys and values of every token prefix a model has already read, kept
// in a trie, so that the model's output at the end of a sequence whose
// prefix it read before costs one decoding step instead of a forward pass
// over the whole sequence. Tree search forks this way: a child node is its
// parent's text plus one token, so its evaluation continues from the
// parent's keys and values (AlphaZero-style engines keep the position, not
// the move list).
//
// Each trie node holds one token's keys and values for every layer (2 x
// n_layers x d_model numbers: 2.3 KB for the default model). A batch of
// sequences is served in at most two passes: sequences whose prefix (all
// but the last token) is stored take one batched decoding step over the
// gathered keys and values; the others (a prompt seen for the first time)
// take one left-padded forward pass, and every token it read is stored.
// Both give the model's output at the last position, equal to a full
// forward's up to floating-point rounding.
#pragma once

#include <cstdint>
#include <unordered_map>
#include <vector>

#include "flops.h"
#include "transformer.h"

namespace r1lab {

class PrefixKvStore {
 public:
  // reuse false: every sequence is a full forward and nothing is stored
  // (the recomputing baseline, for benchmarks and tests).
  explicit PrefixKvStore(Transformer model, bool reuse = true);

  // The heads at the last position of each sequence (token ids, <bos>
  // first, non-empty): logits [B, V] and, if the model has them, values and
  // prm_logits [B], on the CPU in the model's dtype. The forward FLOPs of the tokens
  // actually computed go to `flops` under `phase`.
  ForwardOutput Last(const std::vector<std::vector<int>>& seqs, FlopCounter* flops, FlopPhase phase);

  // Tokens whose keys and values are stored, and tokens run through the
  // model since construction.
  int64_t stored() const { return static_cast<int64_t>(nodes_) - 1; }
  int64_t computed() const { return computed_; }

 private:
  // The trie node reached from `node` by `token`, or 0 (none).
  int32_t Child(int32_t node, int token) const;
  // A new trie node below `parent` by `token` (its row is written later).
  int32_t AddNode(int32_t parent, int token);
  // Writes kv[src[j]] ([*, L, 2, H, hd]) into pool row first + j, growing the pool.
  void StoreRows(size_t first, const torch::Tensor& kv, const std::vector<int64_t>& src);
  // Full forward of `rows` (indices into seqs), storing what it read.
  void Forward(const std::vector<std::vector<int>>& seqs, const std::vector<size_t>& rows, ForwardOutput* out);
  // One decoding step per row, from its stored prefix (node ids per position).
  void Extend(const std::vector<std::vector<int>>& seqs, const std::vector<size_t>& rows,
              const std::vector<std::vector<int32_t>>& paths, ForwardOutput* out);

  // Fills cache positions [0, P) of each row from the pool (index [n, P] of
  // node ids, 0 = padding): one fused pass on CPU; LibTorch ops elsewhere
  // (and under SetReferenceKernels).
  void GatherCpu(const torch::Tensor& index, KvCache* cache) const;
  void GatherReference(const torch::Tensor& index, KvCache* cache) const;

  Transformer model_;
  bool reuse_;
  int64_t layers_, heads_, head_dim_;
  // [capacity, L, 2, H, hd], allocated at the first store; row 0 is the root
  // (zeros, used for padding).
  torch::Tensor pool_;
  size_t nodes_ = 1;
  std::unordered_map<int64_t, int32_t> children_;  // parent * vocab + token -> node
  int64_t computed_ = 0;
};

}  // namespace r1lab

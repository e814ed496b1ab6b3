// Attention of one new query per row over a KV cache, after appending the
// new key and value at position t.
//
// qkv [B, 3, H, hd]: the new position's queries, keys and values as the QKV
// projection writes them; kt [B, H, ceil(capacity / kKeyTile), hd, kKeyTile]:
// keys in tiles of kKeyTile positions, each tile transposed; v [B, H, capacity,
// hd]. Writes qkv's keys and values into kt and v at position t, then row b
// attends to keys [start[b], t] inclusive (start [B] int64). Returns [B, H, hd].
//
// On CPU in float32 this is a fused kernel, parallel over B*H: per (row,
// head) it writes the new key and value and makes one pass over K and V,
// four (row, head) pairs interleaved so that several memory streams are in
// flight. Keys are stored in transposed tiles so the scores of 8 keys
// accumulate as one vector (no horizontal sums over a 24-wide head) and the
// keys read are contiguous whatever t is (keys transposed whole, [hd,
// capacity], were read as hd partial rows: 2.2-2.7x slower at t = 72 of
// 136); the softmax's exp is a vectorised polynomial. LibTorch's
// batched matmul over 1-row products runs at ~2 GFLOP/s here
// (../shared/CALIBRATION.md). Other devices and dtypes use LibTorch ops with
// the same semantics.
#pragma once

#include <torch/torch.h>

namespace r1lab {

constexpr int64_t kKeyTile = 8;

torch::Tensor DecodeAttention(const torch::Tensor& qkv, torch::Tensor& kt, torch::Tensor& v, const torch::Tensor& start,
                              int64_t t, double scale);

}  // namespace r1lab

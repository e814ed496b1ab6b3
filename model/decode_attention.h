// Attention of one new query per row over a KV cache.
//
// q [B, H, hd]; kt [B, H, ceil(capacity / kKeyTile), hd, kKeyTile]: keys in
// tiles of kKeyTile positions, each tile transposed; v [B, H, capacity, hd];
// start [B] int64: row b attends to keys [start[b], t] inclusive. Returns [B, H, hd].
//
// On CPU in float32 this is a fused kernel: one pass over K and V per
// (row, head), parallel over B*H. Keys are stored in transposed tiles so the
// scores of 8 keys accumulate as one vector (no horizontal sums over a
// 24-wide head) and the keys read are contiguous whatever t is (keys
// transposed whole, [hd, capacity], were read as hd partial rows: 2.2-2.7x
// slower at t = 72 of 136); the softmax's exp is a vectorised polynomial. LibTorch's
// batched matmul over 1-row products runs at ~2 GFLOP/s here
// (../shared/CALIBRATION.md). Other devices and dtypes use LibTorch ops with
// the same semantics.
#pragma once

#include <torch/torch.h>

namespace r1lab {

constexpr int64_t kKeyTile = 8;

torch::Tensor DecodeAttention(const torch::Tensor& q, const torch::Tensor& kt, const torch::Tensor& v,
                              const torch::Tensor& start, int64_t t, double scale);

}  // namespace r1lab

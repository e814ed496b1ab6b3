// The transformer's heavy operations with autograd, for whole sequences
// (training, scoring, prefill) and decoding: a linear layer, causal
// multi-head attention and the GELU.
//
// r1lab runs OpenBLAS single-threaded inside LibTorch's OpenMP pool
// (threads.h), so a plain torch::linear on a [9728, 96] x [96, 384] training
// GEMM runs on one core, and the attention's batched products over 24-wide
// heads run one small GEMM after another on one core. Here, on CPU in float32
// and float64, each GEMM is split across the pool instead: the linear layer by
// blocks of rows (forward and input gradient) and by output features (weight
// gradient); attention by (row, head), with its mask, scale, softmax and
// backward fused around per-head BLAS calls; the GELU by elements, with a
// vectorised erfc. BENCHMARKS.md (2026-12-02) has the measured gain. Other devices and dtypes use LibTorch ops with the same
// semantics (they are also the reference the tests compare against).
#pragma once

#include <torch/torch.h>

namespace r1lab {

// x [..., in] -> [..., out]: x W^T + b (b may be undefined).
torch::Tensor Linear(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b);

// qkv [B, T, 3 * H * hd]: per position the queries, keys and values of every
// head, as the QKV projection writes them. start [B] int64 (may be undefined:
// all zero): row b's keys before start[b] are left padding and masked; a
// padding query attends to itself only, so no row is fully masked. Causal.
// Returns [B, T, H * hd]: each head's output at its place in the model width.
torch::Tensor CausalAttention(const torch::Tensor& qkv, const torch::Tensor& start, int64_t heads, double scale);

// The exact (erf) GELU, elementwise, across the pool.
torch::Tensor Gelu(const torch::Tensor& x);

// Process-wide switch routing Linear, CausalAttention and Gelu to the
// reference versions below: for `r1lab bench`'s side-by-side rows and tests.
void SetReferenceKernels(bool on);
bool ReferenceKernels();

// The same with LibTorch ops only (any device and dtype).
torch::Tensor LinearReference(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b);
torch::Tensor GeluReference(const torch::Tensor& x);
torch::Tensor CausalAttentionReference(const torch::Tensor& qkv, const torch::Tensor& start, int64_t heads,
                                       double scale);

}  // namespace r1lab

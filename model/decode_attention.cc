#include "decode_attention.h"

#include <ATen/Parallel.h>
#include <ATen/record_function.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "vec_math.h"

namespace r1lab {

namespace {

// Keys are stored in transposed tiles ([tiles, hd, kKeyTile] per row and
// head): the scores of a tile's keys accumulate as one vector, one head
// dimension at a time, reading the tiles in order.
//
// The kernel is bound by memory bandwidth at B = 256 (K and V exceed the
// last-level cache), and one (row, head) at a time is a single stream of
// short reads. So kStreams (row, head) pairs go together, tile by tile and
// value row by value row: that many streams in flight at once (medians of 15
// alternations in a microbenchmark at B = 256: 1.1-1.5x faster at t = 72 and
// 135, no change at t = 40 where K and V fit in cache; same results bit for bit).
constexpr int64_t kStreams = 4;

// Each (row, head) first writes its new key and value at position t, then
// reads them back with the rest: one pass, no separate cache copies.
void FusedCpu(const float* qkv, float* kt, float* v, const int64_t* start, int64_t B, int64_t H, int64_t tiles,
              int64_t cap, int64_t hd, int64_t t, float scale, float* out) {
  const int64_t BH = B * H, span = (t / kKeyTile + 1) * kKeyTile;
  at::parallel_for(0, (BH + kStreams - 1) / kStreams, 2, [&](int64_t g0, int64_t g1) {
    std::vector<float> scores(kStreams * span), qs(kStreams * hd);
    for (int64_t g = g0; g < g1; ++g) {
      const int64_t first = g * kStreams, count = std::min(kStreams, BH - first);
      int64_t s0[kStreams], n[kStreams], used[kStreams], max_used = 0, max_n = 0;
      const float* kp[kStreams];
      const float* vp[kStreams];
      float* p[kStreams];  // scores of keys s0 .. t
      for (int64_t u = 0; u < count; ++u) {
        const int64_t bh = first + u, b = bh / H, h = bh % H;
        const float* q = qkv + (b * 3 * H + h) * hd;  // qkv [B, 3, H, hd]
        const float* new_k = q + H * hd;
        const float* new_v = q + 2 * H * hd;
        float* k_slot = kt + ((bh * tiles + t / kKeyTile) * hd) * kKeyTile + t % kKeyTile;
        for (int64_t c = 0; c < hd; ++c) k_slot[c * kKeyTile] = new_k[c];
        std::copy(new_v, new_v + hd, v + (bh * cap + t) * hd);
        for (int64_t c = 0; c < hd; ++c) qs[u * hd + c] = q[c] * scale;
        s0[u] = start[b];
        n[u] = t + 1 - s0[u];
        const int64_t first_tile = s0[u] / kKeyTile;
        used[u] = t / kKeyTile + 1 - first_tile;
        kp[u] = kt + (bh * tiles + first_tile) * hd * kKeyTile;
        vp[u] = v + (bh * cap + s0[u]) * hd;
        p[u] = scores.data() + u * span + (s0[u] - first_tile * kKeyTile);
        max_used = std::max(max_used, used[u]);
        max_n = std::max(max_n, n[u]);
      }
      for (int64_t i = 0; i < max_used; ++i)
        for (int64_t u = 0; u < count; ++u) {
          if (i >= used[u]) continue;
          const float* ki = kp[u] + i * hd * kKeyTile;
          const float* qu = qs.data() + u * hd;
          float acc[kKeyTile] = {};  // one vector register
          for (int64_t c = 0; c < hd; ++c) {
#pragma omp simd
            for (int64_t l = 0; l < kKeyTile; ++l) acc[l] += qu[c] * ki[c * kKeyTile + l];
          }
          std::copy(acc, acc + kKeyTile, scores.data() + u * span + i * kKeyTile);
        }
      for (int64_t u = 0; u < count; ++u) {
        float* pu = p[u];
        float m = -std::numeric_limits<float>::infinity();
        for (int64_t j = 0; j < n[u]; ++j) m = pu[j] > m ? pu[j] : m;
#pragma omp simd
        for (int64_t j = 0; j < n[u]; ++j) pu[j] = ExpNonPositive(pu[j] - m);
        float sum = 0;
#pragma omp simd reduction(+ : sum)
        for (int64_t j = 0; j < n[u]; ++j) sum += pu[j];
        const float inv = 1.0f / sum;
#pragma omp simd
        for (int64_t j = 0; j < n[u]; ++j) pu[j] *= inv;
        std::fill(out + (first + u) * hd, out + (first + u + 1) * hd, 0.0f);
      }
      for (int64_t j = 0; j < max_n; ++j)
        for (int64_t u = 0; u < count; ++u) {
          if (j >= n[u]) continue;
          const float w = p[u][j];
          const float* vj = vp[u] + j * hd;
          float* op = out + (first + u) * hd;
#pragma omp simd
          for (int64_t c = 0; c < hd; ++c) op[c] += w * vj[c];
        }
    }
  });
}

}  // namespace

torch::Tensor DecodeAttention(const torch::Tensor& qkv, torch::Tensor& kt, torch::Tensor& v, const torch::Tensor& start,
                              int64_t t, double scale) {
  const int64_t B = qkv.size(0), H = qkv.size(2), hd = qkv.size(3), tiles = kt.size(2), cap = v.size(2);
  if (qkv.device().is_cpu() && qkv.scalar_type() == torch::kFloat32 && kt.scalar_type() == torch::kFloat32 &&
      v.scalar_type() == torch::kFloat32 && qkv.is_contiguous() && kt.is_contiguous() && v.is_contiguous()) {
    RECORD_FUNCTION("r1lab::decode_attention", std::vector<c10::IValue>());
    const torch::Tensor s = start.to(torch::kLong).contiguous();
    torch::Tensor out = torch::empty({B, H, hd}, qkv.options());
    FusedCpu(qkv.data_ptr<float>(), kt.data_ptr<float>(), v.data_ptr<float>(), s.data_ptr<int64_t>(), B, H, tiles,
             cap, hd, t, static_cast<float>(scale), out.data_ptr<float>());
    return out;
  }
  kt.select(2, t / kKeyTile).select(3, t % kKeyTile).copy_(qkv.select(1, 1));
  v.select(2, t).copy_(qkv.select(1, 2));
  const torch::Tensor ks = kt.permute({0, 1, 3, 2, 4}).reshape({B, H, hd, tiles * kKeyTile}).narrow(3, 0, t + 1);
  const torch::Tensor vs = v.narrow(2, 0, t + 1);  // ks [B, H, hd, t+1], vs [B, H, t+1, hd]
  torch::Tensor scores = torch::matmul(qkv.select(1, 0).unsqueeze(-2), ks).squeeze(-2) * scale;  // [B, H, t+1]
  const torch::Tensor keys = torch::arange(t + 1, start.options().device(qkv.device()).dtype(torch::kLong));
  const torch::Tensor masked = keys.view({1, 1, t + 1}) < start.to(qkv.device()).view({B, 1, 1});
  scores = scores.masked_fill(masked, -std::numeric_limits<double>::infinity()).softmax(-1);
  return torch::matmul(scores.unsqueeze(-2), vs).squeeze(-2);
}

}  // namespace r1lab

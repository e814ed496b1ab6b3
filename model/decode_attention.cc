#include "decode_attention.h"

#include <ATen/Parallel.h>
#include <ATen/record_function.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

namespace r1lab {

namespace {

// exp(x) for x <= 0 (scores minus their max), written so the compiler
// vectorises it: range reduction x = k ln2 + r, |r| <= ln2/2, a degree-6
// polynomial for e^r (relative error ~1e-7), and 2^k from the exponent bits.
void ExpNonPositive(float* x, int64_t n) {
  constexpr float kLog2e = 1.44269504f, kLn2Hi = 0.693359375f, kLn2Lo = -2.12194440e-4f;
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) {
    const float v = x[i] < -87.0f ? -87.0f : x[i];
    const float k = std::floor(v * kLog2e + 0.5f);
    const float r = (v - k * kLn2Hi) - k * kLn2Lo;
    const float p =
        1.0f + r * (1.0f + r * (0.5f + r * (1.0f / 6 + r * (1.0f / 24 + r * (1.0f / 120 + r * (1.0f / 720))))));
    const int32_t bits = (static_cast<int32_t>(k) + 127) << 23;
    float scale;
    std::memcpy(&scale, &bits, sizeof scale);
    x[i] = p * scale;
  }
}

// Keys are stored in transposed tiles ([tiles, hd, kKeyTile] per row and
// head): the scores of a tile's keys accumulate as one vector, one head
// dimension at a time, reading the tiles in order.
void FusedCpu(const float* q, const float* kt, const float* v, const int64_t* start, int64_t B, int64_t H,
              int64_t tiles, int64_t cap, int64_t hd, int64_t t, float scale, float* out) {
  at::parallel_for(0, B * H, 8, [&](int64_t begin, int64_t end) {
    std::vector<float> buf((t / kKeyTile + 1) * kKeyTile);
    for (int64_t bh = begin; bh < end; ++bh) {
      const int64_t s0 = start[bh / H], n = t + 1 - s0;
      const int64_t first_tile = s0 / kKeyTile, used = t / kKeyTile + 1 - first_tile;
      const float* qp = q + bh * hd;
      const float* kp = kt + (bh * tiles + first_tile) * hd * kKeyTile;
      const float* vp = v + (bh * cap + s0) * hd;
      for (int64_t i = 0; i < used; ++i) {
        const float* ki = kp + i * hd * kKeyTile;
        float acc[kKeyTile] = {};  // one vector register
        for (int64_t c = 0; c < hd; ++c) {
          const float qc = qp[c] * scale;
#pragma omp simd
          for (int64_t l = 0; l < kKeyTile; ++l) acc[l] += qc * ki[c * kKeyTile + l];
        }
        for (int64_t l = 0; l < kKeyTile; ++l) buf[i * kKeyTile + l] = acc[l];
      }
      float* p = buf.data() + (s0 - first_tile * kKeyTile);  // key s0 .. t
      float m = -std::numeric_limits<float>::infinity();
      for (int64_t j = 0; j < n; ++j) m = p[j] > m ? p[j] : m;
#pragma omp simd
      for (int64_t j = 0; j < n; ++j) p[j] -= m;
      ExpNonPositive(p, n);
      float sum = 0;
#pragma omp simd reduction(+ : sum)
      for (int64_t j = 0; j < n; ++j) sum += p[j];
      const float inv = 1.0f / sum;
      float* op = out + bh * hd;
      for (int64_t c = 0; c < hd; ++c) op[c] = 0;
      for (int64_t j = 0; j < n; ++j) {
        const float w = p[j] * inv;
        const float* vj = vp + j * hd;
#pragma omp simd
        for (int64_t c = 0; c < hd; ++c) op[c] += w * vj[c];
      }
    }
  });
}

}  // namespace

torch::Tensor DecodeAttention(const torch::Tensor& q_in, const torch::Tensor& kt, const torch::Tensor& v,
                              const torch::Tensor& start, int64_t t, double scale) {
  const int64_t B = q_in.size(0), H = q_in.size(1), hd = q_in.size(2), tiles = kt.size(2), cap = v.size(2);
  if (q_in.device().is_cpu() && q_in.scalar_type() == torch::kFloat32 && kt.is_contiguous() &&
      v.is_contiguous()) {
    RECORD_FUNCTION("r1lab::decode_attention", std::vector<c10::IValue>());
    const torch::Tensor q = q_in.contiguous();
    const torch::Tensor s = start.to(torch::kLong).contiguous();
    torch::Tensor out = torch::empty({B, H, hd}, q.options());
    FusedCpu(q.data_ptr<float>(), kt.data_ptr<float>(), v.data_ptr<float>(), s.data_ptr<int64_t>(), B, H, tiles, cap,
             hd, t, static_cast<float>(scale), out.data_ptr<float>());
    return out;
  }
  const torch::Tensor ks = kt.permute({0, 1, 3, 2, 4}).reshape({B, H, hd, tiles * kKeyTile}).narrow(3, 0, t + 1);
  const torch::Tensor vs = v.narrow(2, 0, t + 1);  // ks [B, H, hd, t+1], vs [B, H, t+1, hd]
  torch::Tensor scores = torch::matmul(q_in.unsqueeze(-2), ks).squeeze(-2) * scale;  // [B, H, t+1]
  const torch::Tensor keys = torch::arange(t + 1, start.options().device(q_in.device()).dtype(torch::kLong));
  const torch::Tensor masked = keys.view({1, 1, t + 1}) < start.to(q_in.device()).view({B, 1, 1});
  scores = scores.masked_fill(masked, -std::numeric_limits<double>::infinity()).softmax(-1);
  return torch::matmul(scores.unsqueeze(-2), vs).squeeze(-2);
}

}  // namespace r1lab

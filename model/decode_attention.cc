#include "decode_attention.h"

#include <ATen/Parallel.h>

#include <cmath>
#include <limits>
#include <vector>

namespace r1lab {

namespace {

void FusedCpu(const float* q, const float* k, const float* v, const int64_t* start, int64_t B, int64_t H,
              int64_t cap, int64_t hd, int64_t t, float scale, float* out) {
  at::parallel_for(0, B * H, 8, [&](int64_t begin, int64_t end) {
    std::vector<float> p(t + 1);
    for (int64_t bh = begin; bh < end; ++bh) {
      const int64_t s0 = start[bh / H];
      const float* qp = q + bh * hd;
      const float* kp = k + bh * cap * hd;
      const float* vp = v + bh * cap * hd;
      float m = -std::numeric_limits<float>::infinity();
      for (int64_t j = s0; j <= t; ++j) {
        const float* kj = kp + j * hd;
        float s = 0;
#pragma omp simd reduction(+ : s)
        for (int64_t c = 0; c < hd; ++c) s += qp[c] * kj[c];
        s *= scale;
        p[j] = s;
        m = s > m ? s : m;
      }
      float sum = 0;
      for (int64_t j = s0; j <= t; ++j) {
        p[j] = std::exp(p[j] - m);
        sum += p[j];
      }
      const float inv = 1.0f / sum;
      float* op = out + bh * hd;
      for (int64_t c = 0; c < hd; ++c) op[c] = 0;
      for (int64_t j = s0; j <= t; ++j) {
        const float w = p[j] * inv;
        const float* vj = vp + j * hd;
#pragma omp simd
        for (int64_t c = 0; c < hd; ++c) op[c] += w * vj[c];
      }
    }
  });
}

}  // namespace

torch::Tensor DecodeAttention(const torch::Tensor& q_in, const torch::Tensor& k, const torch::Tensor& v,
                              const torch::Tensor& start, int64_t t, double scale) {
  const int64_t B = q_in.size(0), H = q_in.size(1), hd = q_in.size(2), cap = k.size(2);
  if (q_in.device().is_cpu() && q_in.scalar_type() == torch::kFloat32 && k.is_contiguous() &&
      v.is_contiguous()) {
    const torch::Tensor q = q_in.contiguous();
    const torch::Tensor s = start.to(torch::kLong).contiguous();
    torch::Tensor out = torch::empty({B, H, hd}, q.options());
    FusedCpu(q.data_ptr<float>(), k.data_ptr<float>(), v.data_ptr<float>(), s.data_ptr<int64_t>(), B, H, cap, hd,
             t, static_cast<float>(scale), out.data_ptr<float>());
    return out;
  }
  const torch::Tensor ks = k.narrow(2, 0, t + 1), vs = v.narrow(2, 0, t + 1);  // [B, H, t+1, hd]
  torch::Tensor scores = torch::matmul(ks, q_in.unsqueeze(-1)).squeeze(-1) * scale;  // [B, H, t+1]
  const torch::Tensor keys = torch::arange(t + 1, start.options().device(q_in.device()).dtype(torch::kLong));
  const torch::Tensor masked = keys.view({1, 1, t + 1}) < start.to(q_in.device()).view({B, 1, 1});
  scores = scores.masked_fill(masked, -std::numeric_limits<double>::infinity()).softmax(-1);
  return torch::matmul(scores.unsqueeze(-2), vs).squeeze(-2);
}

}  // namespace r1lab

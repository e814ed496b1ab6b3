#include "cpu_kernels.h"

#include "autocast.h"

#include <ATen/Parallel.h>
#include <ATen/record_function.h>
#include <cblas.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "error.h"
#include "vec_math.h"

namespace r1lab {

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// Rows per parallel task of a linear layer: blocks this small also keep each
// GEMM's operands in cache (one thread on a [9728, 96] x [96, 384] product ran
// at about half the rate of the same product in 2048-row pieces).
constexpr int64_t kRowGrain = 128;

// Row-major C = alpha op(A) op(B) + beta C on the calling thread.
void Gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
          const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, static_cast<int>(m),
              static_cast<int>(n), static_cast<int>(k), alpha, a, static_cast<int>(lda), b, static_cast<int>(ldb),
              beta, c, static_cast<int>(ldc));
}
void Gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, double alpha, const double* a, int64_t lda,
          const double* b, int64_t ldb, double beta, double* c, int64_t ldc) {
  cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, static_cast<int>(m),
              static_cast<int>(n), static_cast<int>(k), alpha, a, static_cast<int>(lda), b, static_cast<int>(ldb),
              beta, c, static_cast<int>(ldc));
}

std::atomic<bool> g_reference{false};

// The kernels' domain: CPU, float32 or float64, sizes BLAS's int arguments
// hold, and no autocast (under it, LibTorch's ops compute in bfloat16).
bool Fast(const torch::Tensor& t) {
  const auto type = t.scalar_type();
  return !g_reference.load(std::memory_order_relaxed) && t.device().is_cpu() &&
         (type == torch::kFloat32 || type == torch::kFloat64) && t.numel() < std::numeric_limits<int>::max() &&
         !CpuAutocast();
}

// ---- linear ------------------------------------------------------------------

// y [M, out] = x [M, in] W^T (+ b), in row blocks across the pool.
template <typename T>
void LinearForward(const T* x, const T* w, const T* b, T* y, int64_t M, int64_t in, int64_t out) {
  at::parallel_for(0, M, kRowGrain, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; r += kRowGrain) {
      const int64_t rows = std::min(kRowGrain, r1 - r);
      T* yr = y + r * out;
      if (b)
        for (int64_t i = 0; i < rows; ++i) std::copy(b, b + out, yr + i * out);
      Gemm(false, true, rows, out, in, T(1), x + r * in, in, w, in, b ? T(1) : T(0), yr, out);
    }
  });
}

// gx [M, in] = gy [M, out] W; gW [out, in] = gy^T x, split by output feature.
template <typename T>
void LinearBackward(const T* x, const T* w, const T* gy, T* gx, T* gw, int64_t M, int64_t in, int64_t out) {
  if (gx)
    at::parallel_for(0, M, kRowGrain, [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; r += kRowGrain) {
        const int64_t rows = std::min(kRowGrain, r1 - r);
        Gemm(false, false, rows, in, out, T(1), gy + r * out, out, w, in, T(0), gx + r * in, in);
      }
    });
  if (gw)
    at::parallel_for(0, out, 16, [&](int64_t o0, int64_t o1) {
      Gemm(true, false, o1 - o0, in, M, T(1), gy + o0, out, x, in, T(0), gw + o0 * in, in);
    });
}

// x and w contiguous; b contiguous or undefined.
torch::Tensor LinearForwardTensor(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b) {
  RECORD_FUNCTION("r1lab::linear", std::vector<c10::IValue>());
  const int64_t in = w.size(1), out = w.size(0), M = x.numel() / in;
  std::vector<int64_t> shape = x.sizes().vec();
  shape.back() = out;
  torch::Tensor y = torch::empty(shape, x.options());
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "Linear", [&] {
    LinearForward<scalar_t>(x.data_ptr<scalar_t>(), w.data_ptr<scalar_t>(),
                            b.defined() ? b.data_ptr<scalar_t>() : nullptr, y.data_ptr<scalar_t>(), M, in, out);
  });
  return y;
}

struct LinearFn : torch::autograd::Function<LinearFn> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x_in, const torch::Tensor& w_in,
                               const torch::Tensor& b_in) {
    const torch::Tensor x = x_in.contiguous(), w = w_in.contiguous();
    const torch::Tensor b = b_in.numel() > 0 ? b_in.contiguous() : torch::Tensor();
    ctx->save_for_backward({x, w});
    ctx->saved_data["bias"] = b.defined();
    return LinearForwardTensor(x, w, b);
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    RECORD_FUNCTION("r1lab::linear_backward", std::vector<c10::IValue>());
    const variable_list saved = ctx->get_saved_variables();
    const torch::Tensor &x = saved[0], &w = saved[1];
    const torch::Tensor gy = grads[0].contiguous();
    const int64_t in = w.size(1), out = w.size(0), M = x.numel() / in;
    const bool need_x = ctx->needs_input_grad(0), need_w = ctx->needs_input_grad(1);
    torch::Tensor gx = need_x ? torch::empty_like(x) : torch::Tensor();
    torch::Tensor gw = need_w ? torch::empty_like(w) : torch::Tensor();
    AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "LinearBackward", [&] {
      LinearBackward<scalar_t>(x.data_ptr<scalar_t>(), w.data_ptr<scalar_t>(), gy.data_ptr<scalar_t>(),
                               need_x ? gx.data_ptr<scalar_t>() : nullptr, need_w ? gw.data_ptr<scalar_t>() : nullptr,
                               M, in, out);
    });
    torch::Tensor gb;
    if (ctx->saved_data["bias"].toBool() && ctx->needs_input_grad(2)) gb = gy.view({M, out}).sum(0);
    return {gx, gw, gb};
  }
};

// ---- attention ---------------------------------------------------------------

// Keys row b's query i may attend to: [lo, i] with lo = start[b], or just
// itself for a padding query (i < start[b]).
inline int64_t FirstKey(int64_t i, int64_t start) { return i < start ? i : start; }

// Forward for one (row, head): p [T, T] := softmax of the allowed scores
// (zero elsewhere); o [T, hd] (row stride ldo) := p v.
template <typename T>
void HeadForward(const T* q, const T* k, const T* v, int64_t ld, int64_t Tn, int64_t hd, int64_t start, T scale,
                 T* p, T* o, int64_t ldo) {
  Gemm(false, true, Tn, Tn, hd, scale, q, ld, k, ld, T(0), p, Tn);
  for (int64_t i = 0; i < Tn; ++i) {
    T* row = p + i * Tn;
    const int64_t lo = FirstKey(i, start);
    T m = -std::numeric_limits<T>::infinity();
    for (int64_t j = lo; j <= i; ++j) m = std::max(m, row[j]);
    T sum = 0;
    for (int64_t j = lo; j <= i; ++j) sum += row[j] = std::exp(row[j] - m);
    const T inv = T(1) / sum;
    for (int64_t j = 0; j < lo; ++j) row[j] = 0;
    for (int64_t j = lo; j <= i; ++j) row[j] *= inv;
    for (int64_t j = i + 1; j < Tn; ++j) row[j] = 0;
  }
  Gemm(false, false, Tn, hd, Tn, T(1), p, Tn, v, ld, T(0), o, ldo);
}

template <typename T>
void AttentionForward(const T* qkv, const int64_t* start, T* probs, T* out, int64_t B, int64_t Tn, int64_t H,
                      int64_t hd, T scale) {
  const int64_t d = H * hd, ld = 3 * d;
  at::parallel_for(0, B * H, 1, [&](int64_t begin, int64_t end) {
    std::vector<T> scratch(probs ? 0 : static_cast<size_t>(Tn * Tn));
    for (int64_t bh = begin; bh < end; ++bh) {
      const int64_t b = bh / H, h = bh % H;
      const T* base = qkv + b * Tn * ld + h * hd;
      T* p = probs ? probs + bh * Tn * Tn : scratch.data();
      HeadForward(base, base + d, base + 2 * d, ld, Tn, hd, start ? start[b] : 0, scale, p, out + b * Tn * d + h * hd,
                  d);
    }
  });
}

// Backward for one (row, head), given p and the output gradient go (row
// stride d): writes dq, dk, dv into gqkv's layout (row stride 3d).
template <typename T>
void AttentionBackward(const T* qkv, const T* probs, const T* gout, T* gqkv, int64_t B, int64_t Tn, int64_t H,
                       int64_t hd, T scale) {
  const int64_t d = H * hd, ld = 3 * d;
  at::parallel_for(0, B * H, 1, [&](int64_t begin, int64_t end) {
    std::vector<T> dp(static_cast<size_t>(Tn * Tn));
    for (int64_t bh = begin; bh < end; ++bh) {
      const int64_t b = bh / H, h = bh % H;
      const T* q = qkv + b * Tn * ld + h * hd;
      const T *k = q + d, *v = q + 2 * d;
      const T* p = probs + bh * Tn * Tn;
      const T* go = gout + b * Tn * d + h * hd;
      T* gq = gqkv + b * Tn * ld + h * hd;
      T *gk = gq + d, *gv = gq + 2 * d;
      Gemm(true, false, Tn, hd, Tn, T(1), p, Tn, go, d, T(0), gv, ld);          // dV = P^T dO
      Gemm(false, true, Tn, Tn, hd, T(1), go, d, v, ld, T(0), dp.data(), Tn);  // dP = dO V^T
      for (int64_t i = 0; i < Tn; ++i) {  // dS = P (dP - rowsum(P dP)), zero where P is
        const T* pr = p + i * Tn;
        T* r = dp.data() + i * Tn;
        T dot = 0;
        for (int64_t j = 0; j <= i; ++j) dot += pr[j] * r[j];
        for (int64_t j = 0; j < Tn; ++j) r[j] = pr[j] * (r[j] - dot);
      }
      Gemm(false, false, Tn, hd, Tn, scale, dp.data(), Tn, k, ld, T(0), gq, ld);  // dQ = s dS K
      Gemm(true, false, Tn, hd, Tn, scale, dp.data(), Tn, q, ld, T(0), gk, ld);   // dK = s dS^T Q
    }
  });
}

// Returns the output and, if keep, the attention probabilities for backward.
std::pair<torch::Tensor, torch::Tensor> AttentionForwardTensors(const torch::Tensor& qkv_in,
                                                                const torch::Tensor& start_in, int64_t H,
                                                                double scale, bool keep) {
  RECORD_FUNCTION("r1lab::causal_attention", std::vector<c10::IValue>());
  const torch::Tensor qkv = qkv_in.contiguous();
  const int64_t B = qkv.size(0), Tn = qkv.size(1), d = qkv.size(2) / 3, hd = d / H;
  const torch::Tensor start = start_in.numel() > 0 ? start_in.to(torch::kLong).contiguous() : torch::Tensor();
  torch::Tensor probs = keep ? torch::empty({B, H, Tn, Tn}, qkv.options()) : torch::Tensor();
  torch::Tensor out = torch::empty({B, Tn, d}, qkv.options());
  AT_DISPATCH_FLOATING_TYPES(qkv.scalar_type(), "CausalAttention", [&] {
    AttentionForward<scalar_t>(qkv.data_ptr<scalar_t>(), start.defined() ? start.data_ptr<int64_t>() : nullptr,
                               keep ? probs.data_ptr<scalar_t>() : nullptr, out.data_ptr<scalar_t>(), B, Tn, H, hd,
                               static_cast<scalar_t>(scale));
  });
  return {out, probs};
}

struct AttentionFn : torch::autograd::Function<AttentionFn> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& qkv_in, const torch::Tensor& start,
                               int64_t H, double scale) {
    const torch::Tensor qkv = qkv_in.contiguous();
    auto [out, probs] = AttentionForwardTensors(qkv, start, H, scale, true);
    ctx->save_for_backward({qkv, probs});
    ctx->saved_data["heads"] = H;
    ctx->saved_data["scale"] = scale;
    return out;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    RECORD_FUNCTION("r1lab::causal_attention_backward", std::vector<c10::IValue>());
    const variable_list saved = ctx->get_saved_variables();
    const torch::Tensor &qkv = saved[0], &probs = saved[1];
    const int64_t H = ctx->saved_data["heads"].toInt();
    const double scale = ctx->saved_data["scale"].toDouble();
    const int64_t B = qkv.size(0), Tn = qkv.size(1), d = qkv.size(2) / 3, hd = d / H;
    const torch::Tensor gout = grads[0].contiguous();
    torch::Tensor gqkv = torch::empty_like(qkv);
    AT_DISPATCH_FLOATING_TYPES(qkv.scalar_type(), "CausalAttentionBackward", [&] {
      AttentionBackward<scalar_t>(qkv.data_ptr<scalar_t>(), probs.data_ptr<scalar_t>(), gout.data_ptr<scalar_t>(),
                                  gqkv.data_ptr<scalar_t>(), B, Tn, H, hd, static_cast<scalar_t>(scale));
    });
    return {gqkv, torch::Tensor(), torch::Tensor(), torch::Tensor()};
  }
};

// ---- GELU --------------------------------------------------------------------

// The exact (erf) GELU, x Phi(x), and its derivative Phi(x) + x phi(x), with
// Phi(x) = erfc(-x / sqrt 2) / 2. Float uses the vectorisable erfc and exp of
// vec_math.h (LibTorch 1.13's gelu took 0.44 ms on a [256, 384] decode
// activation, a tenth of a decode step); double uses std::erfc.
constexpr double kInvSqrt2 = 0.70710678118654752440, kInvSqrt2Pi = 0.39894228040143267794;
constexpr int64_t kElementGrain = 16384;

void GeluForward(const float* x, float* y, int64_t n) {
  at::parallel_for(0, n, kElementGrain, [&](int64_t i0, int64_t i1) {
#pragma omp simd
    for (int64_t i = i0; i < i1; ++i) {
      y[i] = 0.5f * x[i] * TwoNormalCdf(x[i]);
    }
  });
}
void GeluForward(const double* x, double* y, int64_t n) {
  at::parallel_for(0, n, kElementGrain, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) y[i] = 0.5 * x[i] * std::erfc(-x[i] * kInvSqrt2);
  });
}

void GeluBackward(const float* x, const float* gy, float* gx, int64_t n) {
  at::parallel_for(0, n, kElementGrain, [&](int64_t i0, int64_t i1) {
#pragma omp simd
    for (int64_t i = i0; i < i1; ++i) {
      const float xi = x[i];
      gx[i] = gy[i] * (0.5f * TwoNormalCdf(xi) + xi * static_cast<float>(kInvSqrt2Pi) * ExpNonPositive(-0.5f * xi * xi));
    }
  });
}
void GeluBackward(const double* x, const double* gy, double* gx, int64_t n) {
  at::parallel_for(0, n, kElementGrain, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i)
      gx[i] = gy[i] * (0.5 * std::erfc(-x[i] * kInvSqrt2) + x[i] * kInvSqrt2Pi * std::exp(-0.5 * x[i] * x[i]));
  });
}

torch::Tensor GeluForwardTensor(const torch::Tensor& x) {
  RECORD_FUNCTION("r1lab::gelu", std::vector<c10::IValue>());
  torch::Tensor y = torch::empty_like(x);
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "Gelu",
                             [&] { GeluForward(x.data_ptr<scalar_t>(), y.data_ptr<scalar_t>(), x.numel()); });
  return y;
}

struct GeluFn : torch::autograd::Function<GeluFn> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x_in) {
    const torch::Tensor x = x_in.contiguous();
    ctx->save_for_backward({x});
    return GeluForwardTensor(x);
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    RECORD_FUNCTION("r1lab::gelu_backward", std::vector<c10::IValue>());
    const torch::Tensor x = ctx->get_saved_variables()[0];
    const torch::Tensor gy = grads[0].contiguous();
    torch::Tensor gx = torch::empty_like(x);
    AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "GeluBackward", [&] {
      GeluBackward(x.data_ptr<scalar_t>(), gy.data_ptr<scalar_t>(), gx.data_ptr<scalar_t>(), x.numel());
    });
    return {gx};
  }
};

}  // namespace

void SetReferenceKernels(bool on) { g_reference = on; }
bool ReferenceKernels() { return g_reference; }

torch::Tensor Linear(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b) {
  if (!Fast(x) || x.scalar_type() != w.scalar_type() || (b.defined() && b.scalar_type() != w.scalar_type()))
    return LinearReference(x, w, b);
  const bool grad = x.requires_grad() || w.requires_grad() || (b.defined() && b.requires_grad());
  if (!torch::GradMode::is_enabled() || !grad)
    return LinearForwardTensor(x.contiguous(), w.contiguous(), b.defined() ? b.contiguous() : b);
  // (LibTorch 1.13's Function::apply refuses undefined inputs: no bias is an empty one.)
  return LinearFn::apply(x, w, b.defined() ? b : torch::empty({0}, w.options()));
}

torch::Tensor CausalAttention(const torch::Tensor& qkv, const torch::Tensor& start, int64_t heads, double scale) {
  R1_CHECK(qkv.dim() == 3 && qkv.size(2) % (3 * heads) == 0, "CausalAttention expects qkv [B, T, 3 * heads * hd]");
  if (!Fast(qkv)) return CausalAttentionReference(qkv, start, heads, scale);
  // (LibTorch 1.13's Function::apply refuses undefined inputs: no padding is an empty start.)
  const torch::Tensor s = start.defined() ? start : torch::empty({0}, torch::kLong);
  if (!torch::GradMode::is_enabled() || !qkv.requires_grad())
    return AttentionForwardTensors(qkv, s, heads, scale, false).first;  // nothing kept for backward
  return AttentionFn::apply(qkv, s, heads, scale);
}

torch::Tensor Gelu(const torch::Tensor& x) {
  if (!Fast(x)) return GeluReference(x);
  if (!torch::GradMode::is_enabled() || !x.requires_grad()) return GeluForwardTensor(x.contiguous());
  return GeluFn::apply(x);
}

torch::Tensor LinearReference(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b) {
  return torch::nn::functional::linear(x, w, b);
}

torch::Tensor GeluReference(const torch::Tensor& x) { return torch::gelu(x); }

torch::Tensor CausalAttentionReference(const torch::Tensor& qkv_in, const torch::Tensor& start_in, int64_t H,
                                       double scale) {
  const int64_t B = qkv_in.size(0), Tn = qkv_in.size(1), d = qkv_in.size(2) / 3, hd = d / H;
  const auto lopt = torch::TensorOptions().device(qkv_in.device()).dtype(torch::kLong);
  const torch::Tensor qkv = qkv_in.view({B, Tn, 3, H, hd}).permute({2, 0, 3, 1, 4});
  const torch::Tensor q = qkv[0], k = qkv[1], v = qkv[2];  // [B, H, T, hd]
  const torch::Tensor ar = torch::arange(Tn, lopt).view({1, Tn});
  torch::Tensor allowed = torch::ones({Tn, Tn}, lopt.dtype(torch::kBool)).tril().view({1, 1, Tn, Tn});
  if (start_in.defined()) {
    const torch::Tensor key_ok = (ar >= start_in.to(qkv_in.device()).view({B, 1})).view({B, 1, 1, Tn});
    allowed = (allowed & key_ok) | torch::eye(Tn, lopt.dtype(torch::kBool)).view({1, 1, Tn, Tn});
  }
  torch::Tensor att = torch::matmul(q, k.transpose(-2, -1)) * scale;  // [B, H, T, T]
  att = att.masked_fill(allowed.logical_not(), -std::numeric_limits<double>::infinity()).softmax(-1);
  return torch::matmul(att, v).transpose(1, 2).reshape({B, Tn, d});
}

}  // namespace r1lab

// model/cpu_kernels: the threaded linear layer and fused causal attention
// against LibTorch's own ops, forward and every gradient, in double precision
// (agreement to 1e-12) and in float32, on two threads so the work is split.
#include <gtest/gtest.h>

#include <ATen/Parallel.h>

#include "cpu_kernels.h"

namespace r1lab {
namespace {

struct TwoThreads {
  int before = at::get_num_threads();
  TwoThreads() { at::set_num_threads(2); }
  ~TwoThreads() { at::set_num_threads(before); }
};

double MaxDiff(const torch::Tensor& a, const torch::Tensor& b) {
  EXPECT_EQ(a.sizes(), b.sizes());
  return (a - b).abs().max().item<double>();
}

// Forward and gradients of f(inputs) . weights with the fast kernel and the reference.
template <typename F, typename R>
void ExpectSameGradients(F fast, R ref, std::vector<torch::Tensor> inputs, double tol) {
  std::vector<torch::Tensor> a, b;
  for (const auto& t : inputs) {
    a.push_back(t.defined() ? t.clone().requires_grad_(true) : t);
    b.push_back(t.defined() ? t.clone().requires_grad_(true) : t);
  }
  const torch::Tensor ya = fast(a), yb = ref(b);
  EXPECT_LT(MaxDiff(ya, yb), tol);
  const torch::Tensor up = torch::randn_like(ya);  // an arbitrary upstream gradient
  (ya * up).sum().backward();
  (yb * up).sum().backward();
  for (size_t i = 0; i < a.size(); ++i) {
    if (!a[i].defined()) continue;
    EXPECT_LT(MaxDiff(a[i].grad(), b[i].grad()), tol) << "gradient of input " << i;
  }
}

TEST(CpuKernels, LinearMatchesLibTorchInDoubleAndFloat) {
  TwoThreads two;
  torch::manual_seed(1);
  for (auto dtype : {torch::kFloat64, torch::kFloat32}) {
    const double tol = dtype == torch::kFloat64 ? 1e-12 : 1e-4;
    const auto o = torch::TensorOptions().dtype(dtype);
    // 3 x 301 = 903 rows: several row blocks and a ragged last one.
    const torch::Tensor x = torch::randn({3, 301, 13}, o), w = torch::randn({11, 13}, o), b = torch::randn({11}, o);
    for (bool bias : {true, false}) {
      ExpectSameGradients([](auto& t) { return Linear(t[0], t[1], t[2]); },
                          [](auto& t) { return LinearReference(t[0], t[1], t[2]); },
                          {x, w, bias ? b : torch::Tensor()}, tol);
    }
  }
}

// float: ATen's own formula for erf (Abramowitz-Stegun 7.1.26), so agreement
// to a few 1e-7; double: std::erfc, exact to rounding. 40,000 elements: split
// across both threads. Inputs span the tails (|x| up to 12).
TEST(CpuKernels, GeluMatchesLibTorchInDoubleAndFloat) {
  TwoThreads two;
  torch::manual_seed(2);
  for (auto dtype : {torch::kFloat64, torch::kFloat32}) {
    // fp32: a few ulps at |x| = 12 (ulp 9.5e-7); LibTorch 2.15's reference
    // differs from 1.13's there by 1.2e-6.
    const double tol = dtype == torch::kFloat64 ? 1e-12 : 3e-6;
    const torch::Tensor x = torch::randn({200, 200}, torch::TensorOptions().dtype(dtype)) * 3;
    x.view(-1).narrow(0, 0, 4).copy_(torch::tensor({-12.0, 12.0, 0.0, -1e-8}, x.options()));
    ExpectSameGradients([](auto& t) { return Gelu(t[0]); }, [](auto& t) { return GeluReference(t[0]); }, {x}, tol);
  }
  // A hand check: GELU(1) = Phi(1) = 0.841344746..., GELU(-1) = -(1 - 0.841344746...).
  const torch::Tensor y = Gelu(torch::tensor({1.0f, -1.0f}));
  EXPECT_NEAR(y[0].item<float>(), 0.8413447461f, 3e-7);
  EXPECT_NEAR(y[1].item<float>(), -0.1586552539f, 3e-7);
}

// Both threads call BLAS at once (OpenBLAS runs single-threaded inside the
// pool): repeated products must be identical, forward and backward.
TEST(CpuKernels, ConcurrentBlasCallsGiveIdenticalResults) {
  TwoThreads two;
  torch::manual_seed(3);
  const torch::Tensor x = torch::randn({2048, 96}), w = torch::randn({384, 96}), b = torch::randn({384});
  const torch::Tensor up = torch::randn({2048, 384});
  torch::Tensor y0, gw0;
  for (int rep = 0; rep < 30; ++rep) {
    const torch::Tensor wr = w.clone().requires_grad_(true);
    const torch::Tensor y = Linear(x, wr, b);
    (y * up).sum().backward();
    if (rep == 0) {
      y0 = y.detach().clone();
      gw0 = wr.grad().clone();
      EXPECT_LT(MaxDiff(y0, LinearReference(x, w, b)), 1e-3);
      continue;
    }
    ASSERT_TRUE(torch::equal(y, y0)) << "repetition " << rep;
    ASSERT_TRUE(torch::equal(wr.grad(), gw0)) << "repetition " << rep;
  }
}

TEST(CpuKernels, LinearOnANonContiguousInput) {
  TwoThreads two;
  const auto o = torch::TensorOptions().dtype(torch::kFloat64);
  const torch::Tensor x = torch::randn({40, 300}, o).t(), w = torch::randn({5, 40}, o);
  EXPECT_LT(MaxDiff(Linear(x, w, {}), LinearReference(x, w, {})), 1e-12);
}

TEST(CpuKernels, CausalAttentionMatchesLibTorchWithAndWithoutLeftPadding) {
  TwoThreads two;
  torch::manual_seed(2);
  const int64_t B = 5, T = 9, H = 3, hd = 4;
  const torch::Tensor start = torch::tensor({0, 3, 0, 8, 1}, torch::kLong);
  for (auto dtype : {torch::kFloat64, torch::kFloat32}) {
    const double tol = dtype == torch::kFloat64 ? 1e-12 : 1e-5;
    const torch::Tensor qkv = torch::randn({B, T, 3 * H * hd}, torch::TensorOptions().dtype(dtype));
    for (const torch::Tensor& s : {start, torch::Tensor()}) {
      ExpectSameGradients([&](auto& t) { return CausalAttention(t[0], s, H, 0.37); },
                          [&](auto& t) { return CausalAttentionReference(t[0], s, H, 0.37); }, {qkv}, tol);
    }
  }
}

TEST(CpuKernels, CausalAttentionIsCausalAndPaddingIsInvisible) {
  TwoThreads two;
  const int64_t T = 6, H = 2, hd = 3;
  const auto o = torch::TensorOptions().dtype(torch::kFloat64);
  const torch::Tensor qkv = torch::randn({1, T, 3 * H * hd}, o);
  const torch::Tensor y = CausalAttention(qkv, {}, H, 0.5);
  // Changing the last position changes no earlier output.
  torch::Tensor changed = qkv.clone();
  changed.select(1, T - 1).normal_();
  EXPECT_EQ(MaxDiff(CausalAttention(changed, {}, H, 0.5).narrow(1, 0, T - 1), y.narrow(1, 0, T - 1)), 0.0);
  // With two positions of left padding, changing the padding changes no real position's output.
  const torch::Tensor start = torch::tensor({2}, torch::kLong);
  const torch::Tensor padded = CausalAttention(qkv, start, H, 0.5);
  torch::Tensor repadded = qkv.clone();
  repadded.narrow(1, 0, 2).normal_();
  EXPECT_EQ(MaxDiff(CausalAttention(repadded, start, H, 0.5).narrow(1, 2, T - 2), padded.narrow(1, 2, T - 2)), 0.0);
}

TEST(CpuKernels, NoGradAttentionKeepsNothingAndAgrees) {
  TwoThreads two;
  const torch::Tensor qkv = torch::randn({4, 7, 24}, torch::TensorOptions().dtype(torch::kFloat64));
  torch::Tensor with = CausalAttention(qkv, {}, 2, 0.3), without;
  {
    torch::NoGradGuard ng;
    without = CausalAttention(qkv, {}, 2, 0.3);
  }
  EXPECT_EQ(MaxDiff(with, without), 0.0);
}

}  // namespace
}  // namespace r1lab

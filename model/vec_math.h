// Elementwise float math written so the compiler vectorises it inside
// `#pragma omp simd` loops (glibc's expf/erff are scalar calls there).
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

namespace r1lab {

// e^x for x <= 0: range reduction x = k ln2 + r, |r| <= ln2/2, a degree-6
// polynomial for e^r (relative error < 3e-7), and 2^k from the exponent bits.
// Inputs below -87 (and -inf) give e^-87 (~1.6e-38) instead of a denormal.
// No float comparison or float-to-int conversion: with GCC's default
// -ftrapping-math either keeps a loop from vectorising. The clamp is an
// unsigned min on the bits (for negative floats, larger bits = more
// negative), and round(x log2 e) comes from adding 1.5 * 2^23.
inline float ExpNonPositive(float x) {
  constexpr float kLog2e = 1.44269504f, kLn2Hi = 0.693359375f, kLn2Lo = -2.12194440e-4f;
  constexpr float kRound = 12582912.0f;  // 1.5 * 2^23: leaves round(y) in the low mantissa bits of y + kRound
  constexpr uint32_t kMinus87 = 0xC2AE0000u;
  uint32_t ux;
  std::memcpy(&ux, &x, sizeof ux);
  ux = ux < kMinus87 ? ux : kMinus87;
  float v;
  std::memcpy(&v, &ux, sizeof v);
  const float kr = v * kLog2e + kRound;
  const float k = kr - kRound;
  const float r = (v - k * kLn2Hi) - k * kLn2Lo;
  const float p = 1.0f + r * (1.0f + r * (0.5f + r * (1.0f / 6 + r * (1.0f / 24 + r * (1.0f / 120 + r * (1.0f / 720))))));
  int32_t bits;
  std::memcpy(&bits, &kr, sizeof bits);
  bits = (bits - 0x4B400000 + 127) << 23;  // 0x4B400000: the bits of kRound
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return p * scale;
}

// erfc(y) for y >= 0: Abramowitz and Stegun 7.1.26, absolute error <= 1.5e-7
// (the formula ATen's vectorised erf uses).
inline float ErfcNonNegative(float y) {
  const float t = 1.0f / (1.0f + 0.3275911f * y);
  const float poly =
      t * (0.254829592f + t * (-0.284496736f + t * (1.421413741f + t * (-1.453152027f + t * 1.061405429f))));
  return poly * ExpNonPositive(-y * y);
}

// 2 Phi(x) = erfc(-x / sqrt 2) = 1 + erf(x / sqrt 2), the normal CDF doubled.
inline float TwoNormalCdf(float x) {
  return 1.0f + std::copysign(1.0f - ErfcNonNegative(std::fabs(x) * 0.70710678f), x);
}

}  // namespace r1lab

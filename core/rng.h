// Seeded randomness. Every component takes its seed or an Rng; nothing seeds
// from the clock. Rng is a small xoshiro256** generator whose state can be
// saved in checkpoints; CounterUniform is a stateless hash for places that
// must not depend on thread count or batch order (sampling).
#pragma once

#include <array>
#include <cstdint>
#include <sstream>
#include <string>

#include "error.h"

namespace r1lab {

inline uint64_t SplitMix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// Uniform in [0, 1) from (seed, a, b) alone: the same inputs give the same number.
inline double CounterUniform(uint64_t seed, uint64_t a, uint64_t b) {
  uint64_t h = SplitMix64(seed ^ SplitMix64(a ^ SplitMix64(b + 0x632be59bd9b4e019ULL)));
  return static_cast<double>(h >> 11) * 0x1.0p-53;
}

class Rng {
 public:
  explicit Rng(uint64_t seed = 0) { Seed(seed); }
  void Seed(uint64_t seed) {
    uint64_t x = seed;
    for (auto& s : s_) s = x = SplitMix64(x);
  }
  uint64_t Next() {
    const uint64_t result = Rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = Rotl(s_[3], 45);
    return result;
  }
  double Uniform() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }
  bool Bernoulli(double p) { return Uniform() < p; }
  // Uniform integer in [lo, hi].
  int64_t Int(int64_t lo, int64_t hi) {
    R1_CHECK(hi >= lo, "Rng::Int empty range");
    return lo + static_cast<int64_t>(Next() % static_cast<uint64_t>(hi - lo + 1));
  }
  std::string State() const {
    std::ostringstream o;
    for (auto s : s_) o << s << ' ';
    return o.str();
  }
  void SetState(const std::string& state) {
    std::istringstream i(state);
    for (auto& s : s_) i >> s;
    if (!i) throw InternalError("Rng::SetState: malformed state '" + state + "'");
  }

 private:
  static uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  std::array<uint64_t, 4> s_{};
};

}  // namespace r1lab

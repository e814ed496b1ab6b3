// A seeded mutation driver for the libFuzzer targets under fuzz/, so that
// every test run fuzzes a little (scripts/fuzz.sh runs the same targets
// under libFuzzer with AddressSanitizer): seeds mutated by 1 to 8 edits
// (a character of `alphabet` set or inserted, a byte erased, a span
// repeated, any byte inserted), each fed to LLVMFuzzerTestOneInput, which
// must return (no crash, no exception) within 0.5 s.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <iostream>
#include <string>
#include <vector>

#include "rng.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace r1lab::testing {

// Runs until `max_runs` inputs or `seconds` have passed; returns the count.
inline int MutationFuzz(const std::vector<std::string>& seeds, const std::string& alphabet, int max_runs,
                        double seconds, uint64_t seed = 2026) {
  Rng rng(seed);
  const auto pick = [&](const std::string& s) { return s[static_cast<size_t>(rng.Int(0, static_cast<int64_t>(s.size()) - 1))]; };
  int runs = 0;
  double worst = 0;
  const auto t_end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (runs < max_runs && std::chrono::steady_clock::now() < t_end) {
    std::string s = seeds[static_cast<size_t>(rng.Int(0, static_cast<int64_t>(seeds.size()) - 1))];
    const int edits = static_cast<int>(rng.Int(1, 8));
    for (int e = 0; e < edits; ++e) {
      const size_t at = s.empty() ? 0 : static_cast<size_t>(rng.Int(0, static_cast<int64_t>(s.size()) - 1));
      switch (rng.Int(0, 4)) {
        case 0: if (!s.empty()) s[at] = pick(alphabet); break;
        case 1: s.insert(at, 1, pick(alphabet)); break;
        case 2: if (!s.empty()) s.erase(at, 1); break;
        case 3: s.insert(at, s.substr(at, static_cast<size_t>(rng.Int(0, 20)))); break;  // repeat a span
        default: s.insert(at, 1, static_cast<char>(rng.Int(0, 255))); break;            // any byte
      }
    }
    const auto t0 = std::chrono::steady_clock::now();
    LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(s.data()), s.size());
    const double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    worst = std::max(worst, dt);
    EXPECT_LT(dt, 0.5) << "slow input: " << s;
    ++runs;
  }
  std::cout << runs << " fuzz inputs, slowest " << worst * 1000 << " ms\n";
  return runs;
}

}  // namespace r1lab::testing

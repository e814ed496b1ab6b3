// Small string helpers shared across layers.
#pragma once

#include <cctype>
#include <cstdint>
#include <string>

namespace r1lab {

// s without leading and trailing ASCII white space.
inline std::string Trim(const std::string& s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return s.substr(b, e - b);
}

// FNV-1a, 64 bits: the checksum of checkpoints, configs and base files.
inline uint64_t Fnv64(const std::string& bytes) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

}  // namespace r1lab

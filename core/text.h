// Small string helpers shared across layers.
#pragma once

#include <algorithm>
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

// Every occurrence of `from` (non-empty) replaced by `to`, left to right;
// replacements are not rescanned.
inline std::string ReplaceAll(std::string s, const std::string& from, const std::string& to) {
  if (from.empty()) return s;
  for (size_t p = s.find(from); p != std::string::npos; p = s.find(from, p + to.size())) s.replace(p, from.size(), to);
  return s;
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

// Length in bytes of the valid UTF-8 sequence starting at s[i], or 0 if the
// bytes there are not one (stray continuation byte, overlong form, surrogate,
// code point above U+10FFFF, or a sequence cut short).
inline size_t Utf8SequenceLength(const std::string& s, size_t i) {
  const auto at = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = at(i);
  if (c < 0x80) return 1;
  size_t n;
  uint32_t cp;
  if (c >= 0xC2 && c <= 0xDF) n = 2, cp = c & 0x1F;
  else if (c >= 0xE0 && c <= 0xEF) n = 3, cp = c & 0x0F;
  else if (c >= 0xF0 && c <= 0xF4) n = 4, cp = c & 0x07;
  else return 0;
  if (i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    if ((at(i + k) & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (at(i + k) & 0x3F);
  }
  if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF))) return 0;  // overlong, too large
  if (cp >= 0xD800 && cp <= 0xDFFF) return 0;                                            // surrogate
  return n;
}

// s with every byte that is not part of a valid UTF-8 sequence replaced by
// U+FFFD, so that what r1lab writes is always valid UTF-8.
inline std::string ValidUtf8(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    const size_t n = Utf8SequenceLength(s, i);
    if (n == 0) {
      out += "\xEF\xBF\xBD";
      ++i;
    } else {
      out.append(s, i, n);
      i += n;
    }
  }
  return out;
}

// At most max_bytes of s starting at byte `from`, never cutting a UTF-8
// character in half (for quoting input in error messages).
inline std::string Utf8Cut(const std::string& s, size_t from, size_t max_bytes) {
  if (from >= s.size()) return "";
  size_t end = std::min(s.size(), from + max_bytes);
  while (end > from && end < s.size() && (static_cast<unsigned char>(s[end]) & 0xC0) == 0x80) --end;
  return s.substr(from, end - from);
}

}  // namespace r1lab

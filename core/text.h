// Small string helpers shared across layers.
#pragma once

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <string>
#include <string_view>

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
// `h` continues an earlier hash over more bytes (Fnv64(a + b) == Fnv64(b, Fnv64(a))).
// The default start is the published offset basis 14695981039346656037
// with its last digit dropped, a slip kept on purpose: checkpoint headers,
// cached bases and committed run identities record these values, so the
// standard basis would orphan all of them. Its hashes mix as well; they
// are not the published FNV-1a values (kFnv64Start's test pins one).
inline constexpr uint64_t kFnv64Start = 1469598103934665603ULL;
inline uint64_t Fnv64(std::string_view bytes, uint64_t h = kFnv64Start) {
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}
// A hash as 16 lowercase hex digits.
inline std::string HexHash(uint64_t h) {
  static const char kDigits[] = "0123456789abcdef";
  std::string out(16, '0');
  for (int i = 15; i >= 0; --i, h >>= 4) out[static_cast<size_t>(i)] = kDigits[h & 15];
  return out;
}

// The UTF-8 sequence at s[i]: its length in bytes when it is valid, else
// minus the length of its maximal valid prefix (-1 to -3: a stray
// continuation byte, an overlong form, a surrogate, a code point above
// U+10FFFF, or a sequence cut short). The prefix is Unicode's "maximal
// subpart", what Rust's from_utf8_lossy replaces by one U+FFFD.
inline int Utf8SequenceAt(std::string_view s, size_t i) {
  const auto at = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = at(i);
  if (c < 0x80) return 1;
  int len;
  unsigned char lo = 0x80, hi = 0xBF;  // the second byte's range
  if (c >= 0xC2 && c <= 0xDF) {
    len = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    len = 3;
    if (c == 0xE0) lo = 0xA0;  // not overlong
    if (c == 0xED) hi = 0x9F;  // no surrogates
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4;
    if (c == 0xF0) lo = 0x90;  // not overlong
    if (c == 0xF4) hi = 0x8F;  // at most U+10FFFF
  } else {
    return -1;
  }
  for (int k = 1; k < len; ++k) {
    if (i + static_cast<size_t>(k) >= s.size()) return -k;
    const unsigned char x = at(i + static_cast<size_t>(k));
    if (k == 1 ? (x < lo || x > hi) : (x < 0x80 || x > 0xBF)) return -k;
  }
  return len;
}

// Length in bytes of the valid UTF-8 sequence starting at s[i], or 0 if the
// bytes there are not one.
inline size_t Utf8SequenceLength(std::string_view s, size_t i) {
  return static_cast<size_t>(std::max(Utf8SequenceAt(s, i), 0));
}

// Appends code point `cp` (at most U+10FFFF) as UTF-8.
inline void AppendUtf8(uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
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

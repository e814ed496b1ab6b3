// What the fuzz targets under fuzz/ do when a property breaks: print the
// input in hex, so that it can be fed back byte for byte, and abort, which
// libFuzzer and the test suite's mutation driver both report.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>

namespace r1lab {

inline void FuzzCheck(bool ok, const char* target, const char* what, const std::string& input) {
  if (ok) return;
  std::fprintf(stderr, "%s: %s for the input (hex) ", target, what);
  for (unsigned char c : input) std::fprintf(stderr, "%02x", c);
  std::fprintf(stderr, "\n");
  std::abort();
}

}  // namespace r1lab

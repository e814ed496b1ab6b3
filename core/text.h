// Small string helpers shared across layers.
#pragma once

#include <cctype>
#include <string>

namespace r1lab {

// s without leading and trailing ASCII white space.
inline std::string Trim(const std::string& s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return s.substr(b, e - b);
}

}  // namespace r1lab

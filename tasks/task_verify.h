// Verification of one JSON record per task, for `r1lab verify`. The fields
// each task reads (besides "completion") are listed in README.md:
//   math       "gold"                      (CompareMath; \boxed or <answer>, or free text)
//   arith      "gold"                      (an integer: a JSON number, or a
//                                           string for any 64-bit value)
//   countdown  "numbers" (array), "target"
//   graph      "prompt" ("AB3 BC2 A to C"), optional "check": "path"|"length"
//   code       "tests": [[input, output], ...] (at least one)
#pragma once

#include <string>

#include "answer.h"
#include "json.h"

namespace r1lab {

// ConfigError naming the known tasks if `task` is not one.
void CheckVerifyTask(const std::string& task);

// InputError naming a missing or malformed field (of the wrong type too).
Verdict VerifyRecord(const std::string& task, const JsonValue& record, const std::string& completion,
                     double rel_tol, MathExtraction extraction = MathExtraction::kTagged);

}  // namespace r1lab

#pragma once

#include <string>

namespace r1lab {
// `r1lab bench`: prints the measurements as a markdown table; see BENCHMARKS.md.
// --compare: the peers in bench/compare/ that are installed, side by side.
int RunBench(bool quick, bool compare);
// Verification throughput per task; decode_tok_s prices a GRPO step's generation.
void BenchVerify(bool quick, int threads, double decode_tok_s);
// `r1lab verify`: one JSON verdict per JSONL input line (stdin, or `input`), in order.
// extract: "tagged" (<answer> or \boxed) or "free-text" (math only; see MathExtraction).
int RunVerify(const std::string& task, const std::string& input, double rel_tol, double language_weight,
              const std::string& extract);
}  // namespace r1lab

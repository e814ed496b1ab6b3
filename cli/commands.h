#pragma once

namespace r1lab {
// `r1lab bench`: prints the measurements as a markdown table; see BENCHMARKS.md.
int RunBench(bool quick);
}  // namespace r1lab

// `r1lab rescore DIR`: recomputes an experiment folder's held-out numbers
// from its committed samples (each base's and run's samples.jsonl.xz, on
// the split the folder was evaluated on) with the current verifier, and its tables from those numbers, and says
// where anything differs from what the folder holds.
//
// Per evaluated folder: every sample line is re-verified against the task's
// test (or validation) problem it names (config.pbtxt's task), its stored prompt, gold and
// verdict compared with the task's and the verifier's, and eval.json's
// fields recomputed from the samples (lengths come from the stored token
// counts). Then summary.md and summary.csv are rebuilt from the rescored
// records and compared with the committed files. Held-out curves during
// training (metrics.jsonl eval points) are not rescorable: their samples
// are not kept.
#pragma once

#include <string>

namespace r1lab {

struct RescoreResult {
  std::string report;   // one line per finding, for the terminal
  int differences = 0;  // 0: everything reproduced
};

// update (`--update`): where the metrics changed but not the verdicts (every
// sample judged as stored), eval.json is rewritten from the samples, then
// the summary from the records; what remains different is reported as
// without it. For a metric whose definition changed, so that committed
// results follow it without being rerun.
// IoError/ConfigError when DIR is not an experiment folder (no config.pbtxt).
RescoreResult Rescore(const std::string& dir, bool update = false);

}  // namespace r1lab

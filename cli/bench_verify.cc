// `r1lab bench`, verification part: verifications per second per task,
// serially and with oneTBB on every thread, on teacher traces with noise
// (a mix of right and wrong answers), and the math verifier on easy and
// hard answer pairs.
#include <tbb/global_control.h>
#include <tbb/parallel_for.h>

#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "commands.h"
#include "config.h"
#include "math_equiv.h"
#include "math_verifier_pairs.h"
#include "progress.h"
#include "task.h"
#include "tokenizer.h"

namespace r1lab {

namespace {

struct Rate {
  double serial = 0, parallel = 0;  // verifications per second
};

Rate Measure(size_t n, const std::function<void(size_t)>& verify, double min_seconds, int threads) {
  Rate r;
  for (int pass = 0; pass < 2; ++pass) {
    size_t done = 0;
    const auto t0 = Clock::now();
    do {
      if (pass == 0) {
        for (size_t i = 0; i < n; ++i) verify(i);
      } else {
        tbb::global_control limit(tbb::global_control::max_allowed_parallelism, static_cast<size_t>(threads));
        tbb::parallel_for(size_t{0}, n, verify);
      }
      done += n;
    } while (SecondsSince(t0) < min_seconds);
    (pass == 0 ? r.serial : r.parallel) = static_cast<double>(done) / SecondsSince(t0);
  }
  return r;
}

}  // namespace

void BenchVerify(bool quick, int threads, double decode_tok_s) {
  const double t = quick ? 0.2 : 1.0;
  std::printf("\n| verify (512 noisy teacher completions) | mean tokens | serial /s | %d threads /s | "
              "share of a GRPO step's generation |\n|---|---|---|---|---|\n", threads);
  const char* tasks[] = {"arith {}", "arith { worded: true spanish_rate: 0.5 }", "countdown {}", "graph {}",
                         "code {}"};
  for (const char* spec : tasks) {
    TaskConfig cfg;
    ParseConfigText(std::string(spec) + " num_test: 100 teacher { step_error_rate: 0.3 reflection_rate: 0.5 }",
                    "<bench>", &cfg);
    ResolveDefaults(&cfg);
    const auto task = MakeTask(cfg);
    Rng rng(1);
    std::vector<Problem> problems;
    std::vector<std::string> completions;
    double tokens = 0;
    for (int i = 0; i < 512; ++i) {
      problems.push_back(task->SampleTrain(rng));
      completions.push_back(task->Teach(problems.back(), cfg.teacher(), rng).completion);
      tokens += static_cast<double>(Tokenizer::Get().Encode(completions.back()).size()) + 1;
    }
    const Rate r = Measure(512, [&](size_t i) { task->Verify(completions[i], problems[i]); }, t, threads);
    // Generating the same 512 completions at the measured decode rate.
    const double generate_s = tokens / decode_tok_s;
    std::printf("| %s | %.0f | %.0f | %.0f | %.3f%% |\n", spec, tokens / 512, r.serial, r.parallel,
                100 * (512 / r.parallel) / generate_s);
  }
  const auto& easy = kEasyMathPairs;
  const auto& hard = kHardMathPairs;
  std::printf("\n| math verifier | pairs | serial /s | %d threads /s |\n|---|---|---|---|\n", threads);
  for (const auto* set : {&easy, &hard}) {
    const Rate r = Measure(set->size(), [&](size_t i) { CompareMath((*set)[i].first, (*set)[i].second); }, t, threads);
    std::printf("| %s | %zu | %.0f | %.0f |\n", set == &easy ? "easy (integers, fractions, decimals)"
                                                            : "hard (radicals, symbols, sets, unions, trig, huge)",
                set->size(), r.serial, r.parallel);
  }
}

}  // namespace r1lab

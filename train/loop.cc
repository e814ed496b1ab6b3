#include "loop.h"

#include <chrono>
#include <cstdio>

#include "checkpoint.h"
#include "dist.h"
#include "error.h"
#include "interrupt.h"
#include "io.h"
#include "progress.h"
#include "records.h"

namespace r1lab {

int64_t RunLoop(const LoopSpec& spec, int64_t start_step, const LoopHooks& hooks) {
  const auto t0 = Clock::now();
  Progress progress(spec.label, spec.steps);
  auto charged = [&]() {
    double c = spec.flops->Total();
    for (FlopPhase p : spec.budget_exempt) c -= spec.flops->Get(p);
    return c;
  };
  auto budget_left = [&]() { return spec.flop_budget <= 0 || charged() < spec.flop_budget; };
  int64_t step = start_step;
  std::string last_eval;
  while (step < spec.steps && budget_left()) {
    std::string note;
    MetricsLine line;
    hooks.step(step, &line, &note);
    ++step;
    const bool last = step == spec.steps || !budget_left();
    if (spec.metrics && (step % spec.log_every == 0 || last)) {
      line.set_step(static_cast<int32_t>(step));
      line.set_flops(spec.flops->Total());
      line.set_wall_s(spec.wall_before + SecondsSince(t0));
      spec.metrics->Write(RecordToJson(line));
    }
    const bool eval_point = spec.eval && spec.eval_every > 0 && (step % spec.eval_every == 0 || last);
    if (eval_point) {
      MetricsLine eval_line;
      eval_line.set_step(static_cast<int32_t>(step));
      eval_line.set_flops(spec.flops->Total());
      *eval_line.mutable_eval() = spec.eval(step);
      char buf[48];
      std::snprintf(buf, sizeof buf, " held-out pass@1 %.1f%%", 100 * eval_line.eval().pass1());
      last_eval = buf;
      if (spec.metrics) spec.metrics->Write(RecordToJson(eval_line));
    }
    if (hooks.save && (eval_point || (spec.checkpoint_every > 0 && step % spec.checkpoint_every == 0)))
      hooks.save(step);
    std::string extra = note + last_eval;
    if (spec.flop_budget > 0) {
      char buf[64];
      std::snprintf(buf, sizeof buf, " flops %.3g/%.3g", charged(), spec.flop_budget);
      extra += buf;
    }
    progress.Update(step, extra);
    if (StopRequested()) {
      if (hooks.save) hooks.save(step);
      progress.Finish(step, "(stopped)");
      throw Interrupted(spec.label + ": stopped at step " + std::to_string(step) +
                        (hooks.save ? " (checkpoint saved); rerun the same command to resume" : ""));
    }
  }
  if (hooks.save) hooks.save(step);
  progress.Finish(step, step < spec.steps ? "(stopped at the FLOP budget)" : "");
  return step;
}

int64_t RunCheckpointedLoop(LoopSpec spec, Transformer& policy, const std::string& path, const StrategyLoop& loop) {
  spec.steps = loop.steps;
  spec.log_every = loop.log_every;
  spec.checkpoint_every = loop.checkpoint_every;
  spec.budget_exempt = loop.budget_exempt;
  int64_t start = 0;
  const auto t0 = Clock::now();
  // Data-parallel ranks resume from rank 0's checkpoint, all or none.
  const bool resume = !path.empty() && (spec.data_parallel ? ShareRankZerosFile(*spec.data_parallel, path, FileExists(path))
                                                           : FileExists(path));
  if (resume) {
    const CheckpointMeta meta = LoadCheckpoint(path, policy, loop.optimizer, loop.parts);
    RestoreFlopState(meta.extra, path, spec.flops, loop.tokens, &spec.wall_before);
    loop.rng->SetState(meta.rng_state);
    if (loop.restore_state) loop.restore_state(meta.state);
    start = meta.step;
    std::fprintf(stderr, "%s: resumed from %s at step %lld\n", spec.label.c_str(), path.c_str(),
                 static_cast<long long>(start));
  }
  LoopHooks hooks;
  hooks.step = loop.step;
  if (!path.empty() && (!spec.read_only_checkpoint || spec.data_parallel)) {
    hooks.save = [&](int64_t step) {
      if (!spec.read_only_checkpoint) {
        const double wall = spec.wall_before + SecondsSince(t0);
        SaveCheckpoint(path, policy, loop.optimizer,
                       {step, loop.rng->State(), FlopState(*spec.flops, *loop.tokens, wall),
                        loop.save_state ? loop.save_state() : std::string()},
                       loop.parts);
      }
      if (spec.data_parallel) spec.data_parallel->RoundBarrier();
    };
  }
  if (!resume && loop.init) {
    loop.init();
    if (hooks.save) hooks.save(0);
  }
  return RunLoop(spec, start, hooks);
}

// "generate train score tokens label reward_train reward_score wall_s
// oracle_calls" (checkpoints written before the learned-reward phases existed
// end after tokens; before wall times were kept, after reward_score; before
// oracle calls were counted, after wall_s).
std::string FlopState(const FlopCounter& f, int64_t tokens, double wall_s) {
  char buf[360];
  std::snprintf(buf, sizeof buf, "%.17g %.17g %.17g %lld %.17g %.17g %.17g %.17g %lld", f.Get(FlopPhase::kGenerate),
                f.Get(FlopPhase::kTrain), f.Get(FlopPhase::kScore), static_cast<long long>(tokens),
                f.Get(FlopPhase::kLabel), f.Get(FlopPhase::kRewardTrain), f.Get(FlopPhase::kRewardScore), wall_s,
                static_cast<long long>(f.OracleCalls()));
  return buf;
}

void RestoreFlopState(const std::string& extra, const std::string& path, FlopCounter* f, int64_t* tokens,
                      double* wall_s) {
  double g = 0, t = 0, s = 0, l = 0, r = 0, rs = 0, w = 0;
  long long n = 0, oracle = 0;
  const int got =
      std::sscanf(extra.c_str(), "%lf %lf %lf %lld %lf %lf %lf %lf %lld", &g, &t, &s, &n, &l, &r, &rs, &w, &oracle);
  if (got != 4 && got != 7 && got != 8 && got != 9) throw IoError(path + ": checkpoint lacks the run's FLOP counters");
  *wall_s = w;
  f->Set(FlopPhase::kGenerate, g);
  f->Set(FlopPhase::kTrain, t);
  f->Set(FlopPhase::kScore, s);
  f->Set(FlopPhase::kLabel, l);
  f->Set(FlopPhase::kRewardTrain, r);
  f->Set(FlopPhase::kRewardScore, rs);
  f->SetOracleCalls(oracle);
  *tokens = n;
}

double CheckpointWallSeconds(const CheckpointMeta& meta, const std::string& path) {
  FlopCounter unused;
  int64_t tokens = 0;
  double wall = 0;
  RestoreFlopState(meta.extra, path, &unused, &tokens, &wall);
  return wall;
}

}  // namespace r1lab

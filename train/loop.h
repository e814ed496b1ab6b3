// The training loop every strategy shares: steps until the step count or the
// FLOP budget is spent, metrics lines every log_every steps, held-out eval
// every eval_every steps (and at the end), checkpoints at eval points and every
// checkpoint_every steps, progress on stderr.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "checkpoint.h"
#include "dist.h"
#include "flops.h"
#include "io.h"
#include "r1lab.pb.h"
#include "rng.h"
#include "transformer.h"

namespace r1lab {

struct LoopSpec {
  int64_t steps = 0;
  double flop_budget = 0;  // 0 = steps only
  // Phases whose FLOPs do not count against flop_budget (a control that
  // keeps, e.g., a reward model's cost outside equal compute).
  std::vector<FlopPhase> budget_exempt;
  int log_every = 1;
  int eval_every = 0;       // 0 = no periodic eval
  int checkpoint_every = 0; // 0 = eval points and the end only
  std::string label;
  JsonlWriter* metrics = nullptr;
  FlopCounter* flops = nullptr;
  double wall_before = 0;  // seconds the run spent before start_step (earlier segments)
  // Held-out eval; its record becomes a metrics line of its own.
  std::function<EvalRecord(int64_t step)> eval;
  // Resume from the checkpoint but never write it (a data-parallel rank
  // other than 0: rank 0 writes the one checkpoint).
  bool read_only_checkpoint = false;
  // The data-parallel ranks sharing the run (null: none): every rank meets
  // the others at a long barrier after each checkpoint, so the others wait
  // out rank 0's write (a large model's, to a slow disk) there rather than
  // in the next step's all-reduce, which times out.
  Dist* data_parallel = nullptr;
};

struct LoopHooks {
  // Runs one step, filling in its metrics (the loop sets step, flops and
  // wall_s, and writes the line at log points) and a short progress note.
  std::function<void(int64_t step, MetricsLine* metrics, std::string* note)> step;
  std::function<void(int64_t step)> save;  // may be empty
};

// Runs from `start_step` (0, or the resumed checkpoint's step). Returns the last step.
int64_t RunLoop(const LoopSpec& spec, int64_t start_step, const LoopHooks& hooks);

// What a checkpointed run hands to RunCheckpointedLoop: its step function
// and the state a checkpoint must carry. The policy, its optimizer and each
// further model (critic, reference, reward model, with its optimizer if it
// has one) go to one checkpoint file, written atomically.
struct StrategyLoop {
  int64_t steps = 0;
  int log_every = 1;
  int checkpoint_every = 0;  // 0 = eval points and the end only
  torch::optim::Optimizer* optimizer = nullptr;
  Rng* rng = nullptr;
  std::vector<CheckpointPart> parts;  // e.g. {"critic", &critic, &critic_optimizer}
  std::vector<FlopPhase> budget_exempt;  // LoopSpec::budget_exempt
  int64_t* tokens = nullptr;  // a counter restored with the FLOPs
  // Work before step 0 (e.g. training a reward model); may be empty. It runs
  // only on a fresh start and is followed by a checkpoint at step 0, so a
  // resumed run never repeats it.
  std::function<void()> init;
  std::function<void(int64_t step, MetricsLine* metrics, std::string* note)> step;
  // State the strategy keeps beside its models (e.g. a replay buffer): text
  // written into each checkpoint and handed back on resume. May be empty.
  std::function<std::string()> save_state;
  std::function<void(const std::string&)> restore_state;
};

// The one resume path: resumes from `checkpoint_path` if it exists (else runs
// loop.init), then runs RunLoop from the resumed step, checkpointing as it
// goes (no path: no checkpoints). spec.steps and spec.log_every come from
// `loop`. Returns the last step.
int64_t RunCheckpointedLoop(LoopSpec spec, Transformer& policy, const std::string& checkpoint_path,
                            const StrategyLoop& loop);

// Counters a resumable run keeps in its checkpoint's `extra` field: FLOPs by
// phase, a token count, and the wall seconds spent up to the checkpoint (so
// wall times add up across resumes).
std::string FlopState(const FlopCounter& f, int64_t tokens, double wall_s);
void RestoreFlopState(const std::string& extra, const std::string& path, FlopCounter* f, int64_t* tokens,
                      double* wall_s);
// The wall seconds a checkpoint's run had spent (0 for checkpoints written
// before wall time was stored), from its meta as read from `path`.
double CheckpointWallSeconds(const CheckpointMeta& meta, const std::string& path);

}  // namespace r1lab

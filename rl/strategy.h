// Strategies: the training methods an experiment arm can run (SFT now; GRPO,
// PPO, PRM-RL and MCTS self-search plug in the same way).
//
// A Strategy trains ctx.policy, which starts as a copy of the shared base,
// until its own step count or the arm's FLOP budget is spent, writes its
// metrics lines, calls ctx.evaluate at its eval interval, and checkpoints to
// ctx.checkpoint_path so an interrupted run resumes. Strategies are keyed by
// the Arm.strategy oneof case, never by free strings.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "flops.h"
#include "io.h"
#include "rng.h"
#include "r1lab.pb.h"
#include "task.h"
#include "transformer.h"

namespace r1lab {

struct StrategyContext {
  const ExperimentConfig* experiment = nullptr;
  const Arm* arm = nullptr;
  uint64_t seed = 0;
  const Task* task = nullptr;
  Transformer* policy = nullptr;
  FlopCounter* flops = nullptr;
  JsonlWriter* metrics = nullptr;
  std::string checkpoint_path;
  // Held-out evaluation of the current policy; returns the eval JSON object.
  std::function<std::string(int64_t step)> evaluate;
  std::string label;  // for progress lines, e.g. "sft seed 1"
};

// What an RL strategy hands to RunStrategyLoop: its step function and the
// state a checkpoint must carry. The policy and its optimizer go to
// ctx.checkpoint_path; each auxiliary model (critic, reference) beside it
// ("checkpoint.pt" -> "checkpoint<suffix>.pt"), with its optimizer if it has one.
struct StrategyLoop {
  int64_t steps = 0;
  int log_every = 1;
  torch::optim::Optimizer* optimizer = nullptr;
  Rng* rng = nullptr;
  struct Aux {
    std::string suffix;
    Transformer* model;
    torch::optim::Optimizer* optimizer;  // may be null
  };
  std::vector<Aux> aux;
  int64_t* tokens = nullptr;  // a counter restored with the FLOPs
  // Work before step 0 (e.g. training a reward model); may be empty. It runs
  // only on a fresh start and is followed by a checkpoint at step 0, so a
  // resumed run never repeats it.
  std::function<void()> init;
  std::function<std::string(int64_t step, std::string* note)> step;
};
// Resumes from ctx.checkpoint_path if it exists (else runs loop.init), then
// runs RunLoop with the arm's budget and the experiment's eval interval,
// checkpointing as it goes. Returns the last step.
int64_t RunStrategyLoop(StrategyContext& ctx, const StrategyLoop& loop);

class Strategy {
 public:
  virtual ~Strategy() = default;
  virtual void Train(StrategyContext& ctx) = 0;
};

using StrategyFactory = std::function<std::unique_ptr<Strategy>(const Arm&)>;

// Registers the factory for one oneof case; later layers add theirs.
void RegisterStrategy(Arm::StrategyCase which, StrategyFactory factory);
// ConfigError if no strategy is registered for the arm's case.
std::unique_ptr<Strategy> MakeStrategy(const Arm& arm);

}  // namespace r1lab

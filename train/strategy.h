// Strategies: the training methods an experiment arm can run, and the one
// registry that knows them.
//
// A Strategy trains ctx.policy, which starts as a copy of the shared base,
// until its own step count or the arm's FLOP budget is spent, writes its
// metrics lines, calls ctx.evaluate at its eval interval, and checkpoints to
// ctx.checkpoint_path so an interrupted run resumes.
//
// Adding a strategy: a case in the Arm.strategy oneof (proto/r1lab.proto)
// and one file that defines the strategy and registers it with one line,
//   R1LAB_REGISTER_STRATEGY(Arm::kGrpo, GrpoStrategy, CheckGrpoArm, QuickGrpo, ScaleGrpo, kGrpoSpace);
// giving its config check, its --quick shortening, its budget-curve scaling and
// its tuning space next to its code.
// Strategies are keyed by the oneof case, never by free strings, and never
// include each other: what two share lives in train/.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "config.h"
#include "flops.h"
#include "io.h"
#include "loop.h"
#include "r1lab.pb.h"
#include "rng.h"
#include "task.h"
#include "transformer.h"

namespace r1lab {

class Dist;
class RewardSource;

struct StrategyContext {
  const ExperimentConfig* experiment = nullptr;
  const Arm* arm = nullptr;
  uint64_t seed = 0;
  const Task* task = nullptr;
  Transformer* policy = nullptr;
  FlopCounter* flops = nullptr;
  JsonlWriter* metrics = nullptr;
  std::string checkpoint_path;
  // Held-out evaluation of the current policy.
  std::function<EvalRecord(int64_t step)> evaluate;
  std::string label;  // for progress lines, e.g. "sft seed 1"
  // Data-parallel (train/data_parallel.h): the ranks sharing this run's
  // steps (null: none). Ranks other than 0 resume from the checkpoint but
  // never write it, and have no metrics writer.
  Dist* data_parallel = nullptr;
  bool checkpoint_read_only = false;
};

// Runs `loop` under the arm's FLOP budget and the experiment's eval interval,
// checkpointing to ctx.checkpoint_path (resuming from it if it exists).
// Returns the last step.
int64_t RunStrategyLoop(StrategyContext& ctx, const StrategyLoop& loop);

class Strategy {
 public:
  virtual ~Strategy() = default;
  virtual void Train(StrategyContext& ctx) = 0;
};

// What a strategy registers: how to make it, its cross-field config rules
// (ranges are the proto's (min)/(max) options; empty: none) and how --quick
// shortens it (the runner has already cut flop_budget to a third; empty:
// nothing more).
struct StrategyInfo {
  Arm::StrategyCase which = Arm::STRATEGY_NOT_SET;
  std::function<std::unique_ptr<Strategy>(const Arm&)> make;
  ArmCheck check;
  std::function<void(Arm*)> quick;
  // Multiplies the arm's step count by a factor (a budget curve's point:
  // ExperimentConfig.budgets); its fixed costs stay as they are.
  std::function<void(Arm*, double)> scale_steps;
  // What `r1lab tune` searches for this strategy unless the experiment gives
  // a space: TuneSpace text ("params { path: \"grpo.optim.lr\" values: [...] }").
  std::string tune_space;
};

// Registers one oneof case (a second registration of the same case is an
// InternalError). Returns true, for static initialisers.
bool RegisterStrategy(StrategyInfo info);
// ConfigError if no strategy is registered for the arm's case.
std::unique_ptr<Strategy> MakeStrategy(const Arm& arm);
// Applies the arm's registered --quick shortening.
void QuickenArm(Arm* arm);

// Applies the arm's registered step scaling.
void ScaleArmSteps(Arm* arm, double factor);
// The search space the arm's strategy declares (TuneSpace.arm unset).
TuneSpace DeclaredTuneSpace(const Arm& arm);

// The steps of a --quick arm: a third, at least one.
inline int QuickSteps(int steps) { return steps / 3 > 1 ? steps / 3 : 1; }
// `steps` times `factor`, rounded up, at least one.
int ScaledSteps(int steps, double factor);

#define R1LAB_REGISTER_STRATEGY(which, StrategyClass, check, quick, scale_steps, tune_space)        \
  static const bool r1lab_registered_##StrategyClass = ::r1lab::RegisterStrategy(                    \
      {which, [](const ::r1lab::Arm& a) -> std::unique_ptr<::r1lab::Strategy> {                       \
         return std::make_unique<StrategyClass>(a);                                                  \
       },                                                                                            \
       check, quick, scale_steps, tune_space})

}  // namespace r1lab

#include "strategy.h"

#include <cmath>

#include <map>
#include <mutex>

#include "error.h"

namespace r1lab {

namespace {

std::mutex& RegistryMutex() {
  static std::mutex m;
  return m;
}

std::map<Arm::StrategyCase, StrategyInfo>& Registry() {
  static std::map<Arm::StrategyCase, StrategyInfo> r;
  return r;
}

const StrategyInfo& Find(const Arm& arm) {
  auto it = Registry().find(arm.strategy_case());
  if (it == Registry().end())
    throw ConfigError("arm '" + arm.name() + "': no strategy registered for this strategy kind");
  return it->second;
}

}  // namespace

int64_t RunStrategyLoop(StrategyContext& ctx, const StrategyLoop& loop) {
  LoopSpec spec;
  spec.flop_budget = ctx.arm->flop_budget();
  spec.eval_every = ctx.experiment->eval().eval_every();
  spec.label = ctx.label;
  spec.metrics = ctx.metrics;
  spec.flops = ctx.flops;
  spec.eval = ctx.evaluate;
  spec.read_only_checkpoint = ctx.checkpoint_read_only;
  spec.data_parallel = ctx.data_parallel;
  return RunCheckpointedLoop(spec, *ctx.policy, ctx.checkpoint_path, loop);
}

bool RegisterStrategy(StrategyInfo info) {
  std::lock_guard<std::mutex> lock(RegistryMutex());
  R1_CHECK(!Registry().count(info.which), "strategy registered twice");
  if (info.check) RegisterArmCheck(info.which, info.check);
  Registry()[info.which] = std::move(info);
  return true;
}

std::unique_ptr<Strategy> MakeStrategy(const Arm& arm) {
  std::lock_guard<std::mutex> lock(RegistryMutex());
  return Find(arm).make(arm);
}

void QuickenArm(Arm* arm) {
  std::lock_guard<std::mutex> lock(RegistryMutex());
  const StrategyInfo& info = Find(*arm);
  if (info.quick) info.quick(arm);
}

void ScaleArmSteps(Arm* arm, double factor) {
  std::lock_guard<std::mutex> lock(RegistryMutex());
  const StrategyInfo& info = Find(*arm);
  R1_CHECK(info.scale_steps, "a strategy without step scaling");
  info.scale_steps(arm, factor);
}

TuneSpace DeclaredTuneSpace(const Arm& arm) {
  std::string text;
  {
    std::lock_guard<std::mutex> lock(RegistryMutex());
    text = Find(arm).tune_space;
  }
  TuneSpace space;
  ParseConfigText(text, "<the tune space strategy " + std::to_string(arm.strategy_case()) + " declares>", &space);
  return space;
}

int ScaledSteps(int steps, double factor) {
  const double s = std::ceil(static_cast<double>(steps) * factor);
  return s < 1 ? 1 : s > 1e9 ? 1000000000 : static_cast<int>(s);
}

}  // namespace r1lab

#include "strategy.h"

#include <cstdio>
#include <map>
#include <mutex>

#include "checkpoint.h"
#include "config.h"
#include "error.h"
#include "grpo.h"
#include "loop.h"
#include "ppo.h"
#include "prm_rl.h"
#include "self_search.h"
#include "sft.h"

namespace r1lab {

namespace {

// SFT on teacher traces: the distillation baseline. With a clean teacher
// (step_error_rate 0) it is R1's "distil from a stronger model".
class SftStrategy : public Strategy {
 public:
  explicit SftStrategy(const Arm& arm) : arm_(arm) {}
  void Train(StrategyContext& ctx) override {
    SftRun run;
    run.cfg = arm_.sft();
    run.teacher = EffectiveTeacher(ctx.experiment->task(), arm_.sft());
    run.seed = ctx.seed;
    run.flop_budget = arm_.flop_budget();
    run.checkpoint_path = ctx.checkpoint_path;
    run.metrics = ctx.metrics;
    run.eval_every = ctx.experiment->eval().eval_every();
    run.eval = ctx.evaluate;
    run.label = ctx.label;
    RunSft(*ctx.policy, *ctx.task, run, ctx.flops);
  }

 private:
  Arm arm_;
};

class GrpoStrategy : public Strategy {
 public:
  explicit GrpoStrategy(const Arm& arm) : arm_(arm) {}
  void Train(StrategyContext& ctx) override { RunGrpo(arm_.grpo(), ctx); }

 private:
  Arm arm_;
};

class PrmRlStrategy : public Strategy {
 public:
  explicit PrmRlStrategy(const Arm& arm) : arm_(arm) {}
  void Train(StrategyContext& ctx) override { RunPrmRl(arm_.prm_rl(), ctx); }

 private:
  Arm arm_;
};

class MctsStrategy : public Strategy {
 public:
  explicit MctsStrategy(const Arm& arm) : arm_(arm) {}
  void Train(StrategyContext& ctx) override { RunSelfSearch(arm_.mcts(), ctx); }

 private:
  Arm arm_;
};

class PpoStrategy : public Strategy {
 public:
  explicit PpoStrategy(const Arm& arm) : arm_(arm) {}
  void Train(StrategyContext& ctx) override { RunPpo(arm_.ppo(), ctx); }

 private:
  Arm arm_;
};

std::mutex& RegistryMutex() {
  static std::mutex m;
  return m;
}

std::map<Arm::StrategyCase, StrategyFactory>& Registry() {
  static std::map<Arm::StrategyCase, StrategyFactory> r = {
      {Arm::kSft, [](const Arm& a) { return std::make_unique<SftStrategy>(a); }},
      {Arm::kGrpo, [](const Arm& a) { return std::make_unique<GrpoStrategy>(a); }},
      {Arm::kPpo, [](const Arm& a) { return std::make_unique<PpoStrategy>(a); }},
      {Arm::kPrmRl, [](const Arm& a) { return std::make_unique<PrmRlStrategy>(a); }},
      {Arm::kMcts, [](const Arm& a) { return std::make_unique<MctsStrategy>(a); }},
  };
  return r;
}

}  // namespace

// "run/checkpoint.pt" + ".critic" -> "run/checkpoint.critic.pt"
std::string AuxPath(const std::string& path, const std::string& suffix) {
  const bool pt = path.size() > 3 && path.compare(path.size() - 3, 3, ".pt") == 0;
  return pt ? path.substr(0, path.size() - 3) + suffix + ".pt" : path + suffix;
}

int64_t RunStrategyLoop(StrategyContext& ctx, const StrategyLoop& loop) {
  int64_t start = 0;
  const std::string& path = ctx.checkpoint_path;
  const bool resume = !path.empty() && FileExists(path);
  if (resume) {
    const CheckpointMeta meta = LoadCheckpoint(path, *ctx.policy, loop.optimizer);
    for (const auto& a : loop.aux) LoadCheckpoint(AuxPath(path, a.suffix), *a.model, a.optimizer);
    RestoreFlopState(meta.extra, path, ctx.flops, loop.tokens);
    loop.rng->SetState(meta.rng_state);
    start = meta.step;
    std::fprintf(stderr, "%s: resumed from %s at step %lld\n", ctx.label.c_str(), path.c_str(),
                 static_cast<long long>(start));
  }
  LoopSpec spec;
  spec.steps = loop.steps;
  spec.flop_budget = ctx.arm->flop_budget();
  spec.log_every = loop.log_every;
  spec.eval_every = ctx.experiment->eval().eval_every();
  spec.label = ctx.label;
  spec.metrics = ctx.metrics;
  spec.flops = ctx.flops;
  spec.eval = ctx.evaluate;
  LoopHooks hooks;
  hooks.step = loop.step;
  if (!path.empty()) {
    hooks.save = [&](int64_t step) {
      // Auxiliary models first: the policy checkpoint is what marks a step as saved.
      for (const auto& a : loop.aux) SaveCheckpoint(AuxPath(path, a.suffix), *a.model, a.optimizer, {step, "", ""});
      SaveCheckpoint(path, *ctx.policy, loop.optimizer, {step, loop.rng->State(), FlopState(*ctx.flops, *loop.tokens)});
    };
  }
  if (!resume && loop.init) {
    loop.init();
    if (hooks.save) hooks.save(0);
  }
  return RunLoop(spec, start, hooks);
}

void RegisterStrategy(Arm::StrategyCase which, StrategyFactory factory) {
  std::lock_guard<std::mutex> lock(RegistryMutex());
  Registry()[which] = std::move(factory);
}

std::unique_ptr<Strategy> MakeStrategy(const Arm& arm) {
  std::lock_guard<std::mutex> lock(RegistryMutex());
  auto it = Registry().find(arm.strategy_case());
  if (it == Registry().end())
    throw ConfigError("arm '" + arm.name() + "': no strategy registered for this strategy kind");
  return it->second(arm);
}

}  // namespace r1lab

// The GRPO arm (R1-Zero): GRPO with rule rewards under the shared loop, with
// eval, checkpoints and resume. The step itself is train/grpo_trainer.h,
// which PRM-RL shares.
#include "grpo_trainer.h"
#include "strategy.h"

namespace r1lab {
namespace {

class GrpoStrategy : public Strategy {
 public:
  explicit GrpoStrategy(const Arm& arm) : cfg_(arm.grpo()) {}
  void Train(StrategyContext& ctx) override {
    GrpoTrainer trainer(*ctx.policy, *ctx.task, cfg_, ctx.seed, ctx.flops);
    trainer.set_data_parallel(ctx.data_parallel, "arm '" + ctx.arm->name() + "': grpo.prompts_per_step");
    RunStrategyLoop(ctx, trainer.Loop());
  }

 private:
  GrpoConfig cfg_;
};

void CheckGrpoArm(const Arm& a, const ExperimentConfig&, const std::string& p, const std::string& src) {
  CheckGrpoConfig(a.grpo(), p + ".grpo", src);
}

void QuickGrpo(Arm* a) { a->mutable_grpo()->set_steps(QuickSteps(a->grpo().steps())); }

void ScaleGrpo(Arm* a, double f) { a->mutable_grpo()->set_steps(ScaledSteps(a->grpo().steps(), f)); }

// Learning rate, KL coefficient and clip range: what R1-style trainers tune.
constexpr const char* kGrpoSpace = R"(
  params { path: "grpo.optim.lr" values: [3e-5, 1e-4, 3e-4] }
  params { path: "grpo.kl_coef" values: [0, 0.001, 0.01] }
  params { path: "grpo.clip_low" values: [0.1, 0.2, 0.3] }
)";

R1LAB_REGISTER_STRATEGY(Arm::kGrpo, GrpoStrategy, CheckGrpoArm, QuickGrpo, ScaleGrpo, kGrpoSpace);

}  // namespace
}  // namespace r1lab

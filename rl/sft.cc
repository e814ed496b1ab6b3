#include "sft.h"

#include <cmath>
#include <cstdio>

#include "error.h"
#include "loop.h"
#include "strategy.h"
#include "tokenizer.h"

namespace r1lab {

SftTrainer::SftTrainer(Transformer& model, const Task& task, const SftConfig& cfg, const TeacherConfig& teacher,
                       uint64_t seed, FlopCounter* flops)
    : model_(model), task_(task), cfg_(cfg), teacher_(teacher), rng_(seed), flops_(flops),
      optimizer_(MakeAdamW(model, cfg.optim())) {}

TokenBatch SftTrainer::NextBatch() {
  std::vector<std::pair<std::string, std::string>> pc;
  for (int i = 0; i < cfg_.batch_size(); ++i) {
    const Problem p = task_.SampleTrain(rng_);
    pc.emplace_back(p.prompt, TeachTrace(task_, p, teacher_, rng_).completion);
  }
  return MakeTokenBatch(pc, model_->tokenizer(), model_->config().max_seq_len());
}

double SftTrainer::Step() {
  const TokenBatch whole = NextBatch();
  lr_ = ScheduledLr(cfg_.optim(), step_, cfg_.steps());
  const double loss = SharedCrossEntropyStep(model_, optimizer_, whole, lr_, cfg_.optim().grad_clip(), flops_, dp_);
  for (int64_t L : whole.lengths) tokens_trained_ += L;  // the whole batch's, on every rank
  ++step_;
  return loss;
}

double SftTrainer::Step(int64_t step) {
  step_ = step;
  return Step();
}

int64_t RunSft(Transformer& model, const Task& task, const SftRun& run, FlopCounter* flops) {
  SftTrainer trainer(model, task, run.cfg, run.teacher, run.seed, flops);
  trainer.set_data_parallel(run.data_parallel);
  LoopSpec spec;
  spec.read_only_checkpoint = run.read_only_checkpoint;
  spec.data_parallel = run.data_parallel;
  spec.flop_budget = run.flop_budget;
  spec.eval_every = run.eval_every;
  spec.label = run.label;
  spec.metrics = run.metrics;
  spec.flops = flops;
  spec.eval = run.eval;
  StrategyLoop loop;
  loop.steps = run.cfg.steps();
  loop.log_every = run.cfg.log_every();
  loop.checkpoint_every = run.checkpoint_every;
  loop.optimizer = &trainer.optimizer();
  loop.rng = &trainer.rng();
  loop.tokens = trainer.mutable_tokens_trained();
  double loss_acc = 0;
  int loss_n = 0;
  loop.step = [&](int64_t step, MetricsLine* m, std::string* note) {
    loss_acc += trainer.Step(step);
    ++loss_n;
    const double mean = loss_acc / loss_n;
    char buf[32];
    std::snprintf(buf, sizeof buf, "loss %.3f", mean);
    *note = buf;
    if ((step + 1) % run.cfg.log_every() != 0 && step + 1 != run.cfg.steps()) return;
    loss_acc = 0, loss_n = 0;
    m->set_loss(mean);
    m->set_lr(trainer.lr());
    m->set_tokens_trained(static_cast<double>(trainer.tokens_trained()));
  };
  return RunCheckpointedLoop(spec, model, run.checkpoint_path, loop);
}

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
    run.data_parallel = ctx.data_parallel;
    run.read_only_checkpoint = ctx.checkpoint_read_only;
    RunSft(*ctx.policy, *ctx.task, run, ctx.flops);
  }

 private:
  Arm arm_;
};

void QuickSft(Arm* arm) { arm->mutable_sft()->set_steps(QuickSteps(arm->sft().steps())); }

void ScaleSft(Arm* a, double f) { a->mutable_sft()->set_steps(ScaledSteps(a->sft().steps(), f)); }

constexpr const char* kSftSpace = R"(
  params { path: "sft.optim.lr" values: [1e-4, 3e-4, 1e-3, 3e-3] }
)";

R1LAB_REGISTER_STRATEGY(Arm::kSft, SftStrategy, nullptr, QuickSft, ScaleSft, kSftSpace);

}  // namespace

}  // namespace r1lab

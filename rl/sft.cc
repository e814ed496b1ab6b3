#include "sft.h"

#include <cmath>
#include <cstdio>

#include "checkpoint.h"
#include "error.h"
#include "json.h"
#include "loop.h"
#include "tokenizer.h"

namespace r1lab {

TokenBatch BatchFromIds(const std::vector<std::vector<int>>& prompts,
                        const std::vector<std::vector<int>>& completions) {
  R1_CHECK(prompts.size() == completions.size(), "BatchFromIds: prompts and completions differ in number");
  const int64_t B = static_cast<int64_t>(prompts.size());
  int64_t T = 2;
  for (int64_t i = 0; i < B; ++i)
    T = std::max<int64_t>(T, static_cast<int64_t>(prompts[i].size() + completions[i].size()));
  TokenBatch b;
  b.tokens = torch::full({B, T}, Tokenizer::kPad, torch::kLong);
  b.loss_mask = torch::zeros({B, T - 1}, torch::kFloat);
  auto ta = b.tokens.accessor<int64_t, 2>();
  auto ma = b.loss_mask.accessor<float, 2>();
  for (int64_t i = 0; i < B; ++i) {
    const int64_t P = static_cast<int64_t>(prompts[i].size());
    const int64_t L = P + static_cast<int64_t>(completions[i].size());
    for (int64_t t = 0; t < P; ++t) ta[i][t] = prompts[i][t];
    for (int64_t t = P; t < L; ++t) ta[i][t] = completions[i][t - P];
    for (int64_t t = P - 1; t < L - 1; ++t) ma[i][t] = 1.0f;
    b.lengths.push_back(L);
  }
  return b;
}

TokenBatch MakeTokenBatch(const std::vector<std::pair<std::string, std::string>>& pc, int max_seq_len) {
  const Tokenizer& tok = Tokenizer::Get();
  std::vector<std::vector<int>> prompts, completions;
  for (const auto& [prompt, completion] : pc) {
    const std::vector<int> p = tok.EncodePrompt(prompt);
    std::vector<int> c = tok.Encode(completion);
    c.push_back(Tokenizer::kEos);
    if (static_cast<int>(p.size() + c.size()) > max_seq_len)
      throw InputError("a training sequence of " + std::to_string(p.size() + c.size()) +
                       " tokens exceeds model.max_seq_len=" + std::to_string(max_seq_len) + " (prompt '" + prompt +
                       "')");
    prompts.push_back(std::move(p));
    completions.push_back(std::move(c));
  }
  return BatchFromIds(prompts, completions);
}

torch::optim::AdamW MakeAdamW(Transformer& model, const OptimConfig& cfg) {
  return torch::optim::AdamW(model->parameters(), torch::optim::AdamWOptions(cfg.lr())
                                                      .betas({cfg.beta1(), cfg.beta2()})
                                                      .weight_decay(cfg.weight_decay()));
}

double ScheduledLr(const OptimConfig& cfg, int64_t step, int64_t total) {
  if (step < cfg.warmup_steps()) return cfg.lr() * (step + 1) / cfg.warmup_steps();
  const double span = std::max<int64_t>(1, total - cfg.warmup_steps());
  const double progress = std::min(1.0, (step - cfg.warmup_steps()) / span);
  const double floor = cfg.min_lr_ratio();
  return cfg.lr() * (floor + (1 - floor) * 0.5 * (1 + std::cos(M_PI * progress)));
}

SftTrainer::SftTrainer(Transformer& model, const Task& task, const SftConfig& cfg, const TeacherConfig& teacher,
                       uint64_t seed, FlopCounter* flops)
    : model_(model), task_(task), cfg_(cfg), teacher_(teacher), rng_(seed), flops_(flops),
      optimizer_(MakeAdamW(model, cfg.optim())) {}

void SftTrainer::Restore(int64_t step, const std::string& rng_state, int64_t tokens_trained) {
  step_ = step;
  rng_.SetState(rng_state);
  tokens_trained_ = tokens_trained;
}

TokenBatch SftTrainer::NextBatch() {
  std::vector<std::pair<std::string, std::string>> pc;
  for (int i = 0; i < cfg_.batch_size(); ++i) {
    const Problem p = task_.SampleTrain(rng_);
    pc.emplace_back(p.prompt, task_.Teach(p, teacher_, rng_).completion);
  }
  return MakeTokenBatch(pc, model_->config().max_seq_len());
}

double CrossEntropyStep(Transformer& model, torch::optim::Optimizer& opt, const TokenBatch& b, double lr,
                        double grad_clip, FlopCounter* flops) {
  model->train();
  const auto dev = model->device();
  for (auto& g : opt.param_groups()) static_cast<torch::optim::AdamWOptions&>(g.options()).lr(lr);
  opt.zero_grad();
  const torch::Tensor tokens = b.tokens.to(dev);
  torch::Tensor lp = NextTokenStats(model->forward(tokens).logits, tokens, 1.0).logprobs;
  torch::Tensor mask = b.loss_mask.to(dev, lp.scalar_type());
  torch::Tensor loss = -(lp * mask).sum() / mask.sum();
  loss.backward();
  if (grad_clip > 0) torch::nn::utils::clip_grad_norm_(model->parameters(), grad_clip);
  opt.step();
  double f = 0;
  for (int64_t L : b.lengths) f += 3 * ForwardFlopsSequence(model->config(), model->vocab_size(), L);
  if (flops) flops->Add(FlopPhase::kTrain, f);
  return loss.item<double>();
}

double SftTrainer::Step() {
  const TokenBatch b = NextBatch();
  lr_ = ScheduledLr(cfg_.optim(), step_, cfg_.steps());
  const double loss = CrossEntropyStep(model_, optimizer_, b, lr_, cfg_.optim().grad_clip(), flops_);
  for (int64_t L : b.lengths) tokens_trained_ += L;
  ++step_;
  return loss;
}

int64_t RunSft(Transformer& model, const Task& task, const SftRun& run, FlopCounter* flops) {
  SftTrainer trainer(model, task, run.cfg, run.teacher, run.seed, flops);
  int64_t start = 0;
  if (!run.checkpoint_path.empty() && FileExists(run.checkpoint_path)) {
    const CheckpointMeta meta = LoadCheckpoint(run.checkpoint_path, model, &trainer.optimizer());
    int64_t tokens = 0;
    RestoreFlopState(meta.extra, run.checkpoint_path, flops, &tokens);
    trainer.Restore(meta.step, meta.rng_state, tokens);
    start = meta.step;
    std::fprintf(stderr, "%s: resumed from %s at step %lld\n", run.label.c_str(), run.checkpoint_path.c_str(),
                 static_cast<long long>(start));
  }
  LoopSpec spec;
  spec.steps = run.cfg.steps();
  spec.flop_budget = run.flop_budget;
  spec.log_every = run.cfg.log_every();
  spec.eval_every = run.eval_every;
  spec.checkpoint_every = run.checkpoint_every;
  spec.label = run.label;
  spec.metrics = run.metrics;
  spec.flops = flops;
  spec.eval = run.eval;
  double loss_acc = 0;
  int loss_n = 0;
  LoopHooks hooks;
  hooks.step = [&](int64_t step, std::string* note) {
    loss_acc += trainer.Step();
    ++loss_n;
    const double mean = loss_acc / loss_n;
    char buf[32];
    std::snprintf(buf, sizeof buf, "loss %.3f", mean);
    *note = buf;
    if ((step + 1) % run.cfg.log_every() != 0 && step + 1 != run.cfg.steps()) return std::string();
    loss_acc = 0, loss_n = 0;
    return Json()
        .Add("loss", mean)
        .Add("lr", trainer.lr())
        .Add("tokens_trained", trainer.tokens_trained())
        .members();
  };
  if (!run.checkpoint_path.empty()) {
    hooks.save = [&](int64_t step) {
      SaveCheckpoint(run.checkpoint_path, model, &trainer.optimizer(),
                     {step, trainer.rng().State(), FlopState(*flops, trainer.tokens_trained())});
    };
  }
  return RunLoop(spec, start, hooks);
}

}  // namespace r1lab

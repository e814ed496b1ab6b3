#include "sft.h"

#include <chrono>
#include <cmath>
#include <cstdio>

#include "checkpoint.h"
#include "error.h"
#include "json.h"
#include "progress.h"
#include "tokenizer.h"

namespace r1lab {

TokenBatch MakeTokenBatch(const std::vector<std::pair<std::string, std::string>>& pc, int max_seq_len) {
  const Tokenizer& tok = Tokenizer::Get();
  std::vector<std::vector<int>> seqs;
  std::vector<int64_t> prompt_len;
  int64_t T = 0;
  for (const auto& [prompt, completion] : pc) {
    std::vector<int> s = {Tokenizer::kBos};
    const auto p = tok.Encode(prompt);
    s.insert(s.end(), p.begin(), p.end());
    prompt_len.push_back(static_cast<int64_t>(s.size()));
    const auto c = tok.Encode(completion);
    s.insert(s.end(), c.begin(), c.end());
    s.push_back(Tokenizer::kEos);
    if (static_cast<int>(s.size()) > max_seq_len)
      throw InputError("a training sequence of " + std::to_string(s.size()) + " tokens exceeds model.max_seq_len=" +
                       std::to_string(max_seq_len) + " (prompt '" + prompt + "')");
    T = std::max<int64_t>(T, static_cast<int64_t>(s.size()));
    seqs.push_back(std::move(s));
  }
  const int64_t B = static_cast<int64_t>(seqs.size());
  TokenBatch b;
  b.tokens = torch::full({B, T}, Tokenizer::kPad, torch::kLong);
  b.loss_mask = torch::zeros({B, T - 1}, torch::kFloat);
  auto ta = b.tokens.accessor<int64_t, 2>();
  auto ma = b.loss_mask.accessor<float, 2>();
  for (int64_t i = 0; i < B; ++i) {
    const int64_t L = static_cast<int64_t>(seqs[i].size());
    for (int64_t t = 0; t < L; ++t) ta[i][t] = seqs[i][t];
    for (int64_t t = prompt_len[i] - 1; t < L - 1; ++t) ma[i][t] = 1.0f;
    b.lengths.push_back(L);
  }
  return b;
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

double SftTrainer::Loss(const TokenBatch& b) {
  const auto dev = model_->device();
  torch::NoGradGuard no_grad;
  torch::Tensor lp = NextTokenStats(model_->forward(b.tokens).logits, b.tokens, 1.0).logprobs;  // [B, T-1]
  torch::Tensor mask = b.loss_mask.to(dev, lp.scalar_type());
  return (-(lp * mask).sum() / mask.sum()).item<double>();
}

double SftTrainer::Step() {
  model_->train();
  const TokenBatch b = NextBatch();
  const auto dev = model_->device();
  lr_ = ScheduledLr(cfg_.optim(), step_, cfg_.steps());
  for (auto& g : optimizer_.param_groups()) static_cast<torch::optim::AdamWOptions&>(g.options()).lr(lr_);
  optimizer_.zero_grad();
  torch::Tensor logits = model_->forward(b.tokens).logits;
  torch::Tensor lp = NextTokenStats(logits, b.tokens, 1.0).logprobs;
  torch::Tensor mask = b.loss_mask.to(dev, lp.scalar_type());
  torch::Tensor loss = -(lp * mask).sum() / mask.sum();
  loss.backward();
  if (cfg_.optim().grad_clip() > 0) torch::nn::utils::clip_grad_norm_(model_->parameters(), cfg_.optim().grad_clip());
  optimizer_.step();
  double f = 0;
  for (int64_t L : b.lengths) {
    f += 3 * ForwardFlopsSequence(model_->config(), model_->vocab_size(), L);
    tokens_trained_ += L;
  }
  if (flops_) flops_->Add(FlopPhase::kTrain, f);
  ++step_;
  return loss.item<double>();
}

int64_t RunSft(Transformer& model, const Task& task, const SftRun& run, FlopCounter* flops) {
  SftTrainer trainer(model, task, run.cfg, run.teacher, run.seed, flops);
  if (!run.checkpoint_path.empty() && FileExists(run.checkpoint_path)) {
    const CheckpointMeta meta = LoadCheckpoint(run.checkpoint_path, model, &trainer.optimizer());
    double train_flops = 0, gen_flops = 0;
    long long tokens = 0;
    if (std::sscanf(meta.extra.c_str(), "%lf %lf %lld", &train_flops, &gen_flops, &tokens) != 3)
      throw IoError(run.checkpoint_path + ": checkpoint lacks the SFT run's counters");
    trainer.Restore(meta.step, meta.rng_state, tokens);
    flops->Set(FlopPhase::kTrain, train_flops);
    flops->Set(FlopPhase::kGenerate, gen_flops);
    std::fprintf(stderr, "%s: resumed from %s at step %lld\n", run.label.c_str(), run.checkpoint_path.c_str(),
                 static_cast<long long>(meta.step));
  }
  auto save = [&]() {
    if (run.checkpoint_path.empty()) return;
    char extra[128];
    std::snprintf(extra, sizeof extra, "%.17g %.17g %lld", flops->Get(FlopPhase::kTrain),
                  flops->Get(FlopPhase::kGenerate), static_cast<long long>(trainer.tokens_trained()));
    SaveCheckpoint(run.checkpoint_path, model, &trainer.optimizer(), {trainer.step(), trainer.rng().State(), extra});
  };
  const auto t0 = std::chrono::steady_clock::now();
  Progress progress(run.label, run.cfg.steps());
  double loss_acc = 0;
  int loss_n = 0;
  auto budget_left = [&]() { return run.flop_budget <= 0 || flops->Total() < run.flop_budget; };
  while (trainer.step() < run.cfg.steps() && budget_left()) {
    loss_acc += trainer.Step();
    ++loss_n;
    const int64_t step = trainer.step();
    const bool last = step == run.cfg.steps() || !budget_left();
    if (run.metrics && (step % run.cfg.log_every() == 0 || last)) {
      const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      run.metrics->Write(Json()
                             .Add("step", step)
                             .Add("loss", loss_acc / loss_n)
                             .Add("lr", trainer.lr())
                             .Add("tokens_trained", trainer.tokens_trained())
                             .Add("flops", flops->Total())
                             .Add("wall_s", wall)
                             .str());
    }
    if (run.eval && run.eval_every > 0 && (step % run.eval_every == 0 || last)) {
      const std::string point = run.eval(step);
      if (run.metrics)
        run.metrics->Write(Json().Add("step", step).Add("flops", flops->Total()).AddRaw("eval", point).str());
      save();
    } else if (run.checkpoint_every > 0 && step % run.checkpoint_every == 0) {
      save();
    }
    char extra[64];
    std::snprintf(extra, sizeof extra, "loss %.3f", loss_acc / loss_n);
    progress.Update(step, extra);
    if (step % run.cfg.log_every() == 0) loss_acc = 0, loss_n = 0;
  }
  save();
  progress.Finish();
  return trainer.step();
}

}  // namespace r1lab

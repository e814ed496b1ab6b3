// Learning tests: tiny configs that must reach a stated result.
#include <gtest/gtest.h>

#include "arith.h"
#include "evaluator.h"
#include "optim.h"
#include "sft.h"
#include "test_util.h"
#include "token_batch.h"
#include "tokenizer.h"

namespace r1lab {
namespace {

using testing::ParseResolved;

TEST(Learning, TinyModelOverfitsAFewTracesToNearZeroLoss) {
  ArithTask task(ParseResolved<TaskConfig>("arith {} num_test: 10"));
  Rng rng(1);
  std::vector<std::pair<std::string, std::string>> pc;
  for (int i = 0; i < 4; ++i) {
    const Problem p = task.SampleTrain(rng);
    pc.emplace_back(p.prompt, task.Teach(p, TeacherConfig(), rng).completion);
  }
  const TokenBatch batch = MakeTokenBatch(pc, Tokenizer::Get(), 64);
  Transformer m = MakeModel(testing::TinyModel(), Tokenizer::Get().vocab_size());
  // The trainers' schedule (cosine to a tenth): at a constant 3e-3, Adam's
  // step at near-zero loss can spike it (0.0065 to 1.2 within four steps with
  // OpenBLAS's SkylakeX kernels, not with its Prescott ones).
  OptimConfig oc = ParseResolved<OptimConfig>("lr: 0.003 weight_decay: 0 warmup_steps: 0 min_lr_ratio: 0.1");
  auto opt = MakeAdamW(m, oc);
  double first = 0, last = 0;
  for (int step = 0; step < 250; ++step) {
    SetLr(opt, ScheduledLr(oc, step, 250));
    opt.zero_grad();
    torch::Tensor lp = NextTokenStats(m->forward(batch.tokens).logits, batch.tokens).logprobs;
    torch::Tensor loss = -(lp * batch.loss_mask).sum() / batch.loss_mask.sum();
    loss.backward();
    opt.step();
    (step == 0 ? first : last) = loss.item<double>();
  }
  EXPECT_GT(first, 3.0);  // ~ln(vocab) at init
  EXPECT_LT(last, 0.05);
}

TEST(Learning, PretrainingRaisesArithAccuracyFarAboveUntrained) {
  const TaskConfig tc = ParseResolved<TaskConfig>(
      "arith { min_ops: 1 max_ops: 2 max_operand: 9 } teacher { step_error_rate: 0 } num_test: 50");
  ArithTask task(tc);
  ModelConfig mc = testing::TinyModel(64, 2, 4);
  Transformer m = MakeModel(mc, Tokenizer::Get().vocab_size());
  EvalConfig ec = ParseResolved<EvalConfig>("num_problems: 50 samples_per_problem: 2 sampling { temperature: 0 max_new_tokens: 40 }");
  const EvalResult before = Evaluate(m, task, ec);
  SftConfig sc = ParseResolved<SftConfig>("steps: 400 batch_size: 32 optim { lr: 0.003 warmup_steps: 20 }");
  SftTrainer trainer(m, task, sc, tc.teacher(), 7, nullptr);
  for (int i = 0; i < sc.steps(); ++i) trainer.Step();
  m->eval();
  const EvalResult after = Evaluate(m, task, ec);
  EXPECT_LT(before.pass1, 0.05);
  EXPECT_GT(after.pass1, 0.5) << EvalTable(after);
  EXPECT_GT(after.format_rate, 0.9);
}

// Soft targets (MCTS visit counts): CrossEntropyStep's loss is the cross-
// entropy against each masked position's target distribution, in double
// against a hand computation; one-hot targets give the hard-token loss; and
// training moves the model's next-token distribution to the target.
TEST(Sft, SoftTargetsAreCrossEntropyAgainstADistribution) {
  ModelConfig mc = testing::TinyModel();
  mc.set_dtype(FLOAT64);
  const int V = Tokenizer::Get().vocab_size();
  TokenBatch b = MakeTokenBatch({{"2+3", "<think>5</think>"}, {"1+1", "<answer>2</answer>"}}, Tokenizer::Get(), 64);
  const int64_t B = b.tokens.size(0), T = b.tokens.size(1);
  const OptimConfig oc = ParseResolved<OptimConfig>("lr: 0.01 weight_decay: 0 grad_clip: 0");
  // One-hot targets: the hard loss.
  Transformer hard = MakeModel(mc, V), onehot = MakeModel(mc, V);
  auto opt_hard = MakeAdamW(hard, oc), opt_onehot = MakeAdamW(onehot, oc);
  TokenBatch ob = b;
  ob.targets = torch::one_hot(b.tokens.narrow(1, 1, T - 1), V).to(torch::kFloat);
  EXPECT_NEAR(CrossEntropyStep(onehot, opt_onehot, ob, 0.01, 0, nullptr),
              CrossEntropyStep(hard, opt_hard, b, 0.01, 0, nullptr), 1e-12);
  // Half on token 10, half on token 11 at every masked position.
  Transformer m = MakeModel(mc, V);
  auto opt = MakeAdamW(m, oc);
  TokenBatch sb = b;
  sb.targets = torch::zeros({B, T - 1, V}, torch::kFloat);
  sb.targets.select(2, 10).fill_(0.5);
  sb.targets.select(2, 11).fill_(0.5);
  double expected = 0, n = 0;
  {
    torch::NoGradGuard ng;
    const torch::Tensor logp = torch::log_softmax(m->forward(b.tokens).logits, -1);
    for (int64_t i = 0; i < B; ++i)
      for (int64_t t = 0; t + 1 < T; ++t)
        if (b.loss_mask[i][t].item<double>() > 0) {
          expected -= 0.5 * (logp[i][t][10].item<double>() + logp[i][t][11].item<double>());
          n += 1;
        }
  }
  EXPECT_NEAR(CrossEntropyStep(m, opt, sb, 0.01, 0, nullptr), expected / n, 1e-12);
  // Learning: one position, target 0.7 / 0.3.
  TokenBatch one = b;
  one.loss_mask.zero_();
  one.loss_mask[0][3] = 1;
  one.targets = torch::zeros({B, T - 1, V}, torch::kFloat);
  one.targets[0][3][10] = 0.7;
  one.targets[0][3][11] = 0.3;
  for (int s = 0; s < 150; ++s) CrossEntropyStep(m, opt, one, 0.01, 0, nullptr);
  torch::NoGradGuard ng;
  const torch::Tensor p = torch::softmax(m->forward(b.tokens).logits[0][3], -1);
  EXPECT_NEAR(p[10].item<double>(), 0.7, 0.03);
  EXPECT_NEAR(p[11].item<double>(), 0.3, 0.03);
}

}  // namespace
}  // namespace r1lab

// Learning tests: tiny configs that must reach a stated result.
#include <gtest/gtest.h>

#include "arith.h"
#include "evaluator.h"
#include "sft.h"
#include "test_util.h"
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
  const TokenBatch batch = MakeTokenBatch(pc, 64);
  Transformer m = MakeModel(testing::TinyModel(), Tokenizer::Get().vocab_size());
  OptimConfig oc = ParseResolved<OptimConfig>("lr: 0.003 weight_decay: 0");
  auto opt = MakeAdamW(m, oc);
  double first = 0, last = 0;
  for (int step = 0; step < 250; ++step) {
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

}  // namespace
}  // namespace r1lab

#include <gtest/gtest.h>

#include "autocast.h"
#include "cpu_kernels.h"
#include "test_util.h"
#include "tokenizer.h"
#include "transformer.h"

namespace r1lab {
namespace {

using testing::TinyModel;

TEST(Transformer, OutputShapesAndHeads) {
  ModelConfig cfg = TinyModel();
  cfg.set_value_head(true);
  cfg.set_prm_head(true);
  Transformer m = MakeModel(cfg, Tokenizer::Get().vocab_size());
  torch::Tensor tokens = torch::randint(0, Tokenizer::Get().vocab_size(), {3, 11}, torch::kLong);
  ForwardOutput out = m->forward(tokens);
  EXPECT_EQ(out.logits.sizes(), (std::vector<int64_t>{3, 11, Tokenizer::Get().vocab_size()}));
  EXPECT_EQ(out.values.sizes(), (std::vector<int64_t>{3, 11}));
  EXPECT_EQ(out.prm_logits.sizes(), (std::vector<int64_t>{3, 11}));
  Transformer policy = MakeModel(TinyModel(), Tokenizer::Get().vocab_size());
  EXPECT_FALSE(policy->forward(tokens).values.defined());
  EXPECT_LT(policy->NumParameters(), m->NumParameters());
}

TEST(Transformer, SameSeedSameWeights) {
  Transformer a = MakeModel(TinyModel(), 50), b = MakeModel(TinyModel(), 50);
  torch::Tensor t = torch::arange(10).view({1, 10});
  EXPECT_TRUE(torch::equal(a->forward(t).logits, b->forward(t).logits));
  ModelConfig other = TinyModel();
  other.set_init_seed(9);
  Transformer c = MakeModel(other, 50);
  EXPECT_FALSE(torch::equal(a->forward(t).logits, c->forward(t).logits));
}

TEST(Transformer, IsCausal) {
  Transformer m = MakeModel(TinyModel(), 50);
  torch::Tensor a = torch::randint(0, 50, {1, 12}, torch::kLong), b = a.clone();
  b[0][9] = (a[0][9].item<int64_t>() + 1) % 50;
  torch::Tensor la = m->forward(a).logits, lb = m->forward(b).logits;
  EXPECT_TRUE(torch::allclose(la.narrow(1, 0, 9), lb.narrow(1, 0, 9)));
  EXPECT_FALSE(torch::allclose(la.narrow(1, 9, 3), lb.narrow(1, 9, 3)));
}

TEST(Transformer, LeftPaddingDoesNotChangeARow) {
  Transformer m = MakeModel(TinyModel(), 50);
  torch::NoGradGuard ng;
  torch::Tensor row = torch::randint(1, 50, {1, 7}, torch::kLong);
  torch::Tensor padded = torch::cat({torch::zeros({1, 3}, torch::kLong), row}, 1);
  torch::Tensor plain = m->forward(row).logits;
  torch::Tensor left = m->forward(padded, torch::tensor({3}, torch::kLong)).logits.narrow(1, 3, 7);
  EXPECT_TRUE(torch::allclose(plain, left, 1e-5, 1e-5));
}

// The whole model through r1lab's kernels and through LibTorch's ops: the same
// logits, values and parameter gradients in double precision, with left padding.
TEST(Transformer, KernelsAndLibTorchOpsGiveTheSameGradients) {
  ModelConfig cfg = TinyModel(24, 2, 3);
  cfg.set_dtype(FLOAT64);
  cfg.set_value_head(true);
  const torch::Tensor tokens = torch::randint(1, 50, {6, 20}, torch::kLong);
  const torch::Tensor start = torch::tensor({0, 4, 0, 19, 2, 0}, torch::kLong);
  std::vector<torch::Tensor> grads[2], outs[2];
  for (int reference = 0; reference < 2; ++reference) {
    SetReferenceKernels(reference == 1);
    Transformer m = MakeModel(cfg, 50);
    const ForwardOutput o = m->forward(tokens, start);
    (o.logits.pow(2).mean() + o.values.sum()).backward();
    outs[reference] = {o.logits, o.values};
    for (const auto& p : m->parameters()) grads[reference].push_back(p.grad());
  }
  SetReferenceKernels(false);
  for (size_t i = 0; i < 2; ++i) EXPECT_TRUE(torch::allclose(outs[0][i], outs[1][i], 1e-12, 1e-12));
  ASSERT_EQ(grads[0].size(), grads[1].size());
  for (size_t i = 0; i < grads[0].size(); ++i)
    EXPECT_TRUE(torch::allclose(grads[0][i], grads[1][i], 1e-10, 1e-12)) << "parameter " << i;
}

// Prefill + decode with the KV cache must give the logits of a full forward
// pass over the same (left-padded) sequences.
TEST(Transformer, KvCacheMatchesFullRecompute) {
  for (auto dtype : {FLOAT32, FLOAT64}) {
    ModelConfig cfg = TinyModel(48, 3, 4);
    cfg.set_dtype(dtype);
    Transformer m = MakeModel(cfg, 60);
    torch::NoGradGuard ng;
    // Keys are cached in tiles of 8 positions: the prompt ends inside the
    // second tile, decoding crosses into the third, and one row's padding
    // fills the whole first tile.
    const int64_t B = 4, P = 11, steps = 9;
    torch::Tensor seq = torch::randint(1, 60, {B, P + steps}, torch::kLong);
    torch::Tensor start = torch::tensor({0, 2, 9, 1}, torch::kLong);
    for (int64_t b = 0; b < B; ++b) seq[b].narrow(0, 0, start[b].item<int64_t>()).fill_(0);
    torch::Tensor full = m->forward(seq, start).logits;  // [B, P+steps, V]
    KvCache cache = m->NewCache(B, P + steps);
    torch::Tensor logits = m->forward(seq.narrow(1, 0, P), start, &cache).logits;
    EXPECT_TRUE(torch::allclose(logits, full.narrow(1, 0, P), 1e-4, 1e-5));
    for (int64_t s = 0; s < steps - 1; ++s) {
      torch::Tensor step_logits = m->DecodeStep(seq.select(1, P + s), start, cache);
      const double tol = dtype == FLOAT64 ? 1e-10 : 1e-4;
      EXPECT_TRUE(torch::allclose(step_logits, full.select(1, P + s), tol, tol))
          << "step " << s << " max diff " << (step_logits - full.select(1, P + s)).abs().max().item<double>();
    }
  }
}

// BF16_MIXED, for the char GPT and the Qwen2 fixture: the products run in
// bfloat16 (the outputs differ from float32's by bfloat16's rounding, and
// are float32), the parameters and their gradients stay float32 (the master
// weights) with gradients pointing where float32's do, the KV cache is
// bfloat16 and decoding from it gives the full pass's logits, and autocast is
// off again afterwards.
TEST(Transformer, Bf16MixedPrecisionComputesInBfloat16OnFloat32MasterWeights) {
  ModelConfig gpt = TinyModel(48, 2, 4);
  gpt.set_value_head(true);
  ModelConfig qwen;
  qwen.set_hf_folder(std::string(R1LAB_SOURCE_DIR) + "/tests/fixtures/hf/qwen2");
  qwen.set_max_seq_len(64);
  qwen.set_value_head(true);
  for (const ModelConfig& base : {gpt, qwen}) {
    SCOPED_TRACE(base.hf_folder().empty() ? "char GPT" : "Qwen2 fixture");
    ModelConfig mixed_cfg = base;
    mixed_cfg.set_precision(BF16_MIXED);
    Transformer full = MakeModel(base), mixed = MakeModel(mixed_cfg);
    CopyWeights(full, mixed);
    const torch::Tensor seq = torch::randint(1, 60, {3, 16}, torch::kLong);
    const torch::Tensor start = torch::tensor({0, 3, 1}, torch::kLong);
    const ForwardOutput a = full->forward(seq, start), b = mixed->forward(seq, start);
    EXPECT_FALSE(CpuAutocast());
    ASSERT_EQ(b.logits.scalar_type(), torch::kFloat32);
    ASSERT_EQ(b.values.scalar_type(), torch::kFloat32);
    const double scale = a.logits.abs().max().item<double>();
    const double diff = (a.logits - b.logits).abs().max().item<double>();
    EXPECT_GT(diff, 1e-4 * scale) << "the products did not run in bfloat16";
    EXPECT_LT(diff, 0.03 * scale) << "max |float32 - mixed| " << diff << " of logits up to " << scale;
    (a.logits.log_softmax(-1).mean() + a.values.mean()).backward();
    (b.logits.log_softmax(-1).mean() + b.values.mean()).backward();
    std::vector<torch::Tensor> ga, gb;
    for (const auto& p : full->parameters()) ga.push_back(p.grad().flatten());
    for (const auto& p : mixed->parameters()) {
      EXPECT_EQ(p.scalar_type(), torch::kFloat32);
      ASSERT_TRUE(p.grad().defined());
      EXPECT_EQ(p.grad().scalar_type(), torch::kFloat32);
      gb.push_back(p.grad().flatten());
    }
    const torch::Tensor fa = torch::cat(ga), fb = torch::cat(gb);
    const double cosine = (fa * fb).sum().item<double>() / (fa.norm() * fb.norm()).item<double>();
    EXPECT_GT(cosine, 0.99);

    torch::NoGradGuard ng;
    KvCache cache = mixed->NewCache(3, 16);
    EXPECT_EQ(cache.k[0].scalar_type(), torch::kBFloat16);
    EXPECT_EQ(cache.v[0].scalar_type(), torch::kBFloat16);
    const torch::Tensor prefill = mixed->forward(seq.narrow(1, 0, 10), start, &cache).logits;
    EXPECT_LT((prefill - b.logits.narrow(1, 0, 10)).abs().max().item<double>(), 0.01 * scale);
    for (int64_t s = 10; s < 15; ++s) {
      const torch::Tensor step = mixed->DecodeStep(seq.select(1, s), start, cache);
      EXPECT_EQ(step.scalar_type(), torch::kFloat32);
      EXPECT_LT((step - b.logits.select(1, s)).abs().max().item<double>(), 0.02 * scale) << "position " << s;
    }
    EXPECT_FALSE(CpuAutocast());
  }
  EXPECT_THROW(testing::ParseResolved<ExperimentConfig>("name: \"x\" seeds: 1 task { arith {} } model { dtype: FLOAT64 "
                                                        "precision: BF16_MIXED } arms { name: \"a\" sft {} }"),
               ConfigError);
}

// On a GPU (scripts/gpu_check.sh; skipped without one): the Qwen2 fixture
// under BF16_MIXED on CUDA gives the CPU float32 logits within bfloat16's
// rounding, with float32 weights and a bfloat16 KV cache on the device.
TEST(Transformer, Bf16MixedOnCudaMatchesTheCpuFloat32Logits) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device in this LibTorch build";
  ModelConfig cpu;
  cpu.set_hf_folder(std::string(R1LAB_SOURCE_DIR) + "/tests/fixtures/hf/qwen2");
  cpu.set_max_seq_len(64);
  ModelConfig gpu = cpu;
  gpu.set_device(CUDA);
  gpu.set_precision(BF16_MIXED);
  Transformer reference = MakeModel(cpu), mixed = MakeModel(gpu);
  torch::NoGradGuard ng;
  const torch::Tensor seq = torch::randint(1, 60, {2, 12}, torch::kLong);
  const torch::Tensor want = reference->forward(seq).logits;
  const double scale = want.abs().max().item<double>();
  KvCache cache = mixed->NewCache(2, 12);
  EXPECT_TRUE(cache.k[0].is_cuda());
  EXPECT_EQ(cache.k[0].scalar_type(), torch::kBFloat16);
  const torch::Tensor got = mixed->forward(seq.narrow(1, 0, 8), {}, &cache).logits;
  EXPECT_TRUE(got.is_cuda());
  EXPECT_EQ(got.scalar_type(), torch::kFloat32);
  EXPECT_LT((got.cpu() - want.narrow(1, 0, 8)).abs().max().item<double>(), 0.03 * scale);
  const torch::Tensor step = mixed->DecodeStep(seq.select(1, 8), {}, cache);
  EXPECT_LT((step.cpu() - want.select(1, 8)).abs().max().item<double>(), 0.03 * scale);
  for (const auto& p : mixed->parameters()) EXPECT_EQ(p.scalar_type(), torch::kFloat32);
}

TEST(Transformer, NextTokenStatsAgreeWithLogSoftmax) {
  torch::Tensor logits = torch::randn({2, 5, 7}, torch::kFloat64);
  torch::Tensor tokens = torch::randint(0, 7, {2, 5}, torch::kLong);
  TokenStats s = NextTokenStats(logits, tokens, 2.0);
  const double ref = torch::log_softmax(logits[1][3] / 2.0, 0)[tokens[1][4].item<int64_t>()].item<double>();
  EXPECT_NEAR(s.logprobs[1][3].item<double>(), ref, 1e-12);
  torch::Tensor p = torch::softmax(logits[0][0] / 2.0, 0);
  EXPECT_NEAR(s.entropy[0][0].item<double>(), -(p * p.log()).sum().item<double>(), 1e-12);
}

}  // namespace
}  // namespace r1lab

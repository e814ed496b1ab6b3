#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "generate.h"
#include "test_util.h"
#include "tokenizer.h"

namespace r1lab {
namespace {

using testing::TinyModel;

std::vector<std::vector<int>> Prompts(int n) {
  std::vector<std::vector<int>> p;
  for (int i = 0; i < n; ++i) {
    std::vector<int> row = {Tokenizer::kBos};
    for (int j = 0; j < 2 + i % 4; ++j) row.push_back(10 + (i * 7 + j) % 40);
    p.push_back(row);
  }
  return p;
}

TEST(Generate, DeterministicForASeedWhateverTheBatchSize) {
  Transformer m = MakeModel(TinyModel(), Tokenizer::Get().vocab_size());
  GenerateOptions opt;
  opt.sampling.set_max_new_tokens(20);
  opt.sampling.set_batch_size(16);
  opt.seed = 5;
  const auto a = Generate(m, Prompts(10), opt);
  const auto b = Generate(m, Prompts(10), opt);
  opt.sampling.set_batch_size(3);
  const auto c = Generate(m, Prompts(10), opt);
  opt.seed = 6;
  const auto d = Generate(m, Prompts(10), opt);
  int differ = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].tokens, b[i].tokens);
    EXPECT_EQ(a[i].tokens, c[i].tokens);
    for (size_t j = 0; j < a[i].logprobs.size(); ++j) EXPECT_NEAR(a[i].logprobs[j], c[i].logprobs[j], 1e-4);
    differ += a[i].tokens != d[i].tokens;
  }
  EXPECT_GT(differ, 5);
}

TEST(Generate, StopAndTruncationFlagsAndLogprobs) {
  Transformer m = MakeModel(TinyModel(), Tokenizer::Get().vocab_size());
  GenerateOptions opt;
  opt.sampling.set_max_new_tokens(12);
  opt.sampling.set_temperature(0.7);
  opt.seed = 1;
  // Stop on a set of common characters so some rows stop early.
  for (int t = 10; t < 18; ++t) opt.stop_tokens.push_back(t);
  const auto prompts = Prompts(32);
  const auto g = Generate(m, prompts, opt);
  int stopped = 0, truncated = 0;
  for (size_t i = 0; i < g.size(); ++i) {
    const auto& r = g[i];
    EXPECT_NE(r.stopped, r.truncated);
    if (r.stopped) {
      ++stopped;
      EXPECT_GE(r.tokens.back(), 10);
      EXPECT_LT(r.tokens.back(), 18);
    } else {
      ++truncated;
      EXPECT_EQ(r.tokens.size(), 12u);
    }
    // Behaviour log-probs equal a teacher-forced pass at the same temperature.
    std::vector<int64_t> seq(prompts[i].begin(), prompts[i].end());
    seq.insert(seq.end(), r.tokens.begin(), r.tokens.end());
    torch::Tensor t = torch::tensor(seq, torch::kLong).view({1, -1});
    torch::NoGradGuard ng;
    TokenStats s = NextTokenStats(m->forward(t).logits, t, 0.7);
    const int64_t P = static_cast<int64_t>(prompts[i].size());
    for (size_t j = 0; j < r.tokens.size(); ++j)
      EXPECT_NEAR(r.logprobs[j], s.logprobs[0][P - 1 + j].item<float>(), 1e-4);
  }
  EXPECT_GT(stopped, 0);
  EXPECT_GT(truncated, 0);
}

TEST(Generate, WithoutCacheGivesTheSameTokens) {
  Transformer m = MakeModel(TinyModel(), Tokenizer::Get().vocab_size());
  GenerateOptions opt;
  opt.sampling.set_max_new_tokens(15);
  opt.seed = 3;
  const auto a = Generate(m, Prompts(6), opt);
  opt.use_cache = false;
  const auto b = Generate(m, Prompts(6), opt);
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i].tokens, b[i].tokens);
}

// A synthetic distribution over 6 tokens: p = (0.4, 0.25, 0.15, 0.1, 0.06, 0.04).
std::map<int, double> Empirical(const SamplingConfig& s) {
  const double p[] = {0.4, 0.25, 0.15, 0.1, 0.06, 0.04};
  float logits[6];
  for (int i = 0; i < 6; ++i) logits[i] = static_cast<float>(std::log(p[i]) + 1.3);  // shift-invariant
  std::map<int, double> freq;
  const int N = 20000;
  for (int i = 0; i < N; ++i) {
    float lp;
    freq[SampleToken(logits, 6, s, (i + 0.5) / N, &lp)] += 1.0 / N;
  }
  return freq;
}

TEST(Sampling, TopKKeepsTheKMostLikelyRenormalised) {
  SamplingConfig s;
  s.set_top_k(2);
  auto f = Empirical(s);
  EXPECT_EQ(f.size(), 2u);
  EXPECT_NEAR(f[0], 0.4 / 0.65, 1e-3);
  EXPECT_NEAR(f[1], 0.25 / 0.65, 1e-3);
}

TEST(Sampling, TopPKeepsTheSmallestPrefixReachingP) {
  SamplingConfig s;
  s.set_top_p(0.7);  // 0.4 + 0.25 = 0.65 < 0.7, so three tokens (0.8)
  auto f = Empirical(s);
  EXPECT_EQ(f.size(), 3u);
  EXPECT_NEAR(f[2], 0.15 / 0.8, 1e-3);
  s.set_top_p(0.4);  // the first token alone reaches it
  EXPECT_EQ(Empirical(s).size(), 1u);
}

TEST(Sampling, FullDistributionAndTemperature) {
  SamplingConfig s;
  auto f = Empirical(s);
  EXPECT_NEAR(f[4], 0.06, 1e-3);
  s.set_temperature(0.5);  // p^2 renormalised
  double z = 0;
  for (double q : {0.4, 0.25, 0.15, 0.1, 0.06, 0.04}) z += q * q;
  EXPECT_NEAR(Empirical(s)[1], 0.25 * 0.25 / z, 1e-3);
  s.set_temperature(0);
  auto g = Empirical(s);
  EXPECT_EQ(g.size(), 1u);
  EXPECT_NEAR(g[0], 1.0, 1e-12);
  float lp;
  const float logits[3] = {0.f, 1.f, 2.f};
  SampleToken(logits, 3, s, 0.5, &lp);
  EXPECT_NEAR(lp, 2.0 - std::log(1 + std::exp(1.0) + std::exp(2.0)), 1e-6);
}

// The sampler a GPU model uses (tensor operations on the logits' device), run
// here on the CPU: the same token and log-prob as SampleToken for every row,
// under every cut, with ties, and with a top-p that one token reaches alone.
TEST(Sampling, TheTensorSamplerDrawsWhatSampleTokenDraws) {
  const int n = 600, V = 37;
  torch::manual_seed(5);
  torch::Tensor logits = torch::randn({n, V}) * 2;
  logits.narrow(0, 0, 50).narrow(1, 0, 8).fill_(1.5);  // equal candidates: the lower id first
  logits.narrow(0, 50, 20).select(1, 3).fill_(40);     // one token holds all the mass
  std::vector<double> u(n);
  for (int i = 0; i < n; ++i) u[static_cast<size_t>(i)] = (i * 0.6180339887 + 0.01) - std::floor(i * 0.6180339887 + 0.01);
  for (const char* cfg : {"temperature: 0", "temperature: 1", "temperature: 0.7", "top_k: 5", "top_p: 0.9",
                          "temperature: 0.6 top_p: 0.95", "top_k: 3 top_p: 0.5", "top_k: 37"}) {
    const SamplingConfig s = testing::ParseResolved<SamplingConfig>(cfg);
    std::vector<int> toks;
    std::vector<float> lps;
    SampleTokens(logits, u, s, &toks, &lps);
    ASSERT_EQ(toks.size(), static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) {
      float lp;
      const int want = SampleToken(logits[i].data_ptr<float>(), V, s, u[static_cast<size_t>(i)], &lp);
      ASSERT_EQ(toks[static_cast<size_t>(i)], want) << cfg << ", row " << i;
      EXPECT_NEAR(lps[static_cast<size_t>(i)], lp, 1e-6) << cfg << ", row " << i;
    }
  }
}

}  // namespace
}  // namespace r1lab

// Reference checks of the GRPO/PPO objective against hand and double-precision
// computations.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "policy_loss.h"

namespace r1lab {
namespace {

TEST(GroupAdvantages, ZScoreWithBesselCorrection) {
  // Group (1, 0, 0, 1): mean 0.5, sample std sqrt(1/3).
  const auto a = GroupAdvantages({1, 0, 0, 1, 0.5, 0.5, 0.5, 0.5}, 4, GROUP_ZSCORE, 1e-4);
  const double s = std::sqrt(1.0 / 3.0);
  EXPECT_NEAR(a[0], 0.5 / (s + 1e-4), 1e-12);
  EXPECT_NEAR(a[1], -0.5 / (s + 1e-4), 1e-12);
  for (int i = 4; i < 8; ++i) EXPECT_EQ(a[i], 0.0);  // zero-variance group: no signal
}

TEST(GroupAdvantages, MeanOnlyRlooAndBatchStd) {
  const std::vector<double> r = {1, 0, 0, 0, 1, 1, 1, 0};
  const auto m = GroupAdvantages(r, 4, GROUP_MEAN, 1e-4);
  EXPECT_DOUBLE_EQ(m[0], 0.75);
  EXPECT_DOUBLE_EQ(m[1], -0.25);
  const auto l = GroupAdvantages(r, 4, RLOO, 1e-4);
  EXPECT_DOUBLE_EQ(l[0], 1.0);          // 1 - mean(0,0,0)
  EXPECT_DOUBLE_EQ(l[7], -1.0);         // 0 - mean(1,1,1)
  EXPECT_NEAR(l[4], 1 - 2.0 / 3, 1e-12);
  // RLOO = G/(G-1) * (r - group mean).
  EXPECT_NEAR(l[1], 4.0 / 3 * m[1], 1e-12);
  const auto b = GroupAdvantages(r, 4, BATCH_STD, 0);
  const double batch_std = std::sqrt((4 * 0.5 * 0.5 * 2) / 7.0);  // mean 0.5, 8 values
  EXPECT_NEAR(b[0], 0.75 / batch_std, 1e-12);
}

TEST(Kl, EstimatorsMatchTheirDefinitions) {
  torch::Tensor lp = torch::tensor({-1.0, -2.0, -0.5}, torch::kFloat64);
  torch::Tensor ref = torch::tensor({-1.5, -1.0, -0.5}, torch::kFloat64);
  const auto k1 = KlPerToken(lp, ref, K1), k2 = KlPerToken(lp, ref, K2), k3 = KlPerToken(lp, ref, K3);
  for (int i = 0; i < 3; ++i) {
    const double l = lp[i].item<double>(), r = ref[i].item<double>();
    EXPECT_NEAR(k1[i].item<double>(), l - r, 1e-12);
    EXPECT_NEAR(k2[i].item<double>(), 0.5 * (l - r) * (l - r), 1e-12);
    const double q = std::exp(r - l);  // pi_ref / pi
    EXPECT_NEAR(k3[i].item<double>(), q - std::log(q) - 1, 1e-12);
    EXPECT_GE(k3[i].item<double>(), 0.0);
  }
  EXPECT_EQ(k3[2].item<double>(), 0.0);
}

TEST(PolicyLoss, ClippedSurrogateByHand) {
  // Two tokens of one sequence: ratio 1.5 with A = +1 (clipped at 1.2),
  // ratio 0.5 with A = -2 (clipped at 0.8 -> -min(-1, -1.6) = 1.6).
  PolicyLossInputs in;
  in.logprobs = torch::log(torch::tensor({{1.5, 0.5}}, torch::kFloat64));
  in.old_logprobs = torch::zeros({1, 2}, torch::kFloat64);
  in.advantages = torch::tensor({{1.0, -2.0}}, torch::kFloat64);
  in.mask = torch::ones({1, 2}, torch::kFloat64);
  PolicyLossOptions o;
  PolicyLossStats st;
  const double loss = PolicyLoss(in, o, &st).item<double>();
  EXPECT_NEAR(loss, (-1.2 + 1.6) / 2, 1e-12);
  EXPECT_NEAR(st.clip_high_frac, 0.5, 1e-12);
  EXPECT_NEAR(st.clip_low_frac, 0.5, 1e-12);
  EXPECT_NEAR(st.clip_region_frac, 1.0, 1e-12);
  // Clip-higher: the first token is no longer clipped.
  o.clip_high = 0.6;
  EXPECT_NEAR(PolicyLoss(in, o, nullptr).item<double>(), (-1.5 + 1.6) / 2, 1e-12);
  // Dual clip: ratio 5 with A = -1 gives -min(-5, -0.8*... ) = 5, bounded by c = 3.
  in.logprobs = torch::log(torch::tensor({{5.0, 1.0}}, torch::kFloat64));
  in.advantages = torch::tensor({{-1.0, 0.0}}, torch::kFloat64);
  o.dual_clip = 3;
  EXPECT_NEAR(PolicyLoss(in, o, nullptr).item<double>(), 3.0 / 2, 1e-12);
}

TEST(PolicyLoss, GradientAtRatioOneIsTheAdvantageWeightedScore) {
  torch::Tensor lp = torch::tensor({{-1.0, -2.0, -0.3}}, torch::kFloat64).requires_grad_(true);
  PolicyLossInputs in;
  in.logprobs = lp;
  in.old_logprobs = lp.detach();
  in.advantages = torch::tensor({{0.5, 0.5, 0.5}}, torch::kFloat64);
  in.mask = torch::tensor({{1.0, 1.0, 0.0}}, torch::kFloat64);
  PolicyLossOptions o;
  PolicyLoss(in, o, nullptr).backward();
  // d/dlp of -(A * ratio) averaged over the 2 masked tokens = -A / 2.
  EXPECT_NEAR(lp.grad()[0][0].item<double>(), -0.25, 1e-12);
  EXPECT_NEAR(lp.grad()[0][2].item<double>(), 0.0, 1e-12);
}

TEST(PolicyLoss, AggregationsDifferAsPublished) {
  // Sequence 1 has 1 token of loss 1; sequence 2 has 3 tokens of loss 1.
  torch::Tensor per = torch::ones({2, 3}, torch::kFloat64);
  torch::Tensor mask = torch::tensor({{1.0, 0.0, 0.0}, {1.0, 1.0, 1.0}}, torch::kFloat64);
  per[0][0] = 4.0;
  EXPECT_NEAR(AggregateLoss(per, mask, SEQ_MEAN_TOKEN_MEAN, 0).item<double>(), (4.0 + 1.0) / 2, 1e-12);
  EXPECT_NEAR(AggregateLoss(per, mask, TOKEN_MEAN, 0).item<double>(), (4.0 + 3.0) / 4, 1e-12);
  EXPECT_NEAR(AggregateLoss(per, mask, SEQ_MEAN_TOKEN_SUM_NORM, 10).item<double>(), (4.0 / 10 + 3.0 / 10) / 2,
              1e-12);
}

TEST(PolicyLoss, KlAndEntropyTermsEnterTheLoss) {
  PolicyLossInputs in;
  in.logprobs = torch::zeros({1, 2}, torch::kFloat64);
  in.old_logprobs = in.logprobs;
  in.advantages = torch::zeros({1, 2}, torch::kFloat64);
  in.mask = torch::ones({1, 2}, torch::kFloat64);
  in.kl = torch::tensor({{0.2, 0.4}}, torch::kFloat64);
  in.entropy = torch::tensor({{1.0, 3.0}}, torch::kFloat64);
  PolicyLossOptions o;
  o.kl_coef = 0.5;
  o.entropy_coef = 0.1;
  EXPECT_NEAR(PolicyLoss(in, o, nullptr).item<double>(), 0.5 * 0.3 - 0.1 * 2.0, 1e-12);
  EXPECT_NEAR(ReverseCumsum(torch::tensor({{1.0, 2.0, 3.0}}))[0][0].item<double>(), 6.0, 1e-6);
}

// The loss on random inputs against a plain double-precision loop, for every
// aggregation, with clip-higher and dual-clip on.
TEST(PolicyLoss, MatchesAReferenceLoopOnRandomInputs) {
  torch::manual_seed(3);
  const int64_t N = 5, T = 7;
  torch::Tensor lp = torch::randn({N, T}, torch::kFloat64) * 0.3 - 1;
  torch::Tensor old = lp + torch::randn({N, T}, torch::kFloat64) * 0.4;
  torch::Tensor A = torch::randn({N, T}, torch::kFloat64);
  torch::Tensor mask = (torch::rand({N, T}, torch::kFloat64) > 0.3).to(torch::kFloat64);
  mask[0].zero_();  // a sequence with no trained token
  PolicyLossOptions o;
  o.clip_low = 0.2;
  o.clip_high = 0.28;
  o.dual_clip = 3;
  o.max_length = 9;
  for (auto agg : {SEQ_MEAN_TOKEN_MEAN, TOKEN_MEAN, SEQ_MEAN_TOKEN_SUM_NORM}) {
    o.aggregation = agg;
    PolicyLossInputs in{lp, old, A, mask, {}, {}};
    const double got = PolicyLoss(in, o, nullptr).item<double>();
    double total = 0, tokens = 0, seq_sum = 0;
    for (int64_t i = 0; i < N; ++i) {
      double s = 0, n = 0;
      for (int64_t t = 0; t < T; ++t) {
        if (mask[i][t].item<double>() == 0) continue;
        const double r = std::exp(lp[i][t].item<double>() - old[i][t].item<double>());
        const double a = A[i][t].item<double>();
        const double rc = std::min(std::max(r, 1 - o.clip_low), 1 + o.clip_high);
        double l = -std::min(r * a, rc * a);
        if (a < 0) l = std::min(l, -o.dual_clip * a);
        s += l;
        n += 1;
      }
      total += s;
      tokens += n;
      seq_sum += agg == SEQ_MEAN_TOKEN_MEAN ? (n > 0 ? s / n : 0) : s / o.max_length;
    }
    const double want = agg == TOKEN_MEAN ? total / tokens : seq_sum / N;
    EXPECT_NEAR(got, want, 1e-12) << "aggregation " << agg;
  }
}

}  // namespace
}  // namespace r1lab

// The prefix key/value store: outputs at the last position equal a full
// forward's, whichever pass served them, and stored prefixes are reused.
#include <gtest/gtest.h>

#include <random>

#include "cpu_kernels.h"
#include "prefix_cache.h"
#include "test_util.h"

namespace r1lab {
namespace {

using testing::TinyModel;

// The model's heads at the last position of `s`, by a forward over `s` alone.
ForwardOutput Reference(Transformer& m, const std::vector<int>& s) {
  torch::NoGradGuard ng;
  std::vector<int64_t> ids(s.begin(), s.end());
  const ForwardOutput f = m->forward(torch::tensor(ids, torch::kLong).view({1, -1}));
  const int64_t last = static_cast<int64_t>(s.size()) - 1;
  return {f.logits[0][last], f.values[0][last], f.prm_logits[0][last]};
}

void ExpectMatches(Transformer& m, const std::vector<std::vector<int>>& seqs, const ForwardOutput& got, double tol) {
  for (size_t i = 0; i < seqs.size(); ++i) {
    const ForwardOutput ref = Reference(m, seqs[i]);
    const auto k = static_cast<int64_t>(i);
    EXPECT_LT((got.logits[k] - ref.logits).abs().max().item<double>(), tol) << "row " << i;
    EXPECT_NEAR(got.values[k].item<double>(), ref.values.item<double>(), tol) << "row " << i;
    EXPECT_NEAR(got.prm_logits[k].item<double>(), ref.prm_logits.item<double>(), tol) << "row " << i;
  }
}

// A search-shaped workload: prompts of different lengths (two alike), then
// rounds that extend some stored sequences by one token, a duplicate child
// in the same batch, a sequence seen before, and one whose stored prefix is
// two tokens short (a full forward). Every output equals a forward over the
// sequence alone (1e-10 in double), and each one-token extension costs one
// computed token. Enough tokens pass through to grow the pool past its
// first 256 rows and positions cross several key tiles.
void StoreMatchesFullForwardAndReusesPrefixes() {
  ModelConfig cfg = TinyModel(32, 2, 4);
  cfg.set_dtype(FLOAT64);
  cfg.set_value_head(true);
  cfg.set_prm_head(true);
  Transformer m = MakeModel(cfg, 40);
  std::mt19937 rng(7);
  auto token = [&]() { return static_cast<int>(rng() % 38) + 2; };
  std::vector<std::vector<int>> seqs;
  for (int len : {5, 9, 9, 13, 2, 7, 11, 4, 6, 8}) {
    std::vector<int> s = {1};
    while (static_cast<int>(s.size()) < len) s.push_back(token());
    seqs.push_back(s);
  }
  seqs[2] = seqs[1];
  PrefixKvStore store(m);
  FlopCounter flops;
  ExpectMatches(m, seqs, store.Last(seqs, &flops, FlopPhase::kScore), 1e-10);
  EXPECT_EQ(store.computed(), 74);
  EXPECT_EQ(store.stored(), 74 - 9 - 8) << "the two alike prompts, and the nine prompts' <bos>, are stored once";
  for (int round = 0; round < 30; ++round) {
    std::vector<std::vector<int>> next;
    for (const auto& s : seqs) {
      std::vector<int> c = s;
      c.push_back(token());
      next.push_back(c);
    }
    next.push_back(next.back());  // two leaves reach the same child in one batch
    const int64_t before = store.computed();
    ExpectMatches(m, next, store.Last(next, &flops, FlopPhase::kScore), 1e-10);
    EXPECT_EQ(store.computed() - before, static_cast<int64_t>(next.size())) << "one token per extended sequence";
    next.pop_back();
    seqs = next;
  }
  EXPECT_GT(store.stored(), 256);
  // What was reused is not charged: a round of one-token extensions costs
  // one token's forward FLOPs each, not a sequence's.
  const double charged = flops.Get(FlopPhase::kScore);
  std::vector<std::vector<int>> one_more;
  double full = 0;
  for (const auto& s : seqs) {
    one_more.push_back(s);
    one_more.back().push_back(token());
    full += ForwardFlopsSequence(cfg, 40, static_cast<int64_t>(one_more.back().size()));
  }
  store.Last(one_more, &flops, FlopPhase::kScore);
  EXPECT_LT((flops.Get(FlopPhase::kScore) - charged) * 10, full);
  // Seen before: decoded again from its prefix (one token). Two tokens
  // beyond what is stored: a full forward.
  std::vector<int> seen = seqs[0];
  std::vector<int> beyond = seqs[3];
  beyond.push_back(token());
  beyond.push_back(token());
  int64_t before = store.computed();
  ExpectMatches(m, {seen, beyond}, store.Last({seen, beyond}, &flops, FlopPhase::kScore), 1e-10);
  EXPECT_EQ(store.computed() - before, 1 + static_cast<int64_t>(beyond.size()));
  // Without reuse: the same outputs, every token computed, nothing stored.
  PrefixKvStore plain(m, /*reuse=*/false);
  ExpectMatches(m, {seen, beyond}, plain.Last({seen, beyond}, nullptr, FlopPhase::kScore), 1e-10);
  EXPECT_EQ(plain.computed(), static_cast<int64_t>(seen.size() + beyond.size()));
  EXPECT_EQ(plain.stored(), 0);
  // In float32 the two passes agree with a full forward to rounding.
  cfg.set_dtype(FLOAT32);
  Transformer f = MakeModel(cfg, 40);
  PrefixKvStore fs(f);
  fs.Last({seqs[0], seqs[3]}, nullptr, FlopPhase::kScore);
  std::vector<int> a = seqs[0], b = seqs[3];
  a.push_back(3);
  b.push_back(4);
  ExpectMatches(f, {a, b}, fs.Last({a, b}, nullptr, FlopPhase::kScore), 1e-4);
  EXPECT_EQ(fs.computed(), static_cast<int64_t>(seqs[0].size() + seqs[3].size()) + 2);
}

// The fused CPU gather and the LibTorch-ops gather (other devices).
TEST(PrefixKvStore, MatchesFullForwardAndReusesPrefixes) {
  for (bool reference : {false, true}) {
    SCOPED_TRACE(reference ? "LibTorch ops" : "r1lab kernels");
    SetReferenceKernels(reference);
    StoreMatchesFullForwardAndReusesPrefixes();
  }
  SetReferenceKernels(false);
}

}  // namespace
}  // namespace r1lab

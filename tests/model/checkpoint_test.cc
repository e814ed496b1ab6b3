#include <gtest/gtest.h>

#include <fstream>

#include "checkpoint.h"
#include "error.h"
#include "io.h"
#include "test_util.h"

namespace r1lab {
namespace {

using testing::TinyModel;

TEST(Checkpoint, RoundTripRestoresModelOptimizerStepAndRng) {
  const std::string dir = testing::TempDir("ckpt");
  Transformer m = MakeModel(TinyModel(), 50);
  torch::optim::AdamW opt(m->parameters(), torch::optim::AdamWOptions(1e-3));
  torch::Tensor t = torch::randint(0, 50, {2, 8}, torch::kLong);
  // One step so the optimizer has state.
  (-NextTokenStats(m->forward(t).logits, t).logprobs.mean()).backward();
  opt.step();
  SaveCheckpoint(dir + "/a.pt", m, &opt, {42, "1 2 3 4 ", "extra"});

  ModelConfig other_seed = TinyModel();
  Transformer m2 = MakeModel(other_seed, 50);
  m2->forward(t);  // fresh weights differ only by training
  torch::optim::AdamW opt2(m2->parameters(), torch::optim::AdamWOptions(1e-3));
  const CheckpointMeta meta = LoadCheckpoint(dir + "/a.pt", m2, &opt2);
  EXPECT_EQ(meta.step, 42);
  EXPECT_EQ(meta.rng_state, "1 2 3 4 ");
  EXPECT_EQ(meta.extra, "extra");
  EXPECT_TRUE(torch::equal(m->forward(t).logits, m2->forward(t).logits));
  // Same optimizer state: one more identical step gives identical weights.
  for (auto* p : {&m, &m2}) {
    auto& o = p == &m ? opt : opt2;
    o.zero_grad();
    (-NextTokenStats((*p)->forward(t).logits, t).logprobs.mean()).backward();
    o.step();
  }
  EXPECT_TRUE(torch::allclose(m->forward(t).logits, m2->forward(t).logits, 1e-6, 1e-6));
  EXPECT_EQ(ReadCheckpointConfig(dir + "/a.pt").d_model(), 32);
}

TEST(Checkpoint, ConfigMismatchNamesTheField) {
  const std::string dir = testing::TempDir("ckpt_mismatch");
  Transformer m = MakeModel(TinyModel(), 50);
  SaveCheckpoint(dir + "/a.pt", m, nullptr, {});
  Transformer other = MakeModel(TinyModel(64), 50);
  try {
    LoadCheckpoint(dir + "/a.pt", other, nullptr);
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("d_model"), std::string::npos) << e.what();
  }
}

TEST(Checkpoint, MissingOrCorruptFilesFailLoudly) {
  const std::string dir = testing::TempDir("ckpt_corrupt");
  Transformer m = MakeModel(TinyModel(), 50);
  EXPECT_THROW(LoadCheckpoint(dir + "/none.pt", m, nullptr), IoError);
  SaveCheckpoint(dir + "/a.pt", m, nullptr, {});
  std::string data = ReadFile(dir + "/a.pt");
  data[data.size() / 2] ^= 0x55;
  WriteFileAtomic(dir + "/flipped.pt", data);
  WriteFileAtomic(dir + "/truncated.pt", ReadFile(dir + "/a.pt").substr(0, 300));
  WriteFileAtomic(dir + "/text.pt", "hello\n");
  for (const char* f : {"/flipped.pt", "/truncated.pt", "/text.pt"}) {
    try {
      LoadCheckpoint(dir + f, m, nullptr);
      FAIL() << f << ": no error";
    } catch (const IoError& e) {
      EXPECT_NE(std::string(e.what()).find(f), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace r1lab

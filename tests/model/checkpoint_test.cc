#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
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
  SaveCheckpoint(dir + "/a.pt", m, &opt, {42, "1 2 3 4 ", "extra", ""});

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

// CheckpointWeightsHash names the weights a stage loads: the same for the
// same weights whatever the optimizer state and meta beside them (LibTorch
// keys the optimizer state by address, so those bytes differ between
// processes), different when one weight moves by one step of float32.
TEST(Checkpoint, TheWeightsHashFollowsTheWeightsAlone) {
  const std::string dir = testing::TempDir("ckpt_weights");
  Transformer m = MakeModel(TinyModel(), 50);
  torch::optim::AdamW opt(m->parameters(), torch::optim::AdamWOptions(1e-3));
  SaveCheckpoint(dir + "/a.pt", m, nullptr, {1, "", "wall 1", ""});
  torch::Tensor t = torch::randint(0, 50, {2, 8}, torch::kLong);
  (-NextTokenStats(m->forward(t).logits, t).logprobs.mean()).backward();
  opt.step();  // the optimizer has state; the weights moved
  SaveCheckpoint(dir + "/b.pt", m, &opt, {7, "1 2", "wall 2", "state"});
  Transformer copy = MakeModel(TinyModel(), 50);
  LoadCheckpoint(dir + "/b.pt", copy, nullptr);
  SaveCheckpoint(dir + "/c.pt", copy, nullptr, {9, "", "wall 3", ""});  // b's weights, nothing else of it
  EXPECT_NE(ReadFile(dir + "/b.pt"), ReadFile(dir + "/c.pt"));
  EXPECT_EQ(CheckpointWeightsHash(dir + "/b.pt"), CheckpointWeightsHash(dir + "/c.pt"));
  EXPECT_NE(CheckpointWeightsHash(dir + "/a.pt"), CheckpointWeightsHash(dir + "/b.pt"));
  {
    torch::NoGradGuard no_grad;
    float* w = copy->parameters().back().data_ptr<float>();
    w[0] = std::nextafter(w[0], 1e9f);
  }
  SaveCheckpoint(dir + "/d.pt", copy, nullptr, {9, "", "wall 3", ""});
  EXPECT_NE(CheckpointWeightsHash(dir + "/c.pt"), CheckpointWeightsHash(dir + "/d.pt"));
  EXPECT_THROW(CheckpointWeightsHash(dir + "/missing.pt"), IoError);
}

// A run's further models (a critic, a reference, a reward model) live in the
// policy's checkpoint file, so one atomic write saves them all: no kill can
// leave a policy of one step beside a critic of another.
TEST(Checkpoint, FurtherModelsLiveInTheSameFile) {
  const std::string dir = testing::TempDir("ckpt_parts");
  torch::Tensor t = torch::randint(0, 50, {2, 8}, torch::kLong);
  Transformer policy = MakeModel(TinyModel(), 50), critic = MakeModel(TinyModel(64), 50);
  torch::optim::AdamW copt(critic->parameters(), torch::optim::AdamWOptions(1e-3));
  SaveCheckpoint(dir + "/a.pt", policy, nullptr, {7, "", "", ""}, {{"critic", &critic, &copt}});
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir), std::filesystem::directory_iterator()), 1);

  Transformer policy2 = MakeModel(TinyModel(), 50), critic2 = MakeModel(TinyModel(64), 50);
  {
    torch::NoGradGuard no_grad;
    for (auto& p : critic2->parameters()) p.add_(0.5);
  }
  torch::optim::AdamW copt2(critic2->parameters(), torch::optim::AdamWOptions(1e-3));
  EXPECT_FALSE(torch::equal(critic->forward(t).logits, critic2->forward(t).logits));
  LoadCheckpoint(dir + "/a.pt", policy2, nullptr, {{"critic", &critic2, &copt2}});
  EXPECT_TRUE(torch::equal(critic->forward(t).logits, critic2->forward(t).logits));
  // A part the file does not hold, or one of another shape, is an error naming it.
  try {
    LoadCheckpoint(dir + "/a.pt", policy2, nullptr, {{"value", &critic2, nullptr}});
    FAIL() << "no error";
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find("lacks the run's value"), std::string::npos) << e.what();
  }
  Transformer small = MakeModel(TinyModel(), 50);
  EXPECT_THROW(LoadCheckpoint(dir + "/a.pt", policy2, nullptr, {{"critic", &small, nullptr}}), ConfigError);
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

// A checkpoint written before a config field existed (here: precision)
// loads into a model that sets it to its default, and the compute precision
// is not the weights': a BF16_MIXED model loads a FULL one's checkpoint.
TEST(Checkpoint, AFieldAddedLaterAndThePrecisionDoNotRefuseACheckpoint) {
  const std::string dir = testing::TempDir("ckpt_added_field");
  ModelConfig older = TinyModel();
  older.clear_precision();  // as written before the field existed
  Transformer m = MakeModel(older, 50);
  SaveCheckpoint(dir + "/a.pt", m, nullptr, {});
  EXPECT_EQ(ReadFile(dir + "/a.pt").find("precision"), std::string::npos);
  ModelConfig full = TinyModel(), mixed = TinyModel();
  ASSERT_TRUE(full.has_precision());
  mixed.set_precision(BF16_MIXED);
  for (const ModelConfig& c : {full, mixed}) {
    Transformer loaded = MakeModel(c, 50);
    EXPECT_NO_THROW(LoadCheckpoint(dir + "/a.pt", loaded, nullptr));
    EXPECT_TRUE(torch::equal(loaded->parameters()[0], m->parameters()[0]));
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

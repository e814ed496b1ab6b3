// The model folder's fuzz target (fuzz/hf_model_fuzz.cc) under the
// seeded mutation driver: mutated safetensors files and config.json files
// (a small file of three dtypes, and the fixtures' configs).
#include <string>
#include <vector>

#include "fuzz_driver.h"
#include "io.h"
#include "safetensors.h"
#include "test_util.h"

namespace r1lab {
namespace {

TEST(Fuzz, ModelFilesLoadOrAreRefusedQuickly) {
  const std::string dir = testing::TempDir("hf_model_fuzz");
  SaveSafetensors(dir + "/small.safetensors", {{"a.weight", torch::arange(6, torch::kFloat32).view({2, 3})},
                                               {"b.bias", torch::ones({3}, torch::kBFloat16)},
                                               {"c", torch::arange(2, torch::kInt64)}});
  const std::string fixtures = std::string(R1LAB_SOURCE_DIR) + "/tests/fixtures/hf/";
  const std::vector<std::string> seeds = {
      std::string("\x00", 1) + ReadFile(dir + "/small.safetensors"),
      "\x01" + ReadFile(fixtures + "qwen2/config.json"),
      "\x03" + ReadFile(fixtures + "llama3/config.json"),
  };
  const std::string alphabet = "0123456789-.e,:\"{}[] FIBU_ntrulfalsenull";
  EXPECT_GT(testing::MutationFuzz(seeds, alphabet, 3000, 10), 200);
}

}  // namespace
}  // namespace r1lab

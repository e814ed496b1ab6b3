// The tokenizer's libFuzzer target (fuzz/tokenizer_fuzz.cc) under the seeded
// mutation driver: every test run encodes and decodes a few thousand mutated
// texts, id lists and edited tokenizer.json files (the first byte picks
// which; see the target).
#include <string>
#include <vector>

#include "fuzz_driver.h"

namespace r1lab {
namespace {

TEST(Fuzz, TokenizerRoundTripsAndRefusesMutatedInputsQuickly) {
  const std::vector<std::string> seeds = {
      std::string("\x02") + "Natalia sold clips to 48 of her friends in April, and then she sold half as many in May.",
      std::string("\x03") + "<|im_start|>user\n\xC2\xBF" "Cu\xC3\xA1ntos? 12,345 \xE2\x82\xAC \xF0\x9F\x98\x80\t\t  x<|im_end|>",
      std::string("\x04") + "e\xCC\x81 \xEF\xAC\x81 \xE2\x84\xAB \r\n\r\n   'll 've 're ... 1234567",
      std::string("\x05") + "\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E <think>3 + 4 = 7</think> <answer>7</answer>",
      std::string("\x00" "ABCDEFGHIJ\x10\x27\xff\xff\x00\x00", 17),
      std::string("\x01\x07\x00\x04" "Whitespace", 14),
      std::string("\x01\x20\x00\x02" "12345678901234567890", 24),
      std::string("\x01\x01\x00\x07", 4),
  };
  const std::string alphabet = "abcXYZ 0189.,'\n\t<|>_\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80";
  EXPECT_GT(testing::MutationFuzz(seeds, alphabet, 3000, 8), 200);
}

}  // namespace
}  // namespace r1lab

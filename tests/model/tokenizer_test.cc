#include <gtest/gtest.h>

#include "error.h"
#include "tokenizer.h"

namespace r1lab {
namespace {

TEST(Tokenizer, RoundTripWithSpecialsAsSingleTokens) {
  const Tokenizer& t = Tokenizer::Get();
  const std::string text = "<bos>3+5-2<think>3+5=8\nwait, 8-2=6\n</think><answer>-6</answer><eos>";
  const auto ids = t.Encode(text);
  EXPECT_EQ(t.Decode(ids), text);
  EXPECT_EQ(ids.front(), Tokenizer::kBos);
  EXPECT_EQ(ids.back(), Tokenizer::kEos);
  int specials = 0;
  for (int id : ids) specials += id < Tokenizer::kNumSpecials;
  EXPECT_EQ(specials, 6);
  EXPECT_EQ(t.Special("</answer>"), Tokenizer::kEndAnswer);
}

TEST(Tokenizer, UnknownSpecialTokenIsAClearError) {
  try {
    Tokenizer::Get().Encode("1+2<thinking>");
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("unknown special token '<thinking>'"), std::string::npos) << e.what();
  }
  EXPECT_THROW(Tokenizer::Get().Special("<foo>"), InputError);
}

TEST(Tokenizer, UnknownCharacterNamesItsPosition) {
  try {
    Tokenizer::Get().Encode("ab\x01");
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("position 2"), std::string::npos) << e.what();
  }
  EXPECT_THROW(Tokenizer::Get().Encode("a < b"), InputError);
}

TEST(Tokenizer, PromptTemplatePutsEveryPromptInIt) {
  ModelConfig mc;
  mc.set_prompt_template("Q: {prompt}\n<think>");
  const Tokenizer& t = Tokenizer::For(mc);
  EXPECT_EQ(t.EncodePrompt("1+2"), Tokenizer::Get().EncodePrompt("Q: 1+2\n<think>"));
  EXPECT_EQ(t.Encode("1+2"), Tokenizer::Get().Encode("1+2")) << "only prompts";
  EXPECT_EQ(&Tokenizer::For(mc), &t);
  EXPECT_EQ(&Tokenizer::For(ModelConfig()), &Tokenizer::Get());
  mc.set_prompt_template("Q: {prompt} \x01");
  EXPECT_THROW(Tokenizer::For(mc), InputError) << "text the vocabulary lacks, found at once";
  mc.set_prompt_template("Q: {question}");  // a misspelt placeholder: the prompt would go nowhere
  EXPECT_THROW(Tokenizer::For(mc), ConfigError);
}

}  // namespace
}  // namespace r1lab

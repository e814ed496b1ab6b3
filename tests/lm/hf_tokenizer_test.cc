// The tokenizer.json reader against the `tokenizers` library: the ids and
// decodings of tests/fixtures/hf/<family>/cases.jsonl (made by
// tools/make_hf_fixtures.py) must come out exactly.
#include "hf_tokenizer.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <random>
#include <sstream>

#include "error.h"
#include "io.h"
#include "text.h"

namespace r1lab {
namespace {

using nlohmann::json;

std::string Fixture(const std::string& family, const std::string& file) {
  return std::string(R1LAB_SOURCE_DIR) + "/tests/fixtures/hf/" + family + "/" + file;
}

std::vector<json> Cases(const std::string& family) {
  std::vector<json> out;
  std::stringstream in(ReadFile(Fixture(family, "cases.jsonl")));
  for (std::string line; std::getline(in, line);) out.push_back(json::parse(line));
  return out;
}

std::string ErrorOf(const std::string& text) {
  try {
    HfTokenizer::FromJson(text, "t.json");
  } catch (const InputError& e) {
    return e.what();
  }
  return "(no error)";
}

class HfTokenizerFamily : public testing::TestWithParam<const char*> {};

TEST_P(HfTokenizerFamily, GivesTheIdsAndDecodingOfTheTokenizersLibrary) {
  const HfTokenizer tok = HfTokenizer::Load(Fixture(GetParam(), "tokenizer.json"));
  EXPECT_EQ(tok.vocab_size(), 1200);
  const std::vector<json> cases = Cases(GetParam());
  ASSERT_GE(cases.size(), 90u);
  size_t tokens = 0;
  for (const json& c : cases) {
    const std::string text = c["text"].get<std::string>();
    const std::vector<int> ids = tok.Encode(text);
    EXPECT_EQ(ids, c["ids"].get<std::vector<int>>()) << json(text).dump();
    EXPECT_EQ(tok.Decode(c["ids"].get<std::vector<int>>()), c["decoded"].get<std::string>()) << json(text).dump();
    tokens += ids.size();
  }
  EXPECT_GT(tokens, 2000u);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, HfTokenizerFamily, testing::Values("qwen2", "llama3"));

// Random valid UTF-8 over every plane comes back byte for byte through a
// tokenizer without a normalizer, and NFC's output is stable.
TEST(HfTokenizer, RoundTripsArbitraryUtf8) {
  const HfTokenizer llama = HfTokenizer::Load(Fixture("llama3", "tokenizer.json"));
  const HfTokenizer qwen = HfTokenizer::Load(Fixture("qwen2", "tokenizer.json"));
  std::mt19937 rng(7);
  for (int n = 0; n < 500; ++n) {
    std::string s;
    const int len = static_cast<int>(rng() % 30);
    for (int i = 0; i < len; ++i) {
      uint32_t cp;
      switch (rng() % 4) {
        case 0: cp = rng() % 0x80; break;
        case 1: cp = rng() % 0x800; break;
        case 2: cp = rng() % 0x10000; break;
        default: cp = rng() % 0x110000; break;
      }
      if (cp >= 0xD800 && cp <= 0xDFFF) cp = 'x';  // surrogates are not characters
      AppendUtf8(cp, &s);
    }
    EXPECT_EQ(llama.Decode(llama.Encode(s)), s) << json(s).dump();
    const std::string normalized = qwen.Decode(qwen.Encode(s));
    EXPECT_EQ(qwen.Decode(qwen.Encode(normalized)), normalized) << json(s).dump();
  }
  EXPECT_EQ(qwen.Decode(qwen.Encode("e\xCC\x81")), "\xC3\xA9") << "NFC composes e + U+0301";
  EXPECT_EQ(llama.Decode(llama.Encode("e\xCC\x81")), "e\xCC\x81");
}

// Specials are matched in the text, leftmost and then longest; a special's
// text is never split into pieces.
TEST(HfTokenizer, MatchesAddedTokensInsideText) {
  const HfTokenizer qwen = HfTokenizer::Load(Fixture("qwen2", "tokenizer.json"));
  const int start = qwen.Find("<|im_start|>"), end = qwen.Find("<|im_end|>");
  ASSERT_GE(start, 0);
  EXPECT_TRUE(qwen.IsSpecial(start));
  EXPECT_FALSE(qwen.IsSpecial(qwen.Find("the")));
  const std::vector<int> ids = qwen.Encode("<|im_start|><|im_end|><|im_start");
  ASSERT_GE(ids.size(), 3u);
  EXPECT_EQ(ids[0], start);
  EXPECT_EQ(ids[1], end);
  EXPECT_EQ(qwen.Decode({ids.begin() + 2, ids.end()}), "<|im_start");
}

// tokenizers before 0.20 wrote merges as "left right" strings.
TEST(HfTokenizer, ReadsMergesWrittenAsStrings) {
  json j = json::parse(ReadFile(Fixture("qwen2", "tokenizer.json")));
  for (json& m : j["model"]["merges"]) m = m[0].get<std::string>() + " " + m[1].get<std::string>();
  const HfTokenizer old = HfTokenizer::FromJson(j.dump(), "old.json");
  const HfTokenizer now = HfTokenizer::Load(Fixture("qwen2", "tokenizer.json"));
  for (const json& c : Cases("qwen2")) EXPECT_EQ(old.Encode(c["text"].get<std::string>()), now.Encode(c["text"].get<std::string>()));
}

// Rust's from_utf8_lossy (what tokenizers decodes with): one U+FFFD per
// maximal invalid subpart, the Unicode standard's example (section 3.9).
TEST(HfTokenizer, LossyUtf8FollowsTheMaximalSubpartRule) {
  const std::string r = "\xEF\xBF\xBD";
  EXPECT_EQ(Utf8Lossy("a\xF1\x80\x80\xE1\x80\xC2" "b\x80" "c\x80\xBF" "d"), "a" + r + r + r + "b" + r + "c" + r + r + "d");
  EXPECT_EQ(Utf8Lossy("\xF0\x9F\x98"), r) << "a cut emoji is one replacement";
  EXPECT_EQ(Utf8Lossy("\xED\xA0\x80"), r + r + r) << "a surrogate is three";
  EXPECT_EQ(Utf8Lossy("ok \xC3\xA9"), "ok \xC3\xA9");
  // Decoding the first byte of a two-byte character alone.
  const HfTokenizer llama = HfTokenizer::Load(Fixture("llama3", "tokenizer.json"));
  const std::vector<int> ids = llama.Encode("\xC3\xA9");
  EXPECT_EQ(llama.Decode({llama.Find("\xC3\x83")}), r) << "byte 0xC3 alone";
  EXPECT_EQ(llama.Decode(ids), "\xC3\xA9");
}

TEST(HfTokenizer, BadInputIsAnErrorNamingTheFieldOrByte) {
  const std::string file = ReadFile(Fixture("qwen2", "tokenizer.json"));
  const HfTokenizer qwen = HfTokenizer::FromJson(file, "q.json");
  try {
    qwen.Encode("ab\xC3(");
    ADD_FAILURE() << "no error";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("q.json: text to encode is not valid UTF-8 at byte 2"), std::string::npos) << e.what();
  }
  EXPECT_THROW(qwen.Decode({5000}), InputError);
  EXPECT_THROW(qwen.Piece(-1), InputError);
  EXPECT_THROW(HfTokenizer::Load("/nonexistent/tokenizer.json"), std::exception);

  auto with = [&](const std::function<void(json&)>& edit) {
    json j = json::parse(file);
    edit(j);
    return ErrorOf(j.dump());
  };
  EXPECT_NE(ErrorOf("{").find("t.json: not JSON"), std::string::npos);
  EXPECT_NE(with([](json& j) { j["model"]["byte_fallback"] = true; }).find("t.json: model.byte_fallback: true is not supported"), std::string::npos);
  EXPECT_NE(with([](json& j) { j["model"]["type"] = "WordPiece"; }).find("model.type: 'WordPiece'; expected BPE"), std::string::npos);
  EXPECT_NE(with([](json& j) { j["normalizer"] = {{"type", "NFKC"}}; }).find("normalizer.type: 'NFKC'; expected null or NFC"), std::string::npos);
  EXPECT_NE(with([](json& j) { j["model"]["merges"][3] = {"Ġ", "zzzz"}; }).find("model.merges[3]: 'Ġ' + 'zzzz': a part or the merged token is not in model.vocab"), std::string::npos);
  EXPECT_NE(with([](json& j) { j["model"]["vocab"].erase("Ā"); }).find("model.vocab: no token for byte 0"), std::string::npos);
  EXPECT_NE(with([](json& j) { j["added_tokens"].push_back({{"id", 2147483647}, {"content", "<|far|>"}}); }).find("id 2147483647 lies far past the file's"), std::string::npos);
  // One token per id, one id per token: a repeat would decode as whichever came last.
  EXPECT_NE(with([](json& j) { j["model"]["vocab"]["dup"] = 5; }).find("expected one token per id"), std::string::npos);
  EXPECT_NE(with([](json& j) {
              j["added_tokens"].push_back({{"id", j["added_tokens"].size() + 2000}, {"content", j["added_tokens"][0]["content"]}});
            }).find("' is already id "), std::string::npos);
  EXPECT_NE(with([](json& j) { j["added_tokens"][0]["id"] = -3; }).find("added_tokens[0]: expected {id, content} with an id >= 0"), std::string::npos);
  EXPECT_NE(with([](json& j) { j["added_tokens"][1]["lstrip"] = true; }).find("added_tokens[1].lstrip: true is not supported"), std::string::npos);
  EXPECT_NE(with([](json& j) { j["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"] = "(a"; }).find("pre_tokenizer (its regex): missing closing parenthesis"), std::string::npos);
  EXPECT_NE(with([](json& j) { j["pre_tokenizer"] = {{"type", "Whitespace"}}; }).find("pre_tokenizer: 'Whitespace'; expected ByteLevel"), std::string::npos);
  EXPECT_NE(with([](json& j) { j["decoder"] = nullptr; }).find("decoder: ''; expected ByteLevel"), std::string::npos);
}

}  // namespace
}  // namespace r1lab

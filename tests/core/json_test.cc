// The JSON reader and writer (core/json.h).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>

#include "error.h"
#include "json.h"
#include "text.h"

namespace r1lab {
namespace {

TEST(Json, ParsesWhatWeWriteAndRejectsGarbage) {
  const JsonValue v = JsonValue::Parse(
      Json().Add("a", 1.5).Add("s", "x\"y\n").Add("b", true).Add("v", std::vector<double>{1, 2}).str());
  EXPECT_DOUBLE_EQ(v.num("a"), 1.5);
  EXPECT_EQ(v.at("s").string(), "x\"y\n");
  EXPECT_TRUE(v.at("b").boolean());
  EXPECT_EQ(v.at("v").array().size(), 2u);
  EXPECT_EQ(v.find("missing"), nullptr);
  EXPECT_THROW(JsonValue::Parse("{\"a\": }"), InputError);
  EXPECT_THROW(JsonValue::Parse("[1, 2"), InputError);
  EXPECT_THROW(JsonValue::Parse(std::string(5000, '[')), InputError);  // too deep, not a stack overflow
  EXPECT_THROW(v.num("missing"), InputError);
}

std::string ParseError(const std::string& text) {
  try {
    JsonValue::Parse(text);
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

TEST(Json, NumbersFollowJsonGrammarExactly) {
  for (const char* bad : {"NaN", "Infinity", "-Infinity", "0x7", "+7", "07", "-07", "1.", ".5", "1e", "1e+", "-", "1e999"})
    EXPECT_NE(ParseError(bad), "") << bad;
  EXPECT_NE(ParseError("07").find("leading zero"), std::string::npos);
  for (const char* good : {"0", "-0", "7", "-7.25", "1e3", "1E-3", "2.5e+2"}) EXPECT_EQ(ParseError(good), "") << good;
  EXPECT_DOUBLE_EQ(JsonValue::Parse("2.5e+2").number(), 250);
}

TEST(Json, UnicodeEscapesAreCheckedAndSurrogatePairsBecomeOneCharacter) {
  EXPECT_NE(ParseError("\"\\uzzzz\""), "");
  EXPECT_NE(ParseError("\"\\u-001\""), "");
  EXPECT_NE(ParseError("\"\\u12\""), "");
  EXPECT_NE(ParseError("\"\\ud83d\""), "");         // lone high surrogate
  EXPECT_NE(ParseError("\"\\ude00x\""), "");        // lone low surrogate
  EXPECT_NE(ParseError("\"\\ud83d\\u0041\""), "");  // high surrogate then not a low one
  EXPECT_NE(ParseError("\"a\tb\""), "");             // raw control character
  // U+1F600 as a pair is one four-byte UTF-8 character, not CESU-8.
  EXPECT_EQ(JsonValue::Parse("\"\\ud83d\\ude00\"").string(), "\xF0\x9F\x98\x80");
  EXPECT_EQ(JsonValue::Parse("\"\\u00e9\\u20ac\"").string(), "\xC3\xA9\xE2\x82\xAC");
}

TEST(Json, DuplicateKeysAreRefusedAndTypeErrorsNameTheField) {
  EXPECT_NE(ParseError("{\"a\": 1, \"a\": 2}").find("duplicate key 'a'"), std::string::npos);
  const JsonValue v = JsonValue::Parse("{\"gold\": 5}");
  try {
    v.at("gold").string();
    FAIL() << "a number read as a string";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("field 'gold': expected a string, got a number"), std::string::npos) << e.what();
  }
}

TEST(Json, WhatWeWriteIsValidUtf8WhateverWeAreGiven) {
  // Invalid bytes (a stray continuation byte, a character cut in half, an
  // overlong form, CESU-8 surrogates) become U+FFFD; valid characters pass.
  const std::string in = "ok \xC3\xA9 \x80 \xE2\x82 \xC0\xAF \xED\xA0\xBD end";
  const std::string out = Json().Add("s", in).str();
  for (size_t i = 0; i < out.size();) {
    const size_t n = Utf8SequenceLength(out, i);
    ASSERT_GT(n, 0u) << "invalid UTF-8 at byte " << i << " of " << out;
    i += n;
  }
  const std::string back = JsonValue::Parse(out).at("s").string();
  EXPECT_EQ(back.substr(0, 6), "ok \xC3\xA9 ");
  EXPECT_NE(back.find("\xEF\xBF\xBD"), std::string::npos);
  EXPECT_EQ(back.substr(back.size() - 4), " end");
  // Cutting a quote for an error message never splits a character.
  EXPECT_EQ(Utf8Cut("a\xC3\xA9" "b", 0, 2), "a");
  EXPECT_EQ(Utf8Cut("a\xC3\xA9" "b", 0, 3), "a\xC3\xA9");
  EXPECT_EQ(ValidUtf8("x\xFFy"), "x\xEF\xBF\xBDy");
}

TEST(Json, RoundingNumbersKeepsNineDigitsAndLeavesTheRestAlone) {
  // A metrics line as protobuf writes it: 17-digit doubles, integers, a
  // nested record, a string holding digits and an escaped quote.
  const std::string line =
      "{\"step\":1,\"flops\":20667922944,\"reward_mean\":0.42812500000000092,\"kl\":3.47886397228007e-05,"
      "\"lr\":2e-05,\"len_min\":14,\"neg\":-0.00034838542342185974,\"eval\":{\"pass1\":0.328125},"
      "\"note\":\"v1.2345678901234567 \\\"3.14159265358979\\\"\",\"ok\":true,\"big\":1.2345678901234567e+20}\n";
  const std::string want =
      "{\"step\":1,\"flops\":20667922944,\"reward_mean\":0.428125,\"kl\":3.47886397e-05,"
      "\"lr\":2e-05,\"len_min\":14,\"neg\":-0.000348385423,\"eval\":{\"pass1\":0.328125},"
      "\"note\":\"v1.2345678901234567 \\\"3.14159265358979\\\"\",\"ok\":true,\"big\":1.23456789e+20}\n";
  const std::string got = RoundJsonNumbers(line, 9);
  EXPECT_EQ(got, want);
  EXPECT_EQ(RoundJsonNumbers(got, 9), got);  // rounding twice changes nothing
  EXPECT_NO_THROW(JsonValue::Parse(got));
  EXPECT_EQ(RoundJsonNumbers(std::string("[0.12345678912345") + std::string(1, '\0') + "]", 9),
            std::string("[0.123456789") + std::string(1, '\0') + "]");  // a NUL ends a number too
  // Every float32 value survives 9 digits exactly; a double keeps 9 digits.
  uint32_t bits = 0x3f6b851fu;  // 0.92f
  for (int k = 0; k < 2000; ++k, bits = bits * 1664525u + 1013904223u) {
    float f;
    std::memcpy(&f, &bits, sizeof f);
    if (!std::isfinite(f)) continue;
    const double d = f;
    char buf[40];
    std::snprintf(buf, sizeof buf, "%.17g", d);
    const std::string json = "[" + std::string(buf) + (std::strchr(buf, '.') || std::strchr(buf, 'e') ? "" : ".0") + "]";
    EXPECT_EQ(static_cast<float>(JsonValue::Parse(RoundJsonNumbers(json, 9)).array()[0].number()), f) << json;
  }
}

// Keys chosen by a predicate get fewer digits: only as a member's value,
// not in an array under the key, not a string that looks like one, and a
// nested object's own members by their own keys.
TEST(Json, RoundingNumbersGivesChosenKeysFewerDigits) {
  auto timing = [](const std::string& key) { return key.size() > 2 && key.substr(key.size() - 2) == "_s"; };
  const std::string line =
      "{\"wall_s\":12.345678901,\"loss\":0.123456789012,\"eval\":{\"t_s\" : 0.000123456789,\"pass1\":0.3125},"
      "\"list_s\":[1.23456789,2.5],\"note\":\"x_s\",\"after\":9.87654321012,\"big_s\":123456.789}\n";
  const std::string want =
      "{\"wall_s\":12.35,\"loss\":0.123456789,\"eval\":{\"t_s\" : 0.0001235,\"pass1\":0.3125},"
      "\"list_s\":[1.23456789,2.5],\"note\":\"x_s\",\"after\":9.87654321,\"big_s\":1.235e+05}\n";
  const std::string got = RoundJsonNumbers(line, 9, timing, 4);
  EXPECT_EQ(got, want);
  EXPECT_EQ(RoundJsonNumbers(got, 9, timing, 4), got);  // rounding twice changes nothing
  EXPECT_EQ(RoundJsonNumbers(line, 9), RoundJsonNumbers(line, 9, nullptr, 4));  // no predicate: every key alike
  EXPECT_NO_THROW(JsonValue::Parse(got));
}

}  // namespace
}  // namespace r1lab

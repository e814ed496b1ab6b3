// The JSON reader and writer (core/json.h).
#include <gtest/gtest.h>

#include "error.h"
#include "json.h"

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

}  // namespace
}  // namespace r1lab

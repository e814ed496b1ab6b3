// Records written and read with protobuf's JSON support (core/records.h).
#include <gtest/gtest.h>

#include "error.h"
#include "r1lab.pb.h"
#include "records.h"

namespace r1lab {
namespace {

// Field names as declared, map keys in order whatever the insertion order
// (so two runs write the same bytes), and a round trip that loses nothing.
TEST(Records, EvalRecordRoundTripsWithSortedMapKeys) {
  EvalRecord e;
  e.set_problems(16);
  e.set_pass1(0.140625);
  for (int k : {4, 1, 2, 16, 8}) (*e.mutable_pass_at())[k] = k / 16.0;
  e.add_by_level()->set_level(2);
  const std::string json = RecordToJson(e);
  EXPECT_EQ(json.rfind("{\"problems\":16,\"pass1\":0.140625,\"pass_at\":{\"1\":0.0625,\"2\":0.125,\"4\":0.25,\"8\":0.5,"
                       "\"16\":1},",
                       0),
            0u)
      << json;
  EvalRecord back;
  RecordFromJson(json, "<test>", &back);
  EXPECT_EQ(RecordToJson(back), json);
  EXPECT_EQ(back.pass_at().at(16), 1.0);
}

// A record reads the members it declares and skips the rest (a metrics line
// carries more than its eval point); results written before a field existed
// leave it absent, not zero; a wrong shape names the source.
TEST(Records, ReadsOldAndWiderLinesAndNamesTheSourceOnErrors) {
  MetricsLine line;
  RecordFromJson(R"({"step":4,"flops":7.2e8,"eval":{"pass1":0.5,"pass_at":{"1":0.5}},"wall_s":3,"later":1})",
                 "<test>", &line);
  EXPECT_EQ(line.step(), 4);
  EXPECT_EQ(line.eval().pass1(), 0.5);
  EXPECT_FALSE(line.eval().has_steps_mean());
  EXPECT_FALSE(line.has_loss());
  try {
    RecordFromJson(R"({"step":"four"})", "runs/a/metrics.jsonl", &line);
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("runs/a/metrics.jsonl: not a MetricsLine record"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace r1lab

// Records written and read with protobuf's JSON support (core/records.h).
#include <gtest/gtest.h>

#include <functional>

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
  // A yes-or-no field is true or false: protobuf alone reads "yes" as true.
  SampleRecord s;
  RecordFromJson(R"({"problem":1,"correct":true,"format_ok":false,"truncated":null})", "<test>", &s);
  EXPECT_TRUE(s.correct());
  EXPECT_FALSE(s.format_ok());
  for (const char* bad : {R"({"problem":1,"correct":"yes"})", R"({"problem":1,"correct":"false"})",
                          R"({"problem":1,"formatOk":"1"})"}) {
    try {
      RecordFromJson(bad, "runs/a/seed-1/samples.jsonl line 3", &s);
      FAIL() << bad << ": no error";
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find("runs/a/seed-1/samples.jsonl line 3: "), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(": expected true or false"), std::string::npos) << e.what();
    }
  }
  TuneRecord t;
  EXPECT_THROW(RecordFromJson(R"({"cover_values":"no"})", "x.tune.json", &t), InputError);
}

std::string ErrorOf(const std::function<void()>& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  return "no error";
}

// An eval.json a report adds up: what it needs present, and every number in
// its range (a share within [0, 1], a size not negative, nothing NaN), each
// error naming the file and the member; nested and map members by index.
TEST(Records, AnEvalRecordOutOfShapeOrRangeNamesTheFileAndMember) {
  const std::string good =
      R"({"problems":4,"samples_per_problem":2,"pass1":0.5,"maj":0.5,"pass_at":{"1":0.5,"2":0.75},)"
      R"("format_rate":1,"mean_length":30.5,"reflective_gain_within_problem":-0.25,"by_level":[{"level":1,"problems":4,"pass1":0.5}]})";
  auto check = [](const std::string& json) {
    return ErrorOf([&] {
      EvalRecord e;
      RecordFromJson(json, "runs/a/seed-1/eval.json", &e);
      CheckEvalRecord(e, "runs/a/seed-1/eval.json");
    });
  };
  EXPECT_EQ(check(good), "no error");
  auto with = [&](const std::string& from, const std::string& to) {
    std::string s = good;
    const size_t at = s.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    return s.replace(at, from.size(), to);
  };
  EXPECT_EQ(check(with("\"pass1\":0.5,\"maj\"", "\"pass1\":5.0,\"maj\"")),
            "runs/a/seed-1/eval.json: pass1 is 5; expected a share within [0, 1]");
  EXPECT_EQ(check(with("\"pass1\":0.5,\"maj\"", "\"maj\"")),
            "runs/a/seed-1/eval.json: no pass1; expected held-out pass@1, a share within [0, 1]");
  EXPECT_EQ(check(with("\"pass1\":0.5,\"maj\"", "\"pass1\":\"NaN\",\"maj\"")),
            "runs/a/seed-1/eval.json: pass1 is nan; expected a share within [0, 1]");
  EXPECT_EQ(check(with("\"2\":0.75", "\"2\":-0.1")),
            "runs/a/seed-1/eval.json: pass_at[2] is -0.1; expected a share within [0, 1]");
  EXPECT_EQ(check(with("\"level\":1,\"problems\":4,\"pass1\":0.5", "\"level\":1,\"problems\":4,\"pass1\":1.5")),
            "runs/a/seed-1/eval.json: by_level[0].pass1 is 1.5; expected a share within [0, 1]");
  EXPECT_EQ(check(with("30.5", "-3")),
            "runs/a/seed-1/eval.json: mean_length is -3; expected a finite number, not negative");
  EXPECT_EQ(check(with("-0.25", "-1.25")),
            "runs/a/seed-1/eval.json: reflective_gain_within_problem is -1.25; expected a difference of shares "
            "within [-1, 1]");
  EXPECT_EQ(check(with("\"problems\":4,\"samples", "\"problems\":0,\"samples")),
            "runs/a/seed-1/eval.json: no problems; expected the number of problems evaluated, at least 1");
  EXPECT_EQ(check("{}"), "runs/a/seed-1/eval.json: no problems; expected the number of problems evaluated, at least 1");
}

// A done.json: a run's needs its FLOPs and wall time, a base evaluation's
// (no wall time) its FLOPs; nothing negative.
TEST(Records, ADoneRecordNeedsItsFlopsAndNothingNegative) {
  auto check = [](const std::string& json, bool run) {
    return ErrorOf([&] {
      DoneRecord d;
      RecordFromJson(json, "d/done.json", &d);
      CheckDoneRecord(d, "d/done.json", run);
    });
  };
  EXPECT_EQ(check(R"({"flops":1.5e13,"wall_s":502,"flops_by_phase":{"train":1e13}})", true), "no error");
  EXPECT_EQ(check(R"({"flops":2e12,"params":355000})", false), "no error");
  EXPECT_EQ(check("{}", true), "d/done.json: no flops; expected the run's FLOPs");
  EXPECT_EQ(check(R"({"flops":2e12})", true), "d/done.json: no wall_s; expected the run's wall time in seconds");
  EXPECT_EQ(check(R"({"flops":-1,"wall_s":5})", true), "d/done.json: flops is -1; expected a finite number, not negative");
  EXPECT_EQ(check(R"({"flops":1,"wall_s":5,"flops_by_phase":{"label":-2}})", true),
            "d/done.json: flops_by_phase.label is -2; expected a finite number, not negative");
  EXPECT_EQ(check(R"({"flops":1,"wall_s":5,"oracle_calls":-3})", true),
            "d/done.json: oracle_calls is negative; expected a count");
}

}  // namespace
}  // namespace r1lab

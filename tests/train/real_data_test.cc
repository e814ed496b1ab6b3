// (In the train suite: it checks that real datasets load through the tasks layer and
// encode with the model layer's tokenizer, the two layers train/ sits on.)
// The math verifier on real data (../shared/data, see its README). Skipped
// with a message when the folder is absent, as in a user's fresh clone.
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "answer.h"
#include "dataset.h"
#include "test_util.h"
#include "tokenizer.h"
#include "io.h"
#include "json.h"
#include "math_equiv.h"

namespace r1lab {
namespace {

const std::string kData = std::string(R1LAB_SOURCE_DIR) + "/../shared/data/";

#define SKIP_WITHOUT(file)                                                                   \
  if (!FileExists(kData + file)) GTEST_SKIP() << kData + file << " is absent (no ../shared/data in this clone)"

// For every MATH-500 row, the \boxed{} answer of the worked solution judged
// against the answer field: at least 99% equal, and each failure listed.
TEST(RealData, Math500BoxedSolutionMatchesAnswer) {
  SKIP_WITHOUT("math500_test.jsonl");
  int rows = 0, equal = 0, parsed = 0;
  std::string failures;
  for (const std::string& line : ReadLines(kData + "math500_test.jsonl")) {
    if (line.empty()) continue;
    const JsonValue row = JsonValue::Parse(line);
    ++rows;
    const std::string gold = row.at("answer").string();
    const Extraction x = ExtractBoxed(row.at("solution").string());
    const MathJudgement j = x.ok ? CompareMath(gold, x.answer) : MathJudgement{MathResult::kUnverifiable, x.error};
    if (j.result == MathResult::kEqual) ++equal;
    else failures += "  " + row.at("unique_id").string() + ": '" + gold + "' vs '" + x.answer + "': " + j.reason + "\n";
    // How much of MATH-500 the structured parser reads (rather than the text
    // fallback): a gold compared with a wrong number must come back "not equal".
    if (CompareMath(gold, "-98765").result == MathResult::kNotEqual) ++parsed;
  }
  EXPECT_EQ(rows, 500);
  EXPECT_GE(equal, 495) << "judged equal: " << equal << "/" << rows << "\n" << failures;
  std::cout << "MATH-500: " << equal << "/" << rows << " boxed answers judged equal; " << parsed
            << " golds parsed and compared\n" << failures;
  EXPECT_GE(parsed, 490);
}

// GSM8K: "#### N" extraction works on every row and N is a number.
TEST(RealData, Gsm8kHashExtractionOnEveryRow) {
  SKIP_WITHOUT("gsm8k_test.jsonl");
  int rows = 0;
  for (const std::string& line : ReadLines(kData + "gsm8k_test.jsonl")) {
    if (line.empty()) continue;
    const JsonValue row = JsonValue::Parse(line);
    ++rows;
    const Extraction x = ExtractHashAnswer(row.at("answer").string());
    ASSERT_TRUE(x.ok) << "row " << rows << ": " << x.error;
    EXPECT_EQ(CompareMath(x.answer, x.answer + ".0").result, MathResult::kEqual) << "row " << rows << ": " << x.answer;
  }
  EXPECT_EQ(rows, 1319);
}

}  // namespace
}  // namespace r1lab

namespace r1lab {
namespace {

// The JSONL dataset task reads both files; its clean teacher's traces are
// judged right by the math verifier.
TEST(RealData, DatasetTaskLoadsGsm8kAndMath500) {
  SKIP_WITHOUT("gsm8k_test.jsonl");
  SKIP_WITHOUT("math500_test.jsonl");
  struct Spec {
    const char* text;
    size_t rows;
  };
  for (const Spec& s :
       {Spec{"dataset { path: \"gsm8k_test.jsonl\" answer_format: HASH } num_test: 200", 1319},
        Spec{"dataset { path: \"math500_test.jsonl\" question_field: \"problem\" answer_format: PLAIN "
             "solution_field: \"solution\" level_field: \"level\" } num_test: 100",
             500}}) {
    TaskConfig cfg = testing::ParseResolved<TaskConfig>(s.text);
    cfg.mutable_dataset()->set_path(kData + cfg.dataset().path());
    const auto task = MakeTask(cfg);
    const auto* d = dynamic_cast<const DatasetTask*>(task.get());
    ASSERT_NE(d, nullptr);
    EXPECT_EQ(d->ValidationSet().size(), 200u) << s.text;
    EXPECT_EQ(d->TestSet().size() + d->ValidationSet().size() + d->num_train(), s.rows) << s.text;
    TeacherConfig clean;
    clean.set_step_error_rate(0);
    Rng rng(1);
    for (int i = 0; i < 100; ++i) {
      const Problem p = task->SampleTrain(rng);
      const Trace tr = task->Teach(p, clean, rng);
      EXPECT_TRUE(task->Verify(tr.completion, p).correct) << p.gold << " | " << tr.completion.substr(tr.completion.size() - 80);
      EXPECT_NO_THROW(Tokenizer::Get().Encode(p.prompt)) << p.prompt;
      EXPECT_NO_THROW(Tokenizer::Get().Encode(tr.completion)) << tr.completion;
    }
  }
}

}  // namespace
}  // namespace r1lab

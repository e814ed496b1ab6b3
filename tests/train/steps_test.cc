// Segmenters on fixed traces, label-quality metrics against hand counts,
// aggregations on fixed scores, and arith's per-line ground truth.
#include <gtest/gtest.h>

#include "arith.h"
#include "steps.h"
#include "test_util.h"

namespace r1lab {
namespace {

const std::string kTrace = "<think>3+4=8\nwait 3+4=7\n7-2=5\n</think><answer>5</answer>";

std::vector<std::string> Texts(const std::string& c, const std::vector<Segment>& s) {
  std::vector<std::string> out;
  for (const Segment& g : s) out.push_back(c.substr(g.begin, g.end - g.begin));
  return out;
}

TEST(Segment, ByLine) {
  EXPECT_EQ(Texts(kTrace, SegmentSteps(kTrace, {Segmenter::kLine})),
            (std::vector<std::string>{"3+4=8\n", "wait 3+4=7\n", "7-2=5\n", "</think><answer>5</answer>"}));
  const std::string no_close = "<think>1+1=2\n\n\n2+2=4";
  EXPECT_EQ(Texts(no_close, SegmentSteps(no_close, {Segmenter::kLine})),
            (std::vector<std::string>{"1+1=2\n", "2+2=4"}));
  EXPECT_TRUE(SegmentSteps("<think></think><answer>1</answer>", {Segmenter::kLine}).size() == 1);
}

TEST(Segment, ByTagTokensAndPunctuation) {
  const std::string c = "<think>a=1; b=2; so c=3. done</think><answer>3</answer>";
  SegmenterSpec tag{Segmenter::kTag, ";", 0};
  EXPECT_EQ(Texts(c, SegmentSteps(c, tag)),
            (std::vector<std::string>{"a=1;", " b=2;", " so c=3. done", "</think><answer>3</answer>"}));
  SegmenterSpec chunk{Segmenter::kTokenChunk, "", 8};
  EXPECT_EQ(Texts(c, SegmentSteps(c, chunk)),
            (std::vector<std::string>{"a=1; b=2", "; so c=3", ". done", "</think><answer>3</answer>"}));
  // A special token inside the chain of thought is one token: chunks never split it.
  const std::string specials = "<think>ab<think>cd</answer>e</think>";
  EXPECT_EQ(Texts(specials, SegmentSteps(specials, {Segmenter::kTokenChunk, "", 3})),
            (std::vector<std::string>{"ab<think>", "cd</answer>", "e", "</think>"}));
  // A character is a whole UTF-8 sequence ("ñ", and U+FFFD, which a lossy
  // decode of a byte-level model's stray bytes gives): no prefix ends inside one.
  const std::string utf8 = "<think>añ\xef\xbf\xbd" "b</think>";
  EXPECT_EQ(Texts(utf8, SegmentSteps(utf8, {Segmenter::kTokenChunk, "", 2})),
            (std::vector<std::string>{"añ", "\xef\xbf\xbd" "b", "</think>"}));
  EXPECT_EQ(Texts(c, SegmentSteps(c, {Segmenter::kPunctuation})),
            (std::vector<std::string>{"a=1;", " b=2;", " so c=3.", " done", "</think><answer>3</answer>"}));
  const std::string decimal = "<think>x is 2.5 now. ok</think>";
  EXPECT_EQ(Texts(decimal, SegmentSteps(decimal, {Segmenter::kPunctuation})),
            (std::vector<std::string>{"x is 2.5 now.", " ok", "</think>"}))
      << "a decimal point does not end a step";
}

TEST(Segment, TruthFromLines) {
  const auto wrong = [](const std::string& l) { return ArithLineWrong(l); };
  EXPECT_EQ(SegmentTruth(kTrace, SegmentSteps(kTrace, {Segmenter::kLine}), wrong),
            (std::vector<bool>{true, false, false, false}));
  // Chunks of 8 characters: "3+4=8\nwa" overlaps the wrong line.
  const auto chunks = SegmentSteps(kTrace, {Segmenter::kTokenChunk, "", 8});
  const std::vector<bool> t = SegmentTruth(kTrace, chunks, wrong);
  EXPECT_TRUE(t[0]);
  EXPECT_FALSE(t.back());
}

TEST(ArithTruth, JudgesSymbolicAndWordedLines) {
  EXPECT_EQ(ArithLineWrong("3+4=8"), true);
  EXPECT_EQ(ArithLineWrong("3+4=7"), false);
  EXPECT_EQ(ArithLineWrong("wait -3-2=-5"), false);
  EXPECT_EQ(ArithLineWrong("check 7-4=3"), false);
  EXPECT_EQ(ArithLineWrong("3 plus 4 is 8"), true);
  EXPECT_EQ(ArithLineWrong("espera 7 menos 4 es 3"), false);
  EXPECT_EQ(ArithLineWrong("3 mas 4 is 7"), false) << "mixed languages";
  EXPECT_EQ(ArithLineWrong("6*7=42"), false);
  EXPECT_EQ(ArithLineWrong("</answer>"), std::nullopt);
  EXPECT_EQ(ArithLineWrong("hello"), std::nullopt);
  EXPECT_EQ(ArithLineWrong("3+4+5=12"), std::nullopt) << "not one step";
}

// The line judge agrees with the teacher's own step labels, in both renderings.
TEST(ArithTruth, AgreesWithTheTeachersLabels) {
  for (const char* spec : {"arith { max_ops: 4 multiply: true } num_test: 50",
                           "arith { worded: true spanish_rate: 0.5 } num_test: 50"}) {
    ArithTask t(testing::ParseResolved<TaskConfig>(spec));
    TeacherConfig noisy;
    noisy.set_step_error_rate(0.4);
    noisy.set_verification_rate(0.5);
    noisy.set_language_mix_rate(0.3);
    Rng rng(9);
    int wrong = 0;
    for (int i = 0; i < 300; ++i) {
      const Trace tr = t.Teach(t.SampleTrain(rng), noisy, rng);
      for (const Step& st : tr.steps) {
        EXPECT_EQ(ArithLineWrong(st.text), !st.correct) << st.text;
        wrong += !st.correct;
      }
    }
    EXPECT_GT(wrong, 100) << spec;
  }
}

TEST(LabelQuality, MatchesHandCounts) {
  LabelQuality q;
  q.Add({true, false, false}, {true, false, false});   // exact
  q.Add({false, true, false}, {true, false, false});   // miss + false alarm; first error wrong
  q.Add({false, false, false}, {false, false, false}); // clean, right
  q.Add({false, false, true}, {false, true, true});    // one hit, one miss; first error wrong
  EXPECT_EQ(q.traces, 4);
  EXPECT_EQ(q.steps, 12);
  EXPECT_EQ(q.true_wrong, 4);
  EXPECT_EQ(q.predicted_wrong, 3);
  EXPECT_EQ(q.both_wrong, 2);
  EXPECT_DOUBLE_EQ(q.precision(), 2.0 / 3);
  EXPECT_DOUBLE_EQ(q.recall(), 0.5);
  EXPECT_DOUBLE_EQ(q.f1(), 2 * (2.0 / 3) * 0.5 / (2.0 / 3 + 0.5));
  EXPECT_DOUBLE_EQ(q.first_error_accuracy(), 0.5);
}

TEST(Degeneration, MatchesHandCounts) {
  Degeneration d;
  const std::string a = "<think>1+2=3\n3+4=7\n 1+2=3\n</think><answer>7</answer>";
  d.Add(a, SegmentSteps(a, {Segmenter::kLine}), true);  // 3 CoT steps (one a repeat) + the answer part
  const std::string b = "<think>5-1=4\n";
  d.Add(b, SegmentSteps(b, {Segmenter::kLine}), false);
  EXPECT_EQ(d.responses, 2);
  EXPECT_EQ(d.steps, 5);
  EXPECT_EQ(d.repeated, 1);
  EXPECT_DOUBLE_EQ(d.steps_mean(), 2.5);
  EXPECT_DOUBLE_EQ(d.repeated_rate(), 0.2);
  EXPECT_DOUBLE_EQ(d.no_answer_rate(), 0.5);
}

TEST(Aggregate, EveryAggregationOnFixedScores) {
  const std::vector<double> s = {0.9, 0.2, 0.8};
  EXPECT_DOUBLE_EQ(Aggregate(s, Aggregation::kMin), 0.2);
  EXPECT_DOUBLE_EQ(Aggregate(s, Aggregation::kLast), 0.8);
  EXPECT_DOUBLE_EQ(Aggregate(s, Aggregation::kProduct), 0.9 * 0.2 * 0.8);
  EXPECT_DOUBLE_EQ(Aggregate(s, Aggregation::kMean), (0.9 + 0.2 + 0.8) / 3);
  EXPECT_THROW(Aggregate({}, Aggregation::kMin), std::exception);
}

}  // namespace
}  // namespace r1lab

#include "mc_labels.h"

namespace r1lab {
namespace {

// A hand-built completer: from a prefix whose last line is wrong and not
// yet fixed, 1 in 4 completions recovers; otherwise 3 in 4 reach the gold.
TEST(McLabels, SoftAndHardLabelsFromAHandBuiltCompleter) {
  ArithTask t(testing::ParseResolved<TaskConfig>("arith {} num_test: 10"));
  Problem p;
  p.key = "3+4-2";
  p.gold = "5";
  const std::string c = "<think>3+4=8\nwait 3+4=7\n7-2=5\n</think><answer>5</answer>";
  int calls = 0;
  const Completer completer = [&](const std::vector<const Problem*>& problems, const std::vector<std::string>& prefixes,
                                  int n) {
    ++calls;
    std::vector<std::vector<std::string>> out;
    for (const std::string& prefix : prefixes) {
      const bool stuck = prefix.size() >= 6 && prefix.compare(prefix.size() - 6, 6, "3+4=8\n") == 0;
      std::vector<std::string> row;
      for (int i = 0; i < n; ++i) {
        const bool right = stuck ? i % 4 == 3 : i % 4 != 3;
        row.push_back(std::string("</think><answer>") + (right ? "5" : "6") + "</answer>");
      }
      out.push_back(row);
    }
    return out;
  };
  const std::vector<LabelJob> jobs = {{&p, c, SegmentSteps(c, {Segmenter::kLine})},
                                      {&p, c, SegmentSteps(c, {Segmenter::kLine})}};
  const auto labels = MonteCarloLabels(t, jobs, completer, 8);
  EXPECT_EQ(calls, 1) << "every prefix of every trace in one completer call";
  ASSERT_EQ(labels.size(), 2u);
  ASSERT_EQ(labels[0].size(), 4u);
  EXPECT_DOUBLE_EQ(labels[0][0].soft, 0.25);  // after the wrong step
  EXPECT_TRUE(labels[0][0].hard);             // some completion recovers: the hard label calls it good
  EXPECT_DOUBLE_EQ(labels[0][1].soft, 0.75);
  EXPECT_DOUBLE_EQ(labels[0][3].soft, 1.0);  // the answer step: the trace's own outcome
  // With one completion per step the wrong step looks hopeless (0 of 1).
  const auto one = MonteCarloLabels(t, {jobs[0]}, completer, 1);
  EXPECT_FALSE(one[0][0].hard);
  // Labels at a smaller N from the same draw: the first 4 of 8 completions.
  const McOutcomes outcomes = MonteCarloOutcomes(t, {jobs[0]}, completer, 8);
  EXPECT_DOUBLE_EQ(LabelsFromOutcomes(outcomes, 4)[0][0].soft, 0.25);
  EXPECT_FALSE(LabelsFromOutcomes(outcomes, 3)[0][0].hard);
  EXPECT_THROW(LabelsFromOutcomes(outcomes, 9), std::exception);
  EXPECT_THROW(MonteCarloLabels(t, jobs, completer, 0), std::exception);
}

}  // namespace
}  // namespace r1lab

namespace r1lab {
namespace {

TEST(StepMetrics, AucAgainstHandComputation) {
  // good: 0.9, 0.7, 0.4; bad: 0.8, 0.2. Pairs good>bad: (0.9>0.8,0.9>0.2,0.7>0.2,0.4>0.2) = 4 of 6.
  EXPECT_DOUBLE_EQ(StepAuc({0.9, 0.8, 0.7, 0.4, 0.2}, {true, false, true, true, false}), 4.0 / 6);
  EXPECT_DOUBLE_EQ(StepAuc({0.5, 0.5}, {true, false}), 0.5) << "a tie counts half";
  EXPECT_DOUBLE_EQ(StepAuc({0.1, 0.9}, {false, true}), 1.0);
  EXPECT_DOUBLE_EQ(StepAuc({0.1, 0.9}, {true, true}), 0.5) << "one class only";
}

TEST(StepMetrics, ProcessBenchF1AgainstHandCounts) {
  FirstErrorScore f;
  f.Add({0.9, 0.2, 0.1}, {false, true, true});  // first error at 1, found
  f.Add({0.3, 0.9, 0.9}, {false, true, false}); // predicted 0, actual 1: miss
  f.Add({0.9, 0.8}, {false, false});            // clean, none predicted: hit
  f.Add({0.9, 0.4}, {false, false});            // clean, false alarm
  f.Add({0.9, 0.9}, {false, false});            // clean hit
  EXPECT_DOUBLE_EQ(f.error_accuracy(), 0.5);
  EXPECT_DOUBLE_EQ(f.clean_accuracy(), 2.0 / 3);
  EXPECT_DOUBLE_EQ(f.f1(), 2 * 0.5 * (2.0 / 3) / (0.5 + 2.0 / 3));
}

}  // namespace
}  // namespace r1lab

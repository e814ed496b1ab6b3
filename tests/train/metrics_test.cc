// Evaluation statistics (train/metrics.h) against hand and reference computations.
#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <tuple>

#include "arith.h"
#include "evaluator.h"
#include "metrics.h"
#include "records.h"
#include "test_util.h"
#include "tiny_base.h"
#include "tokenizer.h"

namespace r1lab {
namespace {

// Appends hand-made responses to *r, problem-major with r->n per problem,
// 10 tokens each.
void AddSamples(EvalResult* r, const std::vector<const char*>& completions) {
  for (const char* c : completions) {
    EvalSample s;
    s.problem = static_cast<int>(r->samples.size()) / r->n;
    s.index = static_cast<int>(r->samples.size()) % r->n;
    s.completion = c;
    s.tokens = 10;
    r->samples.push_back(s);
  }
}

// Reference: the definition 1 - C(n-c, k) / C(n, k), in double precision.
double Binom(int n, int k) {
  if (k < 0 || k > n) return 0;
  double r = 1;
  for (int i = 1; i <= k; ++i) r = r * (n - k + i) / i;
  return r;
}

// The readability columns of an evaluation: the summary-line share and the
// language consistency, over hand-made samples.
TEST(SummarizeSamples, SummaryRateAndLanguageConsistencyByHand) {
  std::vector<Problem> test(2);
  test[0].language = "en";
  test[1].language = "es";
  EvalResult r;
  r.num_problems = 2;
  r.n = 2;
  AddSamples(&r, {"<think>3 plus 4 is 7\nso the answer is 7</think><answer>7</answer>",
                  "<think>3 plus 4 is 7</think><answer>7</answer>",
                  "<think>3 mas 4 es 7\nso the answer is 7</think><answer>7</answer>",
                  "<think>3 mas 4 es 7\nasi que la respuesta es 7</think><answer>7</answer>"});
  SummarizeSamples(test, &r);
  EXPECT_DOUBLE_EQ(r.summary_rate, 3.0 / 4);
  EXPECT_DOUBLE_EQ(r.language_consistency, (1 + 1 + 2.0 / 6 + 1) / 4);
  EXPECT_DOUBLE_EQ(EvalToRecord(r).summary_rate(), 3.0 / 4);
}

TEST(PassAtK, HandComputedValues) {
  EXPECT_DOUBLE_EQ(PassAtK(5, 2, 1), 0.4);
  EXPECT_NEAR(PassAtK(5, 2, 2), 1.0 - 3.0 / 10.0, 1e-12);       // C(3,2)/C(5,2)
  EXPECT_NEAR(PassAtK(10, 3, 5), 1.0 - 21.0 / 252.0, 1e-12);    // C(7,5)/C(10,5)
  EXPECT_DOUBLE_EQ(PassAtK(10, 0, 4), 0.0);
  EXPECT_DOUBLE_EQ(PassAtK(4, 4, 2), 1.0);
  EXPECT_DOUBLE_EQ(PassAtK(8, 6, 3), 1.0);  // fewer than k wrong: always a hit
}

TEST(PassAtK, MatchesBinomialDefinition) {
  for (int n : {1, 7, 16, 40})
    for (int c = 0; c <= n; c += 3)
      for (int k = 1; k <= n; k += 2)
        EXPECT_NEAR(PassAtK(n, c, k), 1.0 - Binom(n - c, k) / Binom(n, k), 1e-9) << n << " " << c << " " << k;
}

TEST(MajorityVote, CountsAnswersAndBreaksTiesByFirstSeen) {
  EXPECT_EQ(MajorityAnswer({"3", "5", "5", "3", "5"}), "5");
  EXPECT_EQ(MajorityAnswer({"7", "", "2", "2", "7"}), "7");
  EXPECT_EQ(MajorityAnswer({"", "", "4"}), "4");
  EXPECT_EQ(MajorityAnswer({"", ""}), "");
}

TEST(ReflectiveWords, WholeWordsCaseInsensitive) {
  EXPECT_EQ(CountWord("Wait, wait. awaits waiting", "wait"), 2);
  EXPECT_EQ(CountReflectiveWords("but check: however, I verify; butter"), 4);
  EXPECT_EQ(CountReflectiveWords("no reflection"), 0);
}

// An aha revision is a chain-of-thought line that starts with "wait" (or
// "espera") after an earlier line: not the first line, not mid-line, not in
// the answer.
TEST(ReflectiveWords, ARevisionRewritesAnEarlierLine) {
  EXPECT_TRUE(HasRevision("<think>3+4=8\nwait 3+4=7\n</think><answer>7</answer>"));
  EXPECT_TRUE(HasRevision("<think>3 mas 4 es 8\n  Espera, 3 mas 4 es 7</think><answer>7</answer>"));
  EXPECT_FALSE(HasRevision("<think>wait 3+4=7\n</think><answer>7</answer>")) << "nothing before it to revise";
  EXPECT_FALSE(HasRevision("<think>3+4=7\nbut wait 7+1=8\n</think><answer>8</answer>"));
  EXPECT_FALSE(HasRevision("<think>3+4=7\nwaiting 7+1=8\n</think><answer>8</answer>"));
  EXPECT_FALSE(HasRevision("<think>3+4=7\n</think><answer>wait 7</answer>"));
  EXPECT_FALSE(HasRevision("3+4=8\nwait 3+4=7"));
}

// The first check line: where "stopped before its checks" cuts.
TEST(FirstCheckLine, TheFirstChainOfThoughtLineWithAReflectiveWord) {
  const std::string c = "<think>3+4=8\nwait 3+4=7\ncheck 7-4=3\n</think><answer>7</answer>";
  EXPECT_EQ(FirstCheckLine(c), c.find("wait"));
  const std::string v = "<think>3+4=7\n7*2=14\nverify 14/2=7\n</think><answer>14</answer>";
  EXPECT_EQ(FirstCheckLine(v), v.find("verify"));
  // A check on the first line: cut right after <think>.
  const std::string first = "<think>check 2+2=4\n</think><answer>4</answer>";
  EXPECT_EQ(FirstCheckLine(first), std::string("<think>").size());
  // A word inside a line counts; one only in the answer, or a longer word, does not.
  const std::string mid = "<think>3+4=7 but 7 is odd\n</think><answer>7</answer>";
  EXPECT_EQ(FirstCheckLine(mid), std::string("<think>").size());
  EXPECT_EQ(FirstCheckLine("<think>3+4=7\n</think><answer>wait 7</answer>"), std::string::npos);
  EXPECT_EQ(FirstCheckLine("<think>3+4=7\nwaiting\n</think><answer>7</answer>"), std::string::npos);
  EXPECT_EQ(FirstCheckLine("3+4=8\nwait 3+4=7"), std::string::npos);
}

// What the checks add, by hand: three responses with a check line, right
// as written 2 of 3 times, right when redrawn without checks 1 of 3 times
// (one of them ended before a check line the redraws kept); a fourth
// response has no check.
TEST(SummarizeSamples, ChecksAgainstRedrawsWithoutThemByHand) {
  std::vector<Problem> test(2);
  EvalResult r;
  r.num_problems = 2;
  r.n = 2;
  const std::vector<std::tuple<bool, bool, bool>> samples = {  // has a check, right, right without it
      {true, true, false}, {true, true, true}, {true, false, false}, {false, true, false}};
  for (const auto& [check, right, without] : samples) {
    EvalSample s;
    s.problem = static_cast<int>(r.samples.size()) / 2;
    s.index = static_cast<int>(r.samples.size()) % 2;
    s.completion = "<think>1+1=2\ncheck 2-1=1\n</think><answer>2</answer>";
    s.verdict.correct = right;
    if (check) {
      s.without_checks = "<think>1+1=2\n</think><answer>2</answer>";
      s.without_checks_ended = r.samples.empty();
      s.without_checks_verdict.correct = without;
    }
    r.samples.push_back(s);
  }
  SummarizeSamples(test, &r);
  EXPECT_DOUBLE_EQ(r.check_rate, 0.75);
  EXPECT_DOUBLE_EQ(r.pass1_with_check, 2.0 / 3);
  EXPECT_DOUBLE_EQ(r.pass1_without_checks, 1.0 / 3);
  EXPECT_DOUBLE_EQ(r.ended_at_check_rate, 1.0 / 3);
  EXPECT_DOUBLE_EQ(EvalToRecord(r).pass1_without_checks(), 1.0 / 3);
  // Not measured (nothing was redrawn): absent, not 0.
  for (EvalSample& s : r.samples) s.without_checks.clear();
  SummarizeSamples(test, &r);
  EXPECT_TRUE(std::isnan(r.pass1_without_checks));
  EXPECT_FALSE(EvalToRecord(r).has_check_rate());
}

// Does reflection pay: by hand, four samples, two with a reflective word
// (one right, by a revision), two without (both right).
TEST(SummarizeSamples, ReflectionPayAndAhaEpisodesByHand) {
  std::vector<Problem> test(2);
  EvalResult r;
  r.num_problems = 2;
  r.n = 2;
  const std::vector<std::pair<const char*, bool>> samples = {
      {"<think>3+4=8\nwait 3+4=7\n</think><answer>7</answer>", true},
      {"<think>3+4=8\ncheck 8-4=4\n</think><answer>8</answer>", false},
      {"<think>3+4=7\n</think><answer>7</answer>", true},
      {"<think>2+2=4\n</think><answer>4</answer>", true}};
  const int kTokens[] = {20, 30, 10, 12};  // the reflective two average 25, the others 11
  for (const auto& [c, right] : samples) {
    EvalSample s;
    s.problem = static_cast<int>(r.samples.size()) / 2;
    s.index = static_cast<int>(r.samples.size()) % 2;
    s.completion = c;
    s.verdict.correct = right;
    s.tokens = kTokens[r.samples.size()];
    r.samples.push_back(s);
  }
  SummarizeSamples(test, &r);
  EXPECT_DOUBLE_EQ(r.mean_length, 18);
  EXPECT_DOUBLE_EQ(r.length_reflective, 25);
  EXPECT_DOUBLE_EQ(r.length_plain, 11);
  EXPECT_DOUBLE_EQ(r.reflective_rate, 0.5);
  EXPECT_DOUBLE_EQ(r.pass1_reflective, 0.5);
  EXPECT_DOUBLE_EQ(r.pass1_plain, 1.0);
  EXPECT_DOUBLE_EQ(r.aha_rate, 0.25);
  const EvalRecord e = EvalToRecord(r);
  EXPECT_DOUBLE_EQ(e.aha_rate(), 0.25);
  EXPECT_DOUBLE_EQ(e.pass1_reflective(), 0.5);
  EXPECT_DOUBLE_EQ(e.length_reflective(), 25);
  // With no reflective response, its pass@1 and length are undefined: absent, not 0.
  r.samples.erase(r.samples.begin(), r.samples.begin() + 2);
  r.num_problems = 1;
  SummarizeSamples(test, &r);
  EXPECT_TRUE(std::isnan(r.pass1_reflective));
  EXPECT_FALSE(EvalToRecord(r).has_pass1_reflective());
  EXPECT_FALSE(EvalToRecord(r).has_length_reflective());
  EXPECT_DOUBLE_EQ(EvalToRecord(r).pass1_plain(), 1.0);
  EXPECT_DOUBLE_EQ(EvalToRecord(r).length_plain(), 11);
}

// Readability: the share of thinking lines in the teacher's form, and of
// the check lines (a reflective word) among them, by hand:
//   "3+4=7" in, "wait 3+4=7" in, "check 7 it 4 3" out, "3 + 4 = 7" out,
//   "so it is 7 but" out (a check line: "but").
// All lines: 2 of 5; check lines: 1 of 3 ("wait 3+4=7" in).
TEST(SummarizeSamples, LinesInTheTeachersFormByHand) {
  std::vector<Problem> test(1);
  EvalResult r;
  r.num_problems = 1;
  r.n = 2;
  AddSamples(&r, {"<think>3+4=7\nwait 3+4=7\ncheck 7 it 4 3\n</think><answer>7</answer>",
                  "<think>3 + 4 = 7\nso it is 7 but\n</think><answer>7</answer>"});
  const auto form = [](const std::string& line, const Problem&) -> std::optional<bool> {
    return line == "3+4=7" || line == "wait 3+4=7";
  };
  SummarizeSamples(test, &r, form);
  EXPECT_DOUBLE_EQ(r.lines_in_form, 2.0 / 5);
  EXPECT_DOUBLE_EQ(r.check_lines_in_form, 1.0 / 3);
  EXPECT_DOUBLE_EQ(EvalToRecord(r).lines_in_form(), 2.0 / 5);
  EXPECT_NE(EvalTable(r).find("teacher's form    40.0% of thinking lines (33.3% of check lines)"), std::string::npos)
      << EvalTable(r);
  // A task without a grammar, or no judge at all: absent, not 0.
  SummarizeSamples(test, &r, [](const std::string&, const Problem&) -> std::optional<bool> { return std::nullopt; });
  EXPECT_TRUE(std::isnan(r.lines_in_form));
  EXPECT_FALSE(EvalToRecord(r).has_check_lines_in_form());
  SummarizeSamples(test, &r);
  EXPECT_FALSE(EvalToRecord(r).has_lines_in_form());
  // No check line: the check share is undefined.
  r.samples[0].completion = "<think>3+4=7\n</think><answer>7</answer>";
  r.samples[1].completion = "<think>3+4=7\n</think><answer>7</answer>";
  SummarizeSamples(test, &r, form);
  EXPECT_DOUBLE_EQ(r.lines_in_form, 1);
  EXPECT_TRUE(std::isnan(r.check_lines_in_form));
}

// A mix judges each response by the part that made its problem: arith's
// lines by arith's grammar, a note's not at all. Problem 0 is arith, 1 a note
// (the mix interleaves its parts by weight; the test finds one of each):
// arith's two responses hold 3 lines, 2 in form; the note's line is not counted.
TEST(SummarizeSamples, AMixJudgesTheLinesOfThePartsWithAGrammar) {
  const std::unique_ptr<Task> mix = MakeTask(testing::ParseResolved<TaskConfig>(
      "mix { parts { weight: 1 task { arith {} num_test: 20 } } parts { weight: 1 task { note {} num_test: 20 } } }"));
  std::vector<Problem> test;
  for (const Problem& p : mix->TestSet())
    if (test.size() == static_cast<size_t>(p.level - 1)) test.push_back(p);  // level: the part (1 = arith)
  ASSERT_EQ(test.size(), 2u);
  EXPECT_EQ(mix->PartFor(test[0]).name(), "arith");
  EXPECT_EQ(mix->PartFor(test[1]).name(), "note");
  EvalResult r;
  r.num_problems = 2;
  r.n = 2;
  AddSamples(&r, {"<think>3+4=7\nwait 3+4=7\n</think><answer>7</answer>",  // arith
                  "<think>3 + 4 is 7\n</think><answer>7</answer>",
                  "<think>3+4=7\n</think><answer>nice</answer>",  // the note: not judged
                  "<think>ana likes cats\n</think><answer>nice</answer>"});
  SummarizeSamples(test, &r, [&](const std::string& l, const Problem& p) { return LineInForm(*mix, l, p); });
  EXPECT_DOUBLE_EQ(r.lines_in_form, 2.0 / 3);
  EXPECT_DOUBLE_EQ(r.check_lines_in_form, 1);
}

// Within a problem: reflective responses look worse overall only because
// they come on a harder problem; paired by problem they are ahead. By hand,
// 4 samples per problem (R reflective, P plain, + right, - wrong):
//   A: R+ P+ P+ P+   -> 1/1 - 3/3 = 0
//   B: R+ R- R- P-   -> 1/3 - 0/1 = +1/3
//   C: R- R- R- R-   -> no plain response: not paired
// Unpaired: reflective 2/8 = 25%, plain 3/4 = 75%; within a problem the mean
// of (0, +1/3) = +16.7 points over 2 of 3 problems.
TEST(SummarizeSamples, ReflectionGainWithinAProblemByHand) {
  std::vector<Problem> test(3);
  EvalResult r;
  r.num_problems = 3;
  r.n = 4;
  const char* kReflective = "<think>3+4=7\ncheck 7-4=3\n</think><answer>7</answer>";
  const char* kPlain = "<think>3+4=7\n</think><answer>7</answer>";
  const std::string layout = "R+P+P+P+R+R-R-P-R-R-R-R-";
  for (size_t k = 0; k < layout.size(); k += 2) {
    EvalSample s;
    s.problem = static_cast<int>(k / 8);
    s.index = static_cast<int>(k / 2 % 4);
    s.completion = layout[k] == 'R' ? kReflective : kPlain;
    s.verdict.correct = layout[k + 1] == '+';
    s.tokens = 10;
    r.samples.push_back(s);
  }
  SummarizeSamples(test, &r);
  EXPECT_DOUBLE_EQ(r.pass1_reflective, 0.25);
  EXPECT_DOUBLE_EQ(r.pass1_plain, 0.75);
  EXPECT_NEAR(r.reflective_gain_within_problem, 1.0 / 6, 1e-12);
  EXPECT_NEAR(r.reflective_mixed_problems, 2.0 / 3, 1e-12);
  EXPECT_NEAR(EvalToRecord(r).reflective_gain_within_problem(), 1.0 / 6, 1e-12);
  // No problem with both kinds: the gain is undefined, absent from the record.
  r.samples.resize(4);
  for (EvalSample& s : r.samples) s.completion = kPlain;
  r.num_problems = 1;
  SummarizeSamples(test, &r);
  EXPECT_TRUE(std::isnan(r.reflective_gain_within_problem));
  EXPECT_FALSE(EvalToRecord(r).has_reflective_gain_within_problem());
  EXPECT_DOUBLE_EQ(EvalToRecord(r).reflective_mixed_problems(), 0);
}

// Evaluation on the validation split samples the validation problems (the
// samples' prompts are theirs), and its record says so; a test evaluation's
// record has no split field (results from before splits read the same).
TEST(Evaluate, TheValidationSplitIsItsOwnProblems) {
  TaskConfig tc = testing::TinyBaseTask();
  tc.set_num_validation(20);
  ArithTask task(tc);
  Transformer m = testing::CopyOfTinyBase();
  const EvalConfig ec = testing::ParseResolved<EvalConfig>("num_problems: 5 samples_per_problem: 2 sampling { max_new_tokens: 40 }");
  EvalConfig on_validation = ec;
  on_validation.set_split(VALIDATION);
  const EvalResult v = Evaluate(m, task, on_validation);
  const EvalResult t = Evaluate(m, task, ec);
  EXPECT_EQ(EvalToRecord(v).split(), "validation");
  EXPECT_FALSE(EvalToRecord(t).has_split());
  const std::string jsonl = SamplesToJsonl(v, task);
  for (int i = 0; i < 5; ++i) {
    EXPECT_NE(jsonl.find("\"prompt\":\"" + task.ValidationSet()[static_cast<size_t>(i)].prompt + "\""), std::string::npos) << i;
    EXPECT_NE(task.ValidationSet()[static_cast<size_t>(i)].key, task.TestSet()[static_cast<size_t>(i)].key);
  }
  EvalConfig too_many = on_validation;
  too_many.set_num_problems(static_cast<int>(task.ValidationSet().size()) + 1);
  EXPECT_THROW(Evaluate(m, task, too_many), InputError);
}

// eval.without_checks on the tiny base (taught to write "wait" after 30%
// of its slips): every response with a check line is redrawn from the text
// before that line, mostly without one, kept in samples.jsonl and charged
// in FLOPs; the others are left alone.
TEST(Evaluate, RedrawsTheResponsesWithChecksWithoutThem) {
  ArithTask task(testing::TinyBaseTask());
  Transformer m = testing::CopyOfTinyBase();
  EvalConfig ec = testing::ParseResolved<EvalConfig>("num_problems: 30 samples_per_problem: 4 sampling { max_new_tokens: 40 }");
  const EvalResult plain = Evaluate(m, task, ec);
  ec.set_without_checks(true);
  const EvalResult r = Evaluate(m, task, ec);
  int checked = 0, ended = 0;
  const Tokenizer& tok = Tokenizer::Get();
  for (size_t k = 0; k < r.samples.size(); ++k) {
    const EvalSample& s = r.samples[k];
    EXPECT_EQ(s.completion, plain.samples[k].completion) << k;  // the same responses
    const size_t at = FirstCheckLine(s.completion);
    if (at == std::string::npos) {
      EXPECT_TRUE(s.without_checks.empty()) << s.completion;
      continue;
    }
    ++checked;
    // The text before the first check line is kept, the rest redrawn, and
    // the redraw has no check line: found, or the thinking ended before it.
    ASSERT_EQ(s.without_checks.compare(0, at, s.completion, 0, at), 0) << s.without_checks;
    EXPECT_EQ(FirstCheckLine(s.without_checks), std::string::npos) << s.without_checks;
    EXPECT_NE(s.without_checks, s.completion);
    ended += s.without_checks_ended;
    EXPECT_LE(tok.Encode(s.without_checks).size(), 40u);  // the evaluation's token limit
    EXPECT_EQ(s.without_checks_verdict.correct,
              task.Verify(s.without_checks, task.TestSet()[static_cast<size_t>(s.problem)]).correct);
  }
  ASSERT_GT(checked, 0) << "the tiny base wrote no check line in 120 responses";
  EXPECT_LT(ended, checked) << "the redraws never got rid of a check";
  EXPECT_DOUBLE_EQ(r.check_rate, checked / 120.0);
  EXPECT_DOUBLE_EQ(r.ended_at_check_rate, static_cast<double>(ended) / checked);
  EXPECT_GT(r.flops, plain.flops);
  EXPECT_EQ(plain.pass1, r.pass1);
  EXPECT_FALSE(EvalToRecord(plain).has_pass1_without_checks());
  const std::string jsonl = SamplesToJsonl(r, task);
  EXPECT_NE(jsonl.find("\"without_checks\":\"\\u003cthink\\u003e"), std::string::npos);
}

}  // namespace
}  // namespace r1lab

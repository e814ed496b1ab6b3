// Countdown, graph and two-language arith: splits, teachers, verifiers, and
// the language-consistency term.
#include <gtest/gtest.h>

#include <climits>
#include <set>
#include <tuple>

#include "arith.h"
#include "code.h"
#include "countdown.h"
#include "dataset.h"
#include "error.h"
#include "graph.h"
#include "io.h"
#include "json.h"
#include "language.h"
#include "reward.h"
#include "task_verify.h"
#include "test_util.h"
#include "text.h"

namespace r1lab {
namespace {

TaskConfig Parse(const std::string& text) { return testing::ParseResolved<TaskConfig>(text); }

TeacherConfig Clean() {
  TeacherConfig t;
  t.set_step_error_rate(0);
  return t;
}

void ExpectDisjointSplit(const Task& t) {
  std::set<std::string> held_out;
  for (const Problem& p : t.TestSet()) held_out.insert(p.key);
  EXPECT_EQ(held_out.size(), t.TestSet().size()) << "test keys repeat";
  for (const Problem& p : t.ValidationSet()) held_out.insert(p.key);
  EXPECT_EQ(held_out.size(), t.TestSet().size() + t.ValidationSet().size()) << "validation repeats a test key";
  Rng rng(5);
  for (int i = 0; i < 2000; ++i) EXPECT_EQ(held_out.count(t.SampleTrain(rng).key), 0u);
}

// ---------------------------------------------------------------- countdown

const std::vector<long long> kNums = {3, 7, 25, 50};

// task.format_allows_whitespace changes the format verdict (and so the
// format reward) and nothing else.
TEST(Task, FormatAllowingWhitespaceChangesOnlyTheFormatVerdict) {
  const auto strict = MakeTask(Parse("arith {} num_test: 20"));
  const auto spaced = MakeTask(Parse("arith {} num_test: 20 format_allows_whitespace: true"));
  const Problem& p = strict->TestSet()[0];
  EXPECT_EQ(spaced->TestSet()[0].key, p.key);
  EXPECT_EQ(spaced->name(), strict->name());
  const std::string right = "<think>\nx\n</think> <answer>" + p.gold + "</answer>\n<eos>";
  const Verdict a = strict->Verify(right, p), b = spaced->Verify(right, p);
  EXPECT_FALSE(a.format_ok);
  EXPECT_TRUE(b.format_ok);
  EXPECT_TRUE(a.correct);
  EXPECT_TRUE(b.correct);
  const RewardChain chain(testing::ParseResolved<RewardConfig>(""), 64);
  Scored sample;
  sample.completion = right;
  sample.length = 10;
  EXPECT_NEAR(chain.Score(sample, b).total - chain.Score(sample, a).total, 0.1, 1e-12) << "the format weight's 0.1";
}

TEST(Countdown, AcceptsEveryValidFormOfAnAnswer) {
  for (const char* ok : {"(25-3)+50", "50+25-3", "50 + (25 - 3)", "25-3+50", "((50))+25-3", "50+25-3=72",
                         "50+(7*3+1)"})
    EXPECT_EQ(CheckCountdown(ok, kNums, 72).correct, std::string(ok) != "50+(7*3+1)") << ok;
  EXPECT_TRUE(CheckCountdown("(7-3)*25-50+22", {3, 7, 25, 50, 22}, 72).correct);
  EXPECT_TRUE(CheckCountdown("50/25*3", {3, 25, 50}, 6).correct) << "exact division";
  EXPECT_TRUE(CheckCountdown("7/(50/25)*2", {2, 7, 25, 50}, 7).correct) << "fractional intermediates are exact";
  EXPECT_TRUE(CheckCountdown("-3+75", {3, 75}, 72).correct);
}

TEST(Countdown, RejectsReusedMissingAndWrongAnswers) {
  EXPECT_EQ(CheckCountdown("25+25+22", kNums, 72).why, "25 used too often");
  EXPECT_EQ(CheckCountdown("50+22", kNums, 72).why, "22 is not given");
  EXPECT_FALSE(CheckCountdown("50+25", kNums, 72).correct);
  EXPECT_FALSE(CheckCountdown("50+25-3=71", kNums, 72).correct);
  EXPECT_FALSE(CheckCountdown("50/(25-25)", kNums, 72).correct);
  EXPECT_FALSE(CheckCountdown("7/2", {2, 7}, 3).correct) << "3.5 is not 3";
  EXPECT_FALSE(CheckCountdown("50^2", kNums, 2500).correct) << "only + - * / are allowed";
  EXPECT_FALSE(CheckCountdown("x+3", kNums, 3).correct);
  EXPECT_FALSE(CheckCountdown("(50+25", kNums, 75).correct);
  EXPECT_FALSE(CheckCountdown("", kNums, 0).correct);
  EXPECT_FALSE(CheckCountdown("99999999999*99999999999*99999999999", {99999999999LL, 99999999999LL, 99999999999LL}, 1)
                   .correct)
      << "overflow is a wrong answer, not undefined behaviour";
  EXPECT_FALSE(CheckCountdown(std::string(300, '('), kNums, 1).correct);
}

TEST(Countdown, ValuesAreExactWhateverTheirSizeAndOrder) {
  // Every value fits in 64 bits: the order of the operands must not change the verdict.
  for (const char* e : {"3689027*2906771/2906771", "2906771*3689027/2906771", "3689027/2906771*2906771"})
    EXPECT_TRUE(CheckCountdown(e, {2906771, 2906771, 3689027}, 3689027).correct) << e << ": "
        << CheckCountdown(e, {2906771, 2906771, 3689027}, 3689027).why;
  // Intermediates beyond 64 bits are exact too.
  const long long big = 99999999999LL;
  EXPECT_TRUE(CheckCountdown("99999999999*99999999999/99999999999", {big, big, big}, big).correct);
  EXPECT_TRUE(CheckCountdown("(9223372036854775807+9223372036854775807)/2", {LLONG_MAX, LLONG_MAX, 2}, LLONG_MAX)
                  .correct);
  EXPECT_EQ(CheckCountdown("99999999999*99999999999*99999999999", {big, big, big}, 1).why,
            "value 999999999970000000000299999999999 is not the target 1");
  EXPECT_EQ(CheckCountdown("7/2", {2, 7}, 3).why, "value 7/2 is not the target 3");
  // Negating the most negative 64-bit value gives +2^63, not the value itself.
  const long long half = 4611686018427387904LL;  // 2^62
  EXPECT_TRUE(CheckCountdown("-4611686018427387904*2", {2, half}, LLONG_MIN).correct);
  EXPECT_EQ(CheckCountdown("-(-4611686018427387904*2)", {2, half}, LLONG_MIN).why,
            "value 9223372036854775808 is not the target -9223372036854775808");
  // A literal beyond 64 bits cannot be one of the numbers.
  EXPECT_EQ(CheckCountdown("3+" + std::string(150, '9'), kNums, 1).why, "number too large");
}

TEST(Countdown, ProblemsAreSolvableAndTheCleanTeacherSolvesThem) {
  CountdownTask t(Parse("countdown { min_numbers: 3 max_numbers: 4 } num_test: 100"));
  ExpectDisjointSplit(t);
  Rng rng(1);
  for (int i = 0; i < 200; ++i) {
    const Problem p = t.SampleTrain(rng);
    EXPECT_GE(p.level, 3);
    EXPECT_LE(p.level, 4);
    const Trace tr = t.Teach(p, Clean(), rng);
    const Verdict v = t.Verify(tr.completion, p);
    EXPECT_TRUE(v.correct) << p.prompt << " | " << tr.completion << " | " << v.error;
    EXPECT_TRUE(v.format_ok);
    EXPECT_TRUE(tr.answer_correct);
    for (const Step& s : tr.steps) EXPECT_TRUE(s.correct);
  }
}

TEST(Countdown, NoisyTeacherLabelsAreTheTruth) {
  CountdownTask t(Parse("countdown {} num_test: 50"));
  TeacherConfig noisy;
  noisy.set_step_error_rate(0.5);
  noisy.set_reflection_rate(0.3);
  Rng rng(2);
  int wrong = 0;
  for (int i = 0; i < 300; ++i) {
    const Problem p = t.SampleTrain(rng);
    const Trace tr = t.Teach(p, noisy, rng);
    EXPECT_EQ(tr.answer_correct, t.Verify(tr.completion, p).correct) << tr.completion;
    wrong += !tr.answer_correct;
  }
  EXPECT_GT(wrong, 30);
  EXPECT_LT(wrong, 270);
}

// retry_rate: failed attempts, each a real combination of the prompt's
// numbers that misses the target and a "wait <value> is not <target>" line,
// before the solution; the answer stays right.
// Any other task refuses the field.
TEST(Countdown, RetryTeacherWritesCheckedFailedAttemptsThenTheSolution) {
  CountdownTask t(Parse("countdown {} num_test: 50"));
  TeacherConfig retry = Clean();
  retry.set_retry_rate(1);
  Rng rng(4);
  for (int i = 0; i < 100; ++i) {
    const Problem p = t.SampleTrain(rng);
    std::vector<long long> numbers;
    long long target = 0;
    CountdownTask::ParseKey(p.key, &numbers, &target);
    const Trace tr = t.Teach(p, retry, rng);
    EXPECT_TRUE(t.Verify(tr.completion, p).correct) << tr.completion;
    int waits = 0;
    for (const Step& s : tr.steps)
      if (s.text.rfind("wait ", 0) == 0) {
        ++waits;
        EXPECT_NE(s.text.find(" is not " + std::to_string(target)), std::string::npos) << s.text;
        EXPECT_NE(s.text, "wait " + std::to_string(target) + " is not " + std::to_string(target));
      }
    EXPECT_EQ(waits, 3) << "retry_rate 1: three failed attempts " << tr.completion;
  }
  TeacherConfig some = Clean();
  some.set_retry_rate(0.3);
  int with = 0;
  for (int i = 0; i < 300; ++i) with += t.Teach(t.SampleTrain(rng), some, rng).completion.find("\nwait ") != std::string::npos;
  EXPECT_GT(with, 300 * 0.2);
  EXPECT_LT(with, 300 * 0.4);
  try {
    testing::ParseResolved<ExperimentConfig>(
        "name: \"x\" seeds: 1 task { arith {} } arms { name: \"s\" sft { teacher { retry_rate: 0.2 } } }");
    FAIL() << "arith writes no attempts";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("arms[0].sft.teacher.retry_rate"), std::string::npos) << e.what();
  }
}

// use_all_numbers (TinyZero's rule): an answer must use every number, once;
// targets and the teacher's failed attempts use all of them, so every
// attempt is n - 1 combinations long.
TEST(Countdown, UseAllNumbersAsksForEveryNumberExactlyOnce) {
  EXPECT_TRUE(CheckCountdown("50+25-3", kNums, 72).correct);
  EXPECT_EQ(CheckCountdown("50+25-3", kNums, 72, true).why, "7 is not used");
  EXPECT_TRUE(CheckCountdown("(50+25-3)*7/7", {3, 7, 7, 25, 50}, 72, true).correct);
  EXPECT_EQ(CheckCountdown("(50+25-3)*7", {3, 7, 7, 25, 50}, 72, true).why, "value 504 is not the target 72")
      << "a wrong value is named before an unused number";
  EXPECT_EQ(CheckCountdown("25+25+22", kNums, 72, true).why, "25 used too often");

  CountdownTask t(Parse("countdown { min_numbers: 4 max_numbers: 5 max_number: 10 max_target: 50 "
                        "use_all_numbers: true } num_test: 100"));
  ExpectDisjointSplit(t);
  TeacherConfig retry = Clean();
  retry.set_retry_rate(0.5);
  Rng rng(6);
  int attempts = 0;
  for (int i = 0; i < 200; ++i) {
    const Problem p = t.SampleTrain(rng);
    std::vector<long long> numbers;
    long long target = 0;
    CountdownTask::ParseKey(p.key, &numbers, &target);
    ASSERT_EQ(static_cast<int>(numbers.size()), p.level);
    EXPECT_TRUE(CheckCountdown(p.gold, numbers, target, true).correct) << p.prompt << " gold " << p.gold;
    const Trace tr = t.Teach(p, retry, rng);
    const Verdict v = t.Verify(tr.completion, p);
    EXPECT_TRUE(v.correct) << p.prompt << " | " << tr.completion << " | " << v.error;
    EXPECT_TRUE(tr.answer_correct);
    // Every attempt, failed or not, combines all the numbers: n - 1 lines
    // before each "wait ... is not" and after the last.
    int lines = 0;
    for (const Step& s : tr.steps) {
      if (s.text.rfind("wait ", 0) == 0) {
        EXPECT_EQ(lines, p.level - 1) << tr.completion;
        lines = 0;
        ++attempts;
      } else {
        ++lines;
      }
    }
    EXPECT_EQ(lines, p.level - 1) << tr.completion;
  }
  EXPECT_GT(attempts, 50) << "retry_rate 0.5 writes failed attempts";

  // The same problems under the default rule: a teacher's answer that leaves
  // a number out is right there, wrong here.
  const Problem& p = t.TestSet()[0];
  std::vector<long long> numbers;
  long long target = 0;
  CountdownTask::ParseKey(p.key, &numbers, &target);
  const std::string two = std::to_string(numbers[0]) + "+" + std::to_string(numbers[1]);
  const long long sum = numbers[0] + numbers[1];
  EXPECT_TRUE(CheckCountdown(two, numbers, sum).correct);
  EXPECT_FALSE(CheckCountdown(two, numbers, sum, true).correct);
  // The task judges by its config (and so does a rescore, which builds the
  // task from the folder's config).
  Problem q;
  q.key = "1,2,3,4,5=3";
  const std::string partial = "<think>1+2=3\n</think><answer>1+2</answer>";
  EXPECT_EQ(t.Verify(partial, q).error, "3 is not used");
  EXPECT_TRUE(CountdownTask(Parse("countdown {} num_test: 50")).Verify(partial, q).correct);

  // A config whose targets (nearly) never fit is a config error, not a hang.
  try {
    CountdownTask(Parse("countdown { min_numbers: 6 max_numbers: 6 max_number: 1000 max_target: 1 "
                        "use_all_numbers: true } num_test: 10"));
    FAIL() << "six numbers up to 1000 cannot all make 1 in any reasonable number of draws";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("raise max_target"), std::string::npos) << e.what();
  }
}

// ---------------------------------------------------------------- readability

// Every line a noisy teacher writes (errors, corrections, checks, failed
// attempts, summary lines, both languages) is in its task's form, through
// the task MakeTask builds.
TEST(Readability, EveryLineANoisyTeacherWritesIsInItsForm) {
  TeacherConfig noisy;
  noisy.set_step_error_rate(0.4);
  noisy.set_reflection_rate(0.5);
  noisy.set_verification_rate(0.5);
  noisy.set_summary(true);
  TeacherConfig retry = noisy;
  retry.set_retry_rate(0.5);
  retry.set_verification_rate(0);
  const std::vector<std::pair<const char*, TeacherConfig>> cases = {
      {"countdown { min_numbers: 3 max_numbers: 5 } num_test: 50 format_allows_whitespace: true", retry},
      {"arith { min_ops: 1 max_ops: 4 spanish_rate: 0.5 } num_test: 50", noisy},
      {"arith { min_ops: 1 max_ops: 4 worded: true spanish_rate: 0.5 } num_test: 50", noisy},
      {"graph { min_nodes: 4 max_nodes: 9 } num_test: 50", noisy}};
  for (const auto& [text, teacher] : cases) {
    const std::unique_ptr<Task> t = MakeTask(Parse(text));
    Rng rng(3);
    int lines = 0, waits = 0;
    for (int i = 0; i < 300; ++i) {
      const Trace tr = TeachTrace(*t, t->SampleTrain(rng), teacher, rng);
      for (const Step& s : tr.steps) {
        ++lines;
        waits += s.text.rfind("wait ", 0) == 0;
        EXPECT_EQ(LineInForm(*t, s.text), true) << text << ": " << s.text;
      }
    }
    EXPECT_GT(waits, 50) << text << ": the noise must reach the check lines (" << lines << " lines)";
  }
}

// The drift seen in r1_zero_dynamics_hard ("wait 1 it it 1 is not 22"),
// spacing, other words and mixed languages are out of the form; a task
// without a line grammar judges no line.
TEST(Readability, DriftedLinesAreOutOfTheForm) {
  const std::unique_ptr<Task> countdown = MakeTask(Parse("countdown {} num_test: 50"));
  for (const char* line : {"25-3=22", "wait 25-3=22", "wait 20 is not 72", "22*3=-4", "so the answer is (25-3)*3"})
    EXPECT_EQ(LineInForm(*countdown, line), true) << line;
  for (const char* line : {"wait 1 it it 1 is not 22", "25 - 3 = 22", "wait 25-3 is not 22", "25-3=22 wait",
                           "check 25-3=22", "so the answer is ", "", "25-3=", "wait 20 isnot 72"})
    EXPECT_EQ(LineInForm(*countdown, line), false) << line;
  const std::unique_ptr<Task> worded = MakeTask(Parse("arith { worded: true spanish_rate: 0.5 } num_test: 50"));
  for (const char* line :
       {"3 plus 4 is 7", "check 7 minus 4 is 3", "espera -3 por 4 es -12", "asi que la respuesta es 7"})
    EXPECT_EQ(LineInForm(*worded, line), true) << line;
  for (const char* line :
       {"3 mas 4 is 7", "espera 3 plus 4 es 7", "wait 3 mas 4 es 7", "3+4=7", "3 plus 4 plus 5 is 12"})
    EXPECT_EQ(LineInForm(*worded, line), false) << line;
  const std::unique_ptr<Task> symbols = MakeTask(Parse("arith {} num_test: 50"));
  EXPECT_EQ(LineInForm(*symbols, "comprueba -7+4=-3"), true);
  EXPECT_EQ(LineInForm(*symbols, "3 plus 4 is 7"), false) << "the symbolic teacher writes no words";
  EXPECT_EQ(LineInForm(*symbols, "3/4=0"), false) << "arith has no division";
  const std::unique_ptr<Task> graph = MakeTask(Parse("graph {} num_test: 50"));
  EXPECT_EQ(LineInForm(*graph, "wait C=12 via A"), true);
  EXPECT_EQ(LineInForm(*graph, "C=12"), false);
  const std::unique_ptr<Task> note = MakeTask(Parse("note {} num_test: 50"));
  EXPECT_EQ(LineInForm(*note, "so the answer is 7"), std::nullopt);
}

// A teacher that mixes languages (language_mix_rate) writes lines out of
// the form: a worded step has two words (the operator and "is"), each in
// the other language with probability 0.25, so 1 - (0.75^2 + 0.25^2) =
// 37.5% of its lines mix.
TEST(Readability, ATeacherThatMixesLanguagesWritesLinesOutOfTheForm) {
  const std::unique_ptr<Task> t = MakeTask(Parse("arith { min_ops: 2 max_ops: 2 worded: true } num_test: 50"));
  TeacherConfig mixed = Clean();
  mixed.set_language_mix_rate(0.25);
  Rng rng(6);
  int lines = 0, out = 0;
  for (int i = 0; i < 1000; ++i)
    for (const Step& s : t->Teach(t->SampleTrain(rng), mixed, rng).steps) {
      ++lines;
      out += LineInForm(*t, s.text) == false;
    }
  EXPECT_EQ(lines, 2000);
  EXPECT_NEAR(static_cast<double>(out) / lines, 0.375, 0.04);
}

// ---------------------------------------------------------------- graph

// Floyd-Warshall in plain loops: the reference for Boost's Dijkstra.
int BruteForce(const GraphProblem& g) {
  std::vector<std::vector<long long>> d(g.nodes, std::vector<long long>(g.nodes, LLONG_MAX / 4));
  for (int v = 0; v < g.nodes; ++v) d[v][v] = 0;
  for (const GraphEdge& e : g.edges) {
    d[e.u][e.v] = std::min<long long>(d[e.u][e.v], e.w);
    d[e.v][e.u] = std::min<long long>(d[e.v][e.u], e.w);
  }
  for (int k = 0; k < g.nodes; ++k)
    for (int i = 0; i < g.nodes; ++i)
      for (int j = 0; j < g.nodes; ++j) d[i][j] = std::min(d[i][j], d[i][k] + d[k][j]);
  return static_cast<int>(d[g.source][g.target]);
}

TEST(Graph, DijkstraAgreesWithFloydWarshall) {
  GraphTask t(Parse("graph { min_nodes: 3 max_nodes: 9 extra_edge_rate: 0.4 } num_test: 300"));
  for (const Problem& p : t.TestSet()) {
    const GraphProblem g = ParseGraphKey(p.key);
    EXPECT_EQ(Dijkstra(g).dist[g.target], BruteForce(g)) << p.key;
    EXPECT_EQ(PathLength(g, {g.source}), 0);
  }
  ExpectDisjointSplit(t);
}

TEST(Graph, PathAndLengthChecks) {
  const std::string key = "AB3,AC7,BC2,CD1;A-D";
  EXPECT_TRUE(GraphTask::JudgeAnswer("ABCD", key, PATH).correct);
  EXPECT_TRUE(GraphTask::JudgeAnswer("A-B-C-D", key, PATH).correct);
  EXPECT_TRUE(GraphTask::JudgeAnswer("A B C D", key, PATH).correct);
  EXPECT_TRUE(GraphTask::JudgeAnswer("A\nB\tC D", key, PATH).correct) << "any whitespace separates nodes";
  EXPECT_EQ(GraphTask::JudgeAnswer("ACD", key, PATH).error, "length 8 is not the shortest 6");
  EXPECT_EQ(GraphTask::JudgeAnswer("ABD", key, PATH).error, "the path uses a missing edge");
  EXPECT_FALSE(GraphTask::JudgeAnswer("BCD", key, PATH).correct);
  EXPECT_FALSE(GraphTask::JudgeAnswer("ABCDE", key, PATH).correct);
  EXPECT_FALSE(GraphTask::JudgeAnswer("6", key, PATH).correct);
  EXPECT_TRUE(GraphTask::JudgeAnswer("6", key, LENGTH).correct);
  EXPECT_FALSE(GraphTask::JudgeAnswer("8", key, LENGTH).correct);
  EXPECT_EQ(GraphKeyFromPrompt("AB3 AC7 BC2 CD1 A to D"), key);
  EXPECT_THROW(GraphKeyFromPrompt("AB3 A D"), InputError);
  EXPECT_THROW(ParseGraphKey("AB;A-D"), InputError);
}

TEST(Graph, AnUnreachableTargetHasNoRightAnswerAndAOneNodePathIsOne) {
  // Drawn graphs are connected, but a record's prompt may not be: D cannot be reached.
  const std::string apart = GraphKeyFromPrompt("AB3 CD1 A to D");
  for (const char* a : {"2147483647", "-1", "0", "4"}) {
    EXPECT_FALSE(GraphTask::JudgeAnswer(a, apart, LENGTH).correct) << a;
    EXPECT_EQ(GraphTask::JudgeAnswer(a, apart, LENGTH).error, "D is not reachable from A") << a;
  }
  EXPECT_EQ(GraphTask::JudgeAnswer("ABCD", apart, PATH).error, "D is not reachable from A");
  EXPECT_FALSE(VerifyGraph("<think>x</think><answer>2147483647</answer>", apart, LENGTH).correct);
  // From a node to itself: the path is that node, of length 0.
  const std::string self = "AB3,BC2;B-B";
  EXPECT_TRUE(GraphTask::JudgeAnswer("B", self, PATH).correct) << GraphTask::JudgeAnswer("B", self, PATH).error;
  EXPECT_TRUE(GraphTask::JudgeAnswer("0", self, LENGTH).correct);
  EXPECT_EQ(GraphTask::JudgeAnswer("BCB", self, PATH).error, "length 4 is not the shortest 0");
  EXPECT_FALSE(GraphTask::JudgeAnswer("A", self, PATH).correct);
  EXPECT_FALSE(GraphTask::JudgeAnswer("-", self, PATH).correct);
  EXPECT_FALSE(GraphTask::JudgeAnswer("A", "AB3;A-B", PATH).correct) << "one node is a path only to itself";
}

TEST(Graph, TeachersAreRightWhenCleanAndHonestWhenNoisy) {
  for (const char* check : {"PATH", "LENGTH"}) {
    GraphTask t(Parse(std::string("graph { check: ") + check + " } num_test: 50"));
    TeacherConfig noisy;
    noisy.set_step_error_rate(0.5);
    noisy.set_reflection_rate(0.2);
    Rng rng(3);
    int wrong = 0;
    for (int i = 0; i < 200; ++i) {
      const Problem p = t.SampleTrain(rng);
      const Trace clean = t.Teach(p, Clean(), rng);
      EXPECT_TRUE(t.Verify(clean.completion, p).correct) << clean.completion;
      const Trace tr = t.Teach(p, noisy, rng);
      EXPECT_EQ(tr.answer_correct, t.Verify(tr.completion, p).correct) << tr.completion;
      wrong += !tr.answer_correct;
    }
    EXPECT_GT(wrong, 10) << check;
  }
}

TEST(Tasks, TooSmallAProblemSpaceIsAConfigError) {
  EXPECT_THROW(GraphTask(Parse("graph { min_nodes: 2 max_nodes: 2 max_weight: 1 } num_test: 50")), ConfigError);
  EXPECT_THROW(CountdownTask(Parse("countdown { min_numbers: 2 max_numbers: 2 max_number: 2 } num_test: 50")),
               ConfigError);
}

// ---------------------------------------------------------------- languages

TEST(Language, ConsistencyIsTheShareOfWordsInThePromptLanguage) {
  EXPECT_DOUBLE_EQ(LanguageConsistency("<think>3 plus 4 is 7</think><answer>7</answer>", "en"), 1.0);
  EXPECT_DOUBLE_EQ(LanguageConsistency("<think>3 mas 4 is 7</think><answer>7</answer>", "es"), 0.5);
  EXPECT_DOUBLE_EQ(LanguageConsistency("<think>3 mas 4 es 7\nwait 3 mas 4 es 7</think><answer>7</answer>", "en"),
                   0.2);
  EXPECT_DOUBLE_EQ(LanguageConsistency("<think>3+4=7</think><answer>7</answer>", "es"), 1.0) << "no words";
  EXPECT_DOUBLE_EQ(LanguageConsistency("<think>wait</think><answer>espera</answer>", "en"), 1.0)
      << "only the chain of thought counts";
  EXPECT_THROW(LanguageConsistency("x", "fr"), InputError);
}

TEST(Language, WordedArithRendersBothLanguagesAndMixesAtTheConfiguredRate) {
  ArithTask t(Parse("arith { min_ops: 2 max_ops: 2 worded: true spanish_rate: 0.5 } num_test: 100"));
  int es = 0;
  for (const Problem& p : t.TestSet()) {
    es += p.language == "es";
    EXPECT_EQ(p.prompt.find('+'), std::string::npos) << p.prompt;
    if (p.language == "es") {
      EXPECT_TRUE(p.prompt.find("mas") != std::string::npos || p.prompt.find("menos") != std::string::npos);
    }
  }
  EXPECT_GT(es, 25);
  EXPECT_LT(es, 75);
  TeacherConfig mixed = Clean();
  mixed.set_language_mix_rate(0.25);
  Rng rng(4);
  double sum_clean = 0, sum_mixed = 0;
  for (int i = 0; i < 400; ++i) {
    const Problem p = t.SampleTrain(rng);
    const Trace a = t.Teach(p, Clean(), rng);
    const Trace b = t.Teach(p, mixed, rng);
    EXPECT_TRUE(t.Verify(a.completion, p).correct) << a.completion;
    EXPECT_TRUE(t.Verify(b.completion, p).correct) << b.completion;
    sum_clean += LanguageConsistency(a.completion, p.language);
    sum_mixed += LanguageConsistency(b.completion, p.language);
  }
  EXPECT_DOUBLE_EQ(sum_clean / 400, 1.0);
  EXPECT_NEAR(sum_mixed / 400, 0.75, 0.03);
}

// The chain of thought's lines: from "<think>" to "</think>", "<answer>"
// or the end, blank lines dropped.
TEST(ThinkLines, AreTheChainOfThoughtsNonBlankLines) {
  using V = std::vector<std::string>;
  EXPECT_EQ(ThinkLines("<think>3+4=7\n\n  \nwait 7 is not 9\n</think><answer>7</answer>"),
            (V{"3+4=7", "wait 7 is not 9"}));
  EXPECT_EQ(ThinkLines("<think>a\nb<answer>7</answer>"), (V{"a", "b"})) << "no </think>";
  EXPECT_EQ(ThinkLines("<think>a\nb"), (V{"a", "b"})) << "cut off";
  EXPECT_EQ(ThinkLines("3+4=7\n<answer>7</answer>"), V{}) << "no <think>";
  EXPECT_EQ(ThinkLines("<think></think><answer>7</answer>"), V{});
}

// R1's readable format: a summary line closes the chain of thought, in the
// prompt's language, stating the trace's own answer; HasSummaryLine finds it
// only as the last line and only with the answer the completion gives.
TEST(Language, SummaryLineClosesTheReadableTraceInThePromptsLanguage) {
  EXPECT_TRUE(HasSummaryLine("<think>3 plus 4 is 7\nso the answer is 7\n</think><answer>7</answer>"));
  EXPECT_TRUE(HasSummaryLine("<think>3 mas 4 es 7\nasi que la respuesta es 7</think><answer>7</answer>"));
  EXPECT_TRUE(HasSummaryLine("<think>so the answer is -2\n</think><answer>-2</answer>"));
  EXPECT_FALSE(HasSummaryLine("<think>so the answer is 7\n</think><answer>8</answer>")) << "another answer";
  EXPECT_FALSE(HasSummaryLine("<think>so the answer is 7\n3 plus 4 is 7\n</think><answer>7</answer>")) << "not last";
  EXPECT_FALSE(HasSummaryLine("<think>3 plus 4 is 7\n</think><answer>7</answer>"));
  EXPECT_FALSE(HasSummaryLine("so the answer is 7 <answer>7</answer>")) << "no chain of thought";
  EXPECT_DOUBLE_EQ(LanguageConsistency("<think>3 mas 4 es 7\nso the answer is 7</think><answer>7</answer>", "es"),
                   2.0 / 6) << "an English summary of a Spanish chain";

  ArithTask t(Parse("arith { min_ops: 2 max_ops: 3 worded: true spanish_rate: 0.5 } num_test: 50"));
  TeacherConfig readable = Clean();
  readable.set_summary(true);
  for (int i = 0; i < 50; ++i) {
    Rng r1(100 + i), r2(100 + i);
    const Problem p = t.SampleTrain(r1);
    t.SampleTrain(r2);
    const Trace plain = TeachTrace(t, p, Clean(), r1);
    const Trace summed = TeachTrace(t, p, readable, r2);
    ASSERT_EQ(summed.steps.size(), plain.steps.size() + 1);
    const std::string line = (p.language == "es" ? "asi que la respuesta es " : "so the answer is ") + p.gold;
    EXPECT_EQ(summed.steps.back().text, line);
    EXPECT_TRUE(summed.steps.back().correct);
    EXPECT_EQ(summed.completion, plain.completion.substr(0, plain.completion.find("</think>")) + line + "\n" +
                                     plain.completion.substr(plain.completion.find("</think>")));
    EXPECT_TRUE(HasSummaryLine(summed.completion)) << summed.completion;
    EXPECT_FALSE(HasSummaryLine(plain.completion));
    EXPECT_DOUBLE_EQ(LanguageConsistency(summed.completion, p.language), 1.0) << summed.completion;
    EXPECT_TRUE(t.Verify(summed.completion, p).correct);
  }
}

TEST(Language, RewardChainAddsTheLanguageTermOnlyWhenWeighted) {
  RewardConfig rc;
  Verdict right;
  right.correct = right.format_ok = true;
  const Scored s{"<think>3 mas 4 is 7</think><answer>7</answer>", 10, false, "en"};
  const RewardBreakdown off = RewardChain(rc, 64).Score(s, right);
  EXPECT_EQ(off.terms.size(), 2u);
  EXPECT_DOUBLE_EQ(off.total, 1.1);
  rc.set_language_weight(0.2);
  const RewardChain chain(rc, 64);
  ASSERT_EQ(chain.term_names()[2], "language");
  const RewardBreakdown on = chain.Score(s, right);
  EXPECT_DOUBLE_EQ(on.terms[2], 0.5);
  EXPECT_DOUBLE_EQ(on.total, 1.1 + 0.2 * 0.5);
}

// The readability term: the share of thinking lines in the teacher's form,
// by hand (2 of 3 for countdown), 0 without lines; refused, at load and at
// construction, for a task without a line grammar.
TEST(Readability, RewardChainAddsTheFormTermOnlyWhenWeightedAndTheTaskHasAGrammar) {
  const std::unique_ptr<Task> countdown = MakeTask(Parse("countdown {} num_test: 50"));
  const LineFormJudge judge = LineFormJudgeOf(*countdown);
  RewardConfig rc;
  Verdict right;
  right.correct = right.format_ok = true;
  const Scored s{"<think>25-3=22\nwait 1 it it 1 is not 22\nwait 22 is not 72\n</think><answer>7</answer>", 10, false,
                 "en"};
  EXPECT_EQ(RewardChain(rc, 64, judge).Score(s, right).terms.size(), 2u) << "off by default";
  rc.set_form_weight(0.3);
  const RewardChain chain(rc, 64, judge);
  ASSERT_EQ(chain.term_names()[2], "form");
  const RewardBreakdown on = chain.Score(s, right);
  EXPECT_DOUBLE_EQ(on.terms[2], 2.0 / 3);
  EXPECT_DOUBLE_EQ(on.total, 1.1 + 0.3 * 2 / 3);
  EXPECT_DOUBLE_EQ(chain.Score({"<answer>7</answer>", 3, false, "en"}, right).terms[2], 0) << "no thinking, no form";
  EXPECT_THROW(RewardChain(rc, 64), ConfigError) << "no judge";
  // Every term, all on, has its metrics field (the rollout metrics write reward_<term>).
  rc.set_language_weight(1);
  rc.set_overlong_buffer(8);
  const RewardChain all(rc, 64, judge);
  EXPECT_EQ(all.term_names().size(), 5u);
  for (const std::string& name : all.term_names())
    EXPECT_NE(MetricsLine::descriptor()->FindFieldByName("reward_" + name), nullptr) << name;
  const std::unique_ptr<Task> note = MakeTask(Parse("note {} num_test: 50"));
  try {
    RewardChain(rc, 64, LineFormJudgeOf(*note));
    FAIL() << "the note task has no line grammar";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("reward.form_weight"), std::string::npos) << e.what();
  }
  try {
    testing::ParseResolved<ExperimentConfig>(
        "name: \"x\" seeds: 1 task { note {} } arms { name: \"g\" grpo { reward { form_weight: 0.1 } } }");
    FAIL() << "note has no line grammar";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("arms[0].grpo.reward.form_weight"), std::string::npos) << e.what();
  }
  EXPECT_NO_THROW(testing::ParseResolved<ExperimentConfig>(
      "name: \"x\" seeds: 1 task { graph {} } arms { name: \"g\" ppo { reward { form_weight: 0.1 } } }"));
}

}  // namespace
}  // namespace r1lab

namespace r1lab {
namespace {

// ---------------------------------------------------------------- code

TEST(Code, InterpreterRunsTheLanguage) {
  EXPECT_EQ(RunProgram("return x*2+1", 5).value, 11);
  EXPECT_EQ(RunProgram("s=0;while x gt 0{s=s+x%10;x=x/10};return s", 1234).value, 10);
  EXPECT_EQ(RunProgram("if x le 3{return 1}else{return 2}", 3).value, 1);
  EXPECT_EQ(RunProgram("if x ne 3{return 1};return 2", 3).value, 2);
  EXPECT_EQ(RunProgram("return -7/2", 0).value, -4) << "floor division";
  EXPECT_EQ(RunProgram("return -7%2", 0).value, 1);
  EXPECT_EQ(RunProgram("return (x+1)*(x-1)", 4).value, 15);
}

TEST(Code, InterpreterLimitsTurnRunawayProgramsIntoFailures) {
  EXPECT_EQ(RunProgram("while 1 eq 1{x=x+1};return x", 0).error, "step limit");
  EXPECT_EQ(RunProgram("p=2;while 1 eq 1{p=p*p};return p", 0).error, "value limit");
  EXPECT_EQ(RunProgram("return 99999999999999999999", 0).error, "value limit");
  EXPECT_EQ(RunProgram("return x/0", 1).error, "division by zero");
  EXPECT_EQ(RunProgram("y=1", 1).error, "no return");
  EXPECT_EQ(RunProgram("return " + std::string(150, '(') + "1" + std::string(150, ')'), 1).error,
            "program nested too deeply");
  EXPECT_EQ(RunProgram(std::string(500, ' ') + "return 1", 1).error, "program longer than 400 characters");
  EXPECT_FALSE(RunProgram("return x >= 1", 1).ok);
  EXPECT_FALSE(RunProgram("", 1).ok);
  CodeLimits tight;
  tight.max_steps = 50;
  EXPECT_EQ(RunProgram("s=0;while x gt 0{s=s+x;x=x-1};return s", 100, tight).error, "step limit");
  EXPECT_TRUE(RunProgram("s=0;while x gt 0{s=s+x;x=x-1};return s", 100).ok);
}

TEST(Code, NestingStopsAtTheDocumentedDepth) {
  const int depth = CodeLimits().max_depth;
  ASSERT_EQ(depth, 16) << "code.h documents 16";
  auto parens = [](int n) { return "return " + std::string(n, '(') + "x" + std::string(n, ')'); };
  auto blocks = [](int n) {
    std::string p;
    for (int i = 0; i < n; ++i) p += "if x eq x{";
    return p + "return x" + std::string(n, '}');
  };
  EXPECT_EQ(RunProgram(parens(depth), 3).value, 3);
  EXPECT_EQ(RunProgram(parens(depth + 1), 3).error, "program nested too deeply");
  EXPECT_EQ(RunProgram(blocks(depth), 3).value, 3);
  EXPECT_EQ(RunProgram(blocks(depth + 1), 3).error, "program nested too deeply");
  EXPECT_EQ(RunProgram("while x gt 0{" + blocks(depth) + "}", 3).error, "program nested too deeply");
}

TEST(Code, NoTestsIsNeverAPass) {
  const std::string text = "<think>x</think><answer>this is not a program</answer>";
  EXPECT_FALSE(VerifyProgram(text, {}).correct);
  EXPECT_FALSE(VerifyProgram("<think>x</think><answer>return 1</answer>", {}).correct);
  try {
    VerifyRecord("code", JsonValue::Parse(R"({"tests": []})"), text, 0);
    ADD_FAILURE() << "a record without tests was judged";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("\"tests\""), std::string::npos) << e.what();
  }
  EXPECT_TRUE(VerifyRecord("code", JsonValue::Parse(R"({"tests": [[2, 5]]})"),
                           "<think>x</think><answer>return x*2+1</answer>", 0)
                  .correct);
}

TEST(Code, VerifierRunsVisibleAndHiddenTests) {
  CodeTask t(Parse("code {} num_test: 30"));
  ExpectDisjointSplit(t);
  Rng rng(6);
  int wrong = 0;
  TeacherConfig noisy;
  noisy.set_step_error_rate(0.5);
  noisy.set_reflection_rate(0.3);
  for (int i = 0; i < 100; ++i) {
    const Problem p = t.SampleTrain(rng);
    const Trace clean = t.Teach(p, Clean(), rng);
    EXPECT_TRUE(t.Verify(clean.completion, p).correct) << clean.completion << " " << t.Verify(clean.completion, p).error;
    const Trace tr = t.Teach(p, noisy, rng);
    EXPECT_EQ(tr.answer_correct, t.Verify(tr.completion, p).correct) << tr.completion;
    wrong += !tr.answer_correct;
    EXPECT_EQ(CodeTask::Tests(p.key, false).size(), 3u);
    EXPECT_EQ(CodeTask::Tests(p.key, true).size(), 5u);
  }
  EXPECT_GT(wrong, 10);
  // Passing only the visible examples is not enough: a lookup table fails the hidden tests.
  const Problem p = t.TestSet()[0];
  std::string table;
  for (const CodeTest& c : CodeTask::Tests(p.key, false))
    table += "if x eq " + std::to_string(c.input) + "{return " + std::to_string(c.output) + "};";
  table += "return 0";
  const Verdict v = t.Verify("<think>x</think><answer>" + table + "</answer>", p);
  EXPECT_FALSE(v.correct);
  EXPECT_NE(v.error.find("expected"), std::string::npos) << v.error;
}

}  // namespace
}  // namespace r1lab

namespace r1lab {
namespace {

TEST(Dataset, BadLinesAreReportedByLineNumber) {
  const std::string dir = testing::TempDir("dataset");
  auto load = [&](const std::string& body, const std::string& extra = "") {
    WriteFileAtomic(dir + "/d.jsonl", body);
    return DatasetTask(Parse("dataset { path: \"" + dir + "/d.jsonl\" " + extra + " } num_test: 1 num_validation: 1"));
  };
  const std::string good = "{\"question\": \"1+1?\", \"answer\": \"2\"}\n{\"question\": \"2+2 \\u003c 5?\", \"answer\": \"yes\"}\n";
  const DatasetTask ok = load(good + "\n{\"question\": \"3+3?\", \"answer\": \"6\"}\n");
  EXPECT_EQ(ok.TestSet().size(), 1u);
  EXPECT_EQ(ok.ValidationSet().size(), 1u);
  EXPECT_EQ(ok.num_train(), 1u) << "test, validation and training split the three questions";
  EXPECT_NE(ok.TestSet()[0].key, ok.ValidationSet()[0].key);
  for (const auto& [body, what] : std::vector<std::pair<std::string, std::string>>{
           {good + "{\"question\": \"x\"}\n", "d.jsonl:3: "},
           {good + "not json\n", "d.jsonl:3: JSON"},
           {good + "[1, 2]\n", "d.jsonl:3: expected a JSON object"}}) {
    try {
      load(body);
      ADD_FAILURE() << "accepted " << body;
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find(what), std::string::npos) << e.what();
    }
  }
  EXPECT_THROW(load(good + "{\"question\": \"q\", \"answer\": \"no hashes\"}\n", "answer_format: HASH"), InputError);
  EXPECT_THROW(load(good, "question_field: \"problem\""), InputError);
  EXPECT_THROW(DatasetTask(Parse("dataset { path: \"/nonexistent/d.jsonl\" } num_test: 1")), ConfigError);
  try {
    DatasetTask(Parse("dataset { path: \"" + dir + "\" } num_test: 1"));
    ADD_FAILURE() << "a folder was read as a dataset";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("task.dataset.path: " + dir + ": is a folder"), std::string::npos) << e.what();
  }
  // Levels: whole numbers, or text ending in one (MATH's "Level 3"); anything else names the line and field.
  const std::string leveled = "{\"question\": \"a?\", \"answer\": \"1\", \"lvl\": 2}\n"
                              "{\"question\": \"b?\", \"answer\": \"2\", \"lvl\": \"Level 3\"}\n"
                              "{\"question\": \"c?\", \"answer\": \"3\", \"lvl\": 3}\n"
                              "{\"question\": \"e?\", \"answer\": \"5\", \"lvl\": 5}\n";
  const DatasetTask by_level = load(leveled, "level_field: \"lvl\" min_level: 3");
  EXPECT_EQ(by_level.TestSet().size() + by_level.ValidationSet().size() + by_level.num_train(), 3u)
      << "\"Level 3\" is level 3; level 2 is below min_level";
  for (const std::string bad : {"\"hard\"", "2.5", "-1", "true"}) {
    try {
      load(leveled + "{\"question\": \"d?\", \"answer\": \"4\", \"lvl\": " + bad + "}\n", "level_field: \"lvl\"");
      ADD_FAILURE() << "accepted level " << bad;
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find("d.jsonl:5: field 'lvl': "), std::string::npos) << e.what();
    }
  }
  EXPECT_THROW(load("{\"question\": \"q\", \"answer\": \"1\"}\n"), ConfigError) << "no training data left";
}

TEST(Dataset, FreeTextExtractionIsAnOption) {
  const std::string dir = testing::TempDir("dataset_free");
  WriteFileAtomic(dir + "/d.jsonl", "{\"question\": \"1+1?\", \"answer\": \"2\"}\n{\"question\": \"2+2?\", \"answer\": \"4\"}\n");
  const std::string path = "dataset { path: \"" + dir + "/d.jsonl\" ";
  const DatasetTask tagged(Parse(path + "} num_test: 1 num_validation: 0"));
  const DatasetTask free(Parse(path + "extraction: EXTRACT_FREE_TEXT } num_test: 1 num_validation: 0"));
  const Problem& p = tagged.TestSet()[0];
  const std::string said = "Adding them, the answer is " + p.gold + ".";
  EXPECT_FALSE(tagged.Verify(said, p).correct);
  EXPECT_TRUE(free.Verify(said, p).correct);
  EXPECT_TRUE(free.Verify("<think>x</think><answer>" + p.gold + "</answer>", p).correct);
}

TEST(Dataset, SanitizeKeepsTheTokenizerAlphabet) {
  EXPECT_EQ(SanitizeText("48/2 = <<48/2=24>>24 clips"), "48/2 = 24 clips");
  EXPECT_EQ(SanitizeText("$x < 3$"), "$x \\lt  3$");
  EXPECT_EQ(SanitizeText("caf\xc3\xa9"), "caf");
  EXPECT_EQ(DropAnnotations("48/2 = <<48/2=24>>24 clips, $x < 3$ caf\xc3\xa9"), "48/2 = 24 clips, $x < 3$ caf\xc3\xa9");
}

// verbatim: the problems, golds and worked solutions as written (for a
// model with its own tokenizer), only the calculator annotations dropped.
TEST(Dataset, VerbatimKeepsTheTextAsWritten) {
  const std::string dir = testing::TempDir("dataset_verbatim");
  std::string lines;
  for (int i = 0; i < 5; ++i)
    lines += "{\"question\": \"Is x < " + std::to_string(i) + " in \u00b0C?\", \"answer\": \"5 \u00d7 2 = <<5*2=10>>10\\n#### " +
             std::to_string(10 + i) + "\"}\n";
  WriteFileAtomic(dir + "/d.jsonl", lines);
  const std::string path = "dataset { path: \"" + dir + "/d.jsonl\" answer_format: HASH ";
  const DatasetTask kept(Parse(path + "verbatim: true } num_test: 4 num_validation: 0"));
  const DatasetTask rewritten(Parse(path + "} num_test: 4 num_validation: 0"));
  for (const Problem& p : kept.TestSet()) {
    EXPECT_NE(p.prompt.find("x < "), std::string::npos) << p.prompt;
    EXPECT_NE(p.prompt.find("\xc2\xb0" "C"), std::string::npos) << p.prompt;
  }
  for (const Problem& p : rewritten.TestSet()) EXPECT_EQ(p.prompt.find("\xc2\xb0"), std::string::npos) << p.prompt;
  Rng rng(1);
  TeacherConfig perfect;
  perfect.set_step_error_rate(0);
  const Trace t = kept.Teach(kept.TestSet()[0], perfect, rng);
  EXPECT_NE(t.completion.find("5 \xc3\x97 2 = 10"), std::string::npos) << t.completion;
}

}  // namespace
}  // namespace r1lab

namespace r1lab {
namespace {

// ---------------------------------------------------------------- messages and records

TEST(Tasks, WhyTextsNeverCutACharacterInHalf) {
  const std::string e = "\xC3\xA9";  // U+00E9, two bytes
  std::vector<std::string> why;
  for (const std::string& expr : {"3x" + e + e + e + e + e, e + "+3", "3)" + e + e + e + e + e})
    why.push_back(CheckCountdown(expr, {3}, 3).why);
  for (const std::string& program : {"return 1 x" + e + e + e + e + e + e, "1" + e + e + e + e + e + e,
                                     "return +" + e + e + e + e + e + e})
    why.push_back(RunProgram(program, 1).error);
  why.push_back(GraphTask::JudgeAnswer("A" + e + "B", "AB3;A-B", PATH).error);
  for (const std::string& w : why) {
    EXPECT_FALSE(w.empty());
    EXPECT_EQ(ValidUtf8(w), w) << w;
  }
  EXPECT_EQ(why[0], "unexpected 'x" + e + e + e + "'");
  EXPECT_EQ(why[6], "unexpected '" + e + "' in a path");
}

TEST(Tasks, ARecordFieldOfTheWrongTypeIsNamed) {
  const std::string completion = "<think>x</think><answer>7</answer>";
  const std::vector<std::tuple<std::string, std::string, std::string>> bad = {
      {"math", R"({"gold": [7]})", "gold"},
      {"arith", R"({"gold": true})", "gold"},
      {"countdown", R"({"numbers": "3 4", "target": 7})", "numbers"},
      {"countdown", R"({"numbers": [3, "4"], "target": 7})", "numbers"},
      {"countdown", R"({"numbers": [3, 4.5], "target": 7})", "numbers"},
      {"countdown", R"({"numbers": [3, 4], "target": "7"})", "target"},
      {"countdown", R"({"numbers": [3, 4], "target": 1e300})", "target"},
      {"countdown", R"({"numbers": [3, 4], "target": 7, "use_all_numbers": 1})", "use_all_numbers"},
      {"graph", R"({"prompt": ["AB3 A to B"]})", "prompt"},
      {"graph", R"({"prompt": "AB3 A to B", "check": 1})", "check"},
      {"graph", R"({"prompt": "AB3 A to B", "check": "shortest"})", "check"},
      {"code", R"({"tests": {"2": 5}})", "tests"},
      {"code", R"({"tests": [[2, "5"]]})", "tests"},
      {"code", R"({"tests": [[2, 5, 6]]})", "tests"},
      {"code", R"({"tests": [2, 5]})", "tests"}};
  for (const auto& [task, record, field] : bad) {
    try {
      VerifyRecord(task, JsonValue::Parse(record), completion, 0);
      ADD_FAILURE() << task << " accepted " << record;
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find("\"" + field + "\""), std::string::npos) << record << ": " << e.what();
    }
  }
  EXPECT_TRUE(VerifyRecord("countdown", JsonValue::Parse(R"({"numbers": [3, 4], "target": 7})"),
                           "<think>x</think><answer>3+4</answer>", 0)
                  .correct);
  EXPECT_TRUE(VerifyRecord("countdown", JsonValue::Parse(R"({"numbers": [3, 4, 5], "target": 7})"),
                           "<think>x</think><answer>3+4</answer>", 0)
                  .correct);
  const Verdict all = VerifyRecord("countdown",
                                   JsonValue::Parse(R"({"numbers": [3, 4, 5], "target": 7, "use_all_numbers": true})"),
                                   "<think>x</think><answer>3+4</answer>", 0);
  EXPECT_FALSE(all.correct);
  EXPECT_EQ(all.error, "5 is not used");
  EXPECT_TRUE(VerifyRecord("graph", JsonValue::Parse(R"({"prompt": "AB3 A to B", "check": "length"})"),
                           "<think>x</think><answer>3</answer>", 0)
                  .correct);
}

}  // namespace
}  // namespace r1lab

// Program synthesis from input/output examples, in a tiny statement language
// (the report's "compilers run test cases", at testbed scale).
//
// Language (one integer input x, variables a-z, 64-bit integers):
//   program := stmt (';' stmt)*
//   stmt    := var '=' expr | 'return' expr
//            | 'if' cond '{' program '}' ['else' '{' program '}']
//            | 'while' cond '{' program '}'
//   cond    := expr ('lt'|'le'|'gt'|'ge'|'eq'|'ne') expr
//   expr    := + - * / % over integers, variables and parentheses
//              ('/' and '%' floor, as in Python; dividing by 0 is an error)
// Comparisons are words because '<' and '>' are reserved by the tokenizer.
//
// The interpreter enforces limits: steps (an infinite loop is a failed test,
// never a hang), value size (a huge number is a failed test, never overflow),
// program size and nesting ('{ }' blocks and '( )' groups, together).
// Memory is bounded by construction (26 integer variables, no allocation),
// and the only output is the returned integer, bounded by the value limit.
// A program that ends without `return` fails.
//
// Problems: a hidden function of x from a family per level (1: linear,
// 2: piecewise, 3: loops); the prompt shows visible examples
// "f(2)=5 f(3)=7 f(5)=11"; the verifier runs the answer on those and on
// hidden inputs, and is right only if every test passes.
//
// Teacher: "try <program>" then one check line per visible example
// ("f(2) gives 5 ok"); with step_error_rate the first try has a wrong
// constant and a failing check; it is fixed ("wait try ...") with
// reflection_rate, or else answered as is.
#pragma once

#include <string>
#include <vector>

#include "task.h"

namespace r1lab {

struct CodeLimits {
  long long max_steps = 10000;
  long long max_value = 1000000000000LL;  // |value| above this fails
  int max_chars = 400;
  int max_depth = 16;  // blocks and parentheses nested deeper fail ("program nested too deeply")
};

struct RunResult {
  bool ok = false;
  long long value = 0;
  std::string error;  // "step limit", "value limit", "division by zero", "no return", parse errors
  long long steps = 0;
};

RunResult RunProgram(const std::string& program, long long x, const CodeLimits& limits = {});

struct CodeTest {
  long long input = 0, output = 0;
};

// Runs `program` on every test; `why` names the first failure. No tests is a
// failure ("no tests"): it would pass any text.
bool PassesTests(const std::string& program, const std::vector<CodeTest>& tests, std::string* why,
                 const CodeLimits& limits = {});

// A completion's tagged answer run on every test.
Verdict VerifyProgram(const std::string& completion, const std::vector<CodeTest>& tests,
                      const CodeLimits& limits = {});

class CodeTask : public DrawnTask {
 public:
  explicit CodeTask(const TaskConfig& cfg);
  std::string name() const override { return "code"; }
  Trace Teach(const Problem& p, const TeacherConfig& teacher, Rng& rng) const override;
  Verdict Verify(const std::string& completion, const Problem& p) const override;

  // Visible and hidden tests of a problem, from its key.
  static std::vector<CodeTest> Tests(const std::string& key, bool hidden);

 protected:
  Problem Draw(Rng& rng) const override;

 private:
  CodeConfig cfg_;
};

}  // namespace r1lab

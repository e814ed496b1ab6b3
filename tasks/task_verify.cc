#include "task_verify.h"

#include <cmath>
#include <vector>

#include "code.h"
#include "countdown.h"
#include "error.h"
#include "graph.h"

namespace r1lab {

namespace {

long long integer(const JsonValue& v, const std::string& field) {
  const double x = v.number();
  if (x != std::floor(x) || std::fabs(x) > 1e15) throw InputError("\"" + field + "\": expected integers");
  return static_cast<long long>(x);
}

}  // namespace

void CheckVerifyTask(const std::string& task) {
  if (task != "math" && task != "arith" && task != "countdown" && task != "graph" && task != "code")
    throw ConfigError("--task: '" + task + "' is not a task; expected math, arith, countdown, graph or code");
}

Verdict VerifyRecord(const std::string& task, const JsonValue& r, const std::string& completion, double rel_tol) {
  if (task == "math") return VerifyMathAnswer(completion, r.at("gold").string(), rel_tol);
  if (task == "arith") return VerifyIntegerAnswer(completion, r.at("gold").string());
  if (task == "countdown") {
    std::vector<long long> numbers;
    for (const JsonValue& v : r.at("numbers").array()) numbers.push_back(integer(v, "numbers"));
    return VerifyCountdown(completion, numbers, integer(r.at("target"), "target"));
  }
  if (task == "code") {
    std::vector<CodeTest> tests;
    for (const JsonValue& t : r.at("tests").array()) {
      if (t.kind() != JsonValue::kArray || t.array().size() != 2)
        throw InputError("\"tests\": expected [[input, output], ...]");
      tests.push_back({integer(t.array()[0], "tests"), integer(t.array()[1], "tests")});
    }
    return VerifyProgram(completion, tests);
  }
  // graph
  GraphCheck check = PATH;
  if (const JsonValue* c = r.find("check")) {
    if (c->string() == "length") check = LENGTH;
    else if (c->string() != "path") throw InputError("\"check\": expected \"path\" or \"length\"");
  }
  return VerifyGraph(completion, GraphKeyFromPrompt(r.at("prompt").string()), check);
}

}  // namespace r1lab

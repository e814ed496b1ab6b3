#include "task_verify.h"

#include <cmath>
#include <vector>

#include "code.h"
#include "countdown.h"
#include "error.h"
#include "graph.h"
#include "text.h"

namespace r1lab {

namespace {

// The record's member `field` (InputError naming it if absent or not of `kind`).
const JsonValue& Field(const JsonValue& r, const std::string& field, JsonValue::Kind kind, const std::string& what) {
  const JsonValue& v = r.at(field);
  if (v.kind() != kind) throw InputError("\"" + field + "\": expected " + what);
  return v;
}

// An integer JSON number, exactly; else InputError naming `field`. A JSON
// number is read as a double, which is not exact beyond 2^53.
long long Integer(const JsonValue& v, const std::string& field, const std::string& what) {
  if (v.kind() != JsonValue::kNumber || v.number() != std::floor(v.number()))
    throw InputError("\"" + field + "\": expected " + what);
  const double x = v.number();
  if (std::fabs(x) >= 9007199254740992.0)
    throw InputError("\"" + field + "\": expected " + what +
                     " below 2^53 in magnitude (a JSON number beyond is not exact)");
  return static_cast<long long>(x);
}

// The gold of an integer task: a JSON integer, or a string for any 64-bit value.
std::string IntegerGold(const JsonValue& r) {
  const JsonValue& g = r.at("gold");
  if (g.kind() != JsonValue::kString) return std::to_string(Integer(g, "gold", "an integer (or a string)"));
  long long v = 0;
  if (!ParseInteger(g.string(), &v))
    throw InputError("\"gold\": expected a 64-bit integer, got \"" + Utf8Cut(g.string(), 0, 40) + "\"");
  return g.string();
}

}  // namespace

void CheckVerifyTask(const std::string& task) {
  if (task != "math" && task != "arith" && task != "countdown" && task != "graph" && task != "code")
    throw ConfigError("--task: '" + task + "' is not a task; expected math, arith, countdown, graph or code");
}

Verdict VerifyRecord(const std::string& task, const JsonValue& r, const std::string& completion, double rel_tol,
                     MathExtraction extraction) {
  if (task == "math")
    return VerifyMathAnswer(completion, Field(r, "gold", JsonValue::kString, "a string").string(), rel_tol, extraction);
  if (task == "arith") return VerifyIntegerAnswer(completion, IntegerGold(r));
  if (task == "countdown") {
    std::vector<long long> numbers;
    for (const JsonValue& v : Field(r, "numbers", JsonValue::kArray, "an array of integers").array())
      numbers.push_back(Integer(v, "numbers", "an array of integers"));
    bool use_all = false;
    if (r.find("use_all_numbers")) use_all = Field(r, "use_all_numbers", JsonValue::kBool, "true or false").boolean();
    return VerifyCountdown(completion, numbers, Integer(r.at("target"), "target", "an integer"), use_all);
  }
  if (task == "code") {
    const char* pairs = "[[input, output], ...] with integers";
    std::vector<CodeTest> tests;
    for (const JsonValue& t : Field(r, "tests", JsonValue::kArray, pairs).array()) {
      if (t.kind() != JsonValue::kArray || t.array().size() != 2)
        throw InputError(std::string("\"tests\": expected ") + pairs);
      tests.push_back({Integer(t.array()[0], "tests", pairs), Integer(t.array()[1], "tests", pairs)});
    }
    // Without tests any text would pass.
    if (tests.empty()) throw InputError("\"tests\": expected at least one [input, output] pair");
    return VerifyProgram(completion, tests);
  }
  // graph
  GraphCheck check = PATH;
  if (const JsonValue* c = r.find("check")) {
    if (c->kind() != JsonValue::kString || (c->string() != "path" && c->string() != "length"))
      throw InputError("\"check\": expected \"path\" or \"length\"");
    if (c->string() == "length") check = LENGTH;
  }
  const std::string& prompt = Field(r, "prompt", JsonValue::kString, "a string").string();
  return VerifyGraph(completion, GraphKeyFromPrompt(prompt), check);
}

}  // namespace r1lab

// Fuzz target for the verifier layer: answer extraction, math equivalence,
// countdown and graph checking, the code interpreter, language
// consistency and the note rubric. Built two ways:
//  - with libFuzzer (clang -fsanitize=fuzzer,address): scripts/fuzz.sh;
//  - into the test suite, where a seeded mutation driver calls it
//    (tests/fuzz_test.cc), so every test run fuzzes a little.
// The input's first line is the gold / numbers / prompt; the rest the answer.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "answer.h"
#include "code.h"
#include "countdown.h"
#include "error.h"
#include "graph.h"
#include "language.h"
#include "math_equiv.h"
#include "note.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace r1lab;
  const std::string in(reinterpret_cast<const char*>(data), size);
  const size_t nl = in.find('\n');
  const std::string head = in.substr(0, nl), tail = nl == std::string::npos ? "" : in.substr(nl + 1);
  ExtractBoxed(in);
  ExtractMathAnswer(in);
  ExtractHashAnswer(in);
  FormatOk(in);
  CompareMath(head, tail);
  CompareMath(tail, head);
  std::vector<long long> nums;
  for (unsigned char c : head.substr(0, 6)) nums.push_back(c % 50);
  CheckCountdown(tail, nums, size % 100, /*use_all=*/size % 2 == 1);
  RunProgram(tail, static_cast<long long>(size));
  try {
    const std::string key = GraphKeyFromPrompt(head);
    GraphTask::JudgeAnswer(tail, key, size % 2 ? PATH : LENGTH);
  } catch (const InputError&) {
  }
  LanguageConsistency(in, size % 2 ? "en" : "es");
  JudgeNote(tail, size % 2 ? "en ana cats nice short" : "es teo boats cool long");
  try {
    JudgeNote(tail, head);  // the key itself fuzzed: a note key, or an InputError
  } catch (const InputError&) {
  }
  return 0;
}

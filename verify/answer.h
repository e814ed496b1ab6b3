// Rule verification of a completion: answer extraction, format, and the
// integer answer check used by the arith task.
//
// Format: "<think>" ... "</think>" "<answer>" ... "</answer>", each tag once,
// in that order, "</think>" directly followed by "<answer>", nothing after
// "</answer>" but an optional "<eos>". Completions are decoded text, with
// specials written by name.
#pragma once

#include <functional>
#include <string>

namespace r1lab {

struct Extraction {
  bool ok = false;
  std::string answer;  // trimmed content of the last <answer>...</answer>
  std::string error;   // why extraction failed: "no answer", "empty answer", "unclosed <answer>"
};
Extraction ExtractTaggedAnswer(const std::string& completion);

// The content of the last \boxed{...} (or \fbox{...}), nested braces
// allowed; "\boxed 5" takes the next word. Errors: "no answer",
// "unbalanced braces", "empty answer".
Extraction ExtractBoxed(const std::string& text);

// How a math answer is found in a completion. With several \boxed{} the last
// one is the answer (as in the MATH and Minerva graders), never a tuple of all.
enum class MathExtraction {
  kTagged,    // the last <answer>...</answer> (a \boxed{} inside it counts), else the last \boxed{}
  kFreeText,  // as kTagged, then the last "the answer is X" / "answer: X" / "#### X", then the last number
};

Extraction ExtractMathAnswer(const std::string& completion, MathExtraction how = MathExtraction::kTagged);

// Free text (what real LMs write on GSM8K/MATH without tags): what follows the
// last "answer is" / "answer:" / "####" up to the end of its sentence (inline
// $...$ and **bold** unwrapped), else the last number ("-1,234.5", "3/4").
Extraction ExtractFreeTextAnswer(const std::string& text);

// GSM8K style: what follows the last "####", commas and a final period removed.
Extraction ExtractHashAnswer(const std::string& text);

// <think>..</think><answer>..</answer>, each tag once, in order, nothing
// after (but a final "<eos>"). Strict: the tags adjacent and nothing before;
// allow_whitespace: whitespace before <think>, between </think> and <answer>
// and after </answer> as well (R1's template writes "</think> <answer>", and
// real LMs add newlines).
bool FormatOk(const std::string& completion, bool allow_whitespace = false);

// The completion without a final "<eos>" (unchanged if it has none).
std::string StripEos(const std::string& s);

// "-12", " +7 " -> true with the value, for any value of a signed 64-bit
// integer; anything else (beyond 64 bits, not an integer) -> false.
bool ParseInteger(const std::string& s, long long* value);

struct Verdict {
  bool correct = false;
  bool format_ok = false;
  std::string extracted;
  std::string error;  // extraction failure, if any
};

// The verdict every task builds the same way: format checked; if the
// extraction failed its reason is the error; else `judge(answer, &why)`
// decides correctness (and may explain).
Verdict JudgeExtracted(const std::string& completion, const Extraction& x,
                       const std::function<bool(const std::string& answer, std::string* why)>& judge);

// Integer answer against an integer gold. Thread-safe (pure).
Verdict VerifyIntegerAnswer(const std::string& completion, const std::string& gold);

// Math answer (ExtractMathAnswer) against a gold judged by CompareMath;
// unverifiable counts as wrong and its reason is in `error`.
Verdict VerifyMathAnswer(const std::string& completion, const std::string& gold, double rel_tol,
                         MathExtraction how = MathExtraction::kTagged);

}  // namespace r1lab

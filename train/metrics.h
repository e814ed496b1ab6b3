// Evaluation statistics, as the R1 report and its follow-ups define them.
#pragma once

#include <string>
#include <vector>

namespace r1lab {

// Unbiased pass@k from n samples with c correct (Chen et al. 2021):
// 1 - C(n-c, k) / C(n, k), computed as a stable product. Requires k <= n.
double PassAtK(int n, int c, int k);

// Majority vote over extracted answers (empty = no answer, never voted for).
// Ties go to the answer seen first. Returns the winning answer, or "" if no
// sample has an answer.
std::string MajorityAnswer(const std::vector<std::string>& answers);

// The report's reflective words, counted as whole words, case-insensitive.
const std::vector<std::string>& ReflectiveWords();
int CountWord(const std::string& text, const std::string& word);
int CountReflectiveWords(const std::string& text);

// An "aha" revision: the chain of thought (inside <think>...</think>) has a
// line starting "wait" or "espera" after an earlier line: the response
// rewrites a step of its own (the arith teacher's correction line). The
// evaluation's aha episodes are revisions whose answer is right.
bool HasRevision(const std::string& completion);

// Where the chain of thought's first check begins: the offset of the first
// line inside <think>...</think> holding a reflective word (never before
// the text following "<think>"), or npos when there is none. The redraw
// without checks (eval.without_checks) regenerates the response from here.
size_t FirstCheckLine(const std::string& completion);

}  // namespace r1lab

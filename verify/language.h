// Language consistency (R1 stage 2): the share of chain-of-thought words that
// are in the prompt's language. Words are classified by small per-language
// lexicons (the words r1lab's tasks and teachers write); other tokens
// (numbers, symbols, unknown words) are not counted. A chain of thought with
// no classified word scores 1: nothing in it is in another language.
#pragma once

#include <string>
#include <vector>

namespace r1lab {

// Languages with a lexicon: "en", "es".
bool KnownLanguage(const std::string& language);

// The lexicon word `word` belongs to ("en", "es"), or "" if none.
std::string WordLanguage(const std::string& word);

// Over the text between <think> and </think> (or everything before <answer>
// when there is no </think>). InputError for an unknown language.
double LanguageConsistency(const std::string& completion, const std::string& language);

// R1's readable format ends the chain of thought with a summary: a last line
// stating the answer in the prompt's language, "so the answer is 7" (Spanish
// "asi que la respuesta es 7"; English for a language without a lexicon).
std::string SummaryLine(const std::string& answer, const std::string& language);
// The chain of thought's last line is a summary line (either language)
// stating what the completion's <answer> gives.
bool HasSummaryLine(const std::string& completion);

// The chain of thought's lines (after "<think>", up to "</think>",
// "<answer>" or the end), without their newlines, whitespace-only lines
// dropped; none without "<think>".
std::vector<std::string> ThinkLines(const std::string& completion);

}  // namespace r1lab

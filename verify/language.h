// Language consistency (R1 stage 2): the share of chain-of-thought words that
// are in the prompt's language. Words are classified by small per-language
// lexicons (the words r1lab's tasks and teachers write); other tokens
// (numbers, symbols, unknown words) are not counted. A chain of thought with
// no classified word scores 1: nothing in it is in another language.
#pragma once

#include <string>

namespace r1lab {

// Languages with a lexicon: "en", "es".
bool KnownLanguage(const std::string& language);

// The lexicon word `word` belongs to ("en", "es"), or "" if none.
std::string WordLanguage(const std::string& word);

// Over the text between <think> and </think> (or everything before <answer>
// when there is no </think>). InputError for an unknown language.
double LanguageConsistency(const std::string& completion, const std::string& language);

}  // namespace r1lab

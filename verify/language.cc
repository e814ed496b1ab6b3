#include "language.h"

#include <algorithm>
#include <cctype>
#include <unordered_map>

#include "error.h"

namespace r1lab {

namespace {

const std::unordered_map<std::string, std::string>& Lexicon() {
  static const auto* lex = [] {
    auto* m = new std::unordered_map<std::string, std::string>;
    for (const char* w : {"wait", "check", "plus", "minus", "times", "is", "then", "so", "the", "and", "answer",
                          "step", "first", "next", "result", "equals", "add", "subtract", "multiply"})
      (*m)[w] = "en";
    for (const char* w : {"espera", "comprueba", "mas", "menos", "por", "es", "luego", "asi", "que", "el", "la", "y",
                          "respuesta", "paso", "primero", "siguiente", "resultado", "igual", "suma", "resta",
                          "multiplica"})
      (*m)[w] = "es";
    return m;
  }();
  return *lex;
}

}  // namespace

bool KnownLanguage(const std::string& language) { return language == "en" || language == "es"; }

std::string WordLanguage(const std::string& word) {
  const auto it = Lexicon().find(word);
  return it == Lexicon().end() ? "" : it->second;
}

double LanguageConsistency(const std::string& completion, const std::string& language) {
  if (!KnownLanguage(language))
    throw InputError("language consistency: no lexicon for language '" + language + "'; expected en or es");
  size_t begin = completion.find("<think>");
  begin = begin == std::string::npos ? 0 : begin + 7;
  size_t end = completion.find("</think>", begin);
  if (end == std::string::npos) end = completion.find("<answer>", begin);
  if (end == std::string::npos) end = completion.size();
  int in_language = 0, classified = 0;
  std::string word;
  auto flush = [&] {
    if (word.empty()) return;
    const std::string lang = WordLanguage(word);
    if (!lang.empty()) {
      ++classified;
      in_language += lang == language;
    }
    word.clear();
  };
  for (size_t i = begin; i < end; ++i) {
    const char c = completion[i];
    if (std::isalpha(static_cast<unsigned char>(c))) word += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    else flush();
  }
  flush();
  return classified == 0 ? 1.0 : static_cast<double>(in_language) / classified;
}

std::string SummaryLine(const std::string& answer, const std::string& language) {
  return (language == "es" ? "asi que la respuesta es " : "so the answer is ") + answer;
}

std::vector<std::string> ThinkLines(const std::string& completion) {
  std::vector<std::string> lines;
  const size_t open = completion.find("<think>");
  if (open == std::string::npos) return lines;
  const size_t body = open + std::string("<think>").size();
  const size_t close =
      std::min({completion.size(), completion.find("</think>", body), completion.find("<answer>", body)});
  for (size_t b = body; b < close;) {
    const size_t e = std::min(completion.find('\n', b), close);
    const std::string line = completion.substr(b, e - b);
    if (line.find_first_not_of(" \t\r") != std::string::npos) lines.push_back(line);
    b = e + 1;
  }
  return lines;
}

bool HasSummaryLine(const std::string& completion) {
  const size_t end = completion.find("</think>"), open = completion.find("<answer>", end == std::string::npos ? 0 : end);
  const size_t close = open == std::string::npos ? open : completion.find("</answer>", open);
  if (end == std::string::npos || close == std::string::npos) return false;
  const std::string answer = completion.substr(open + 8, close - open - 8);
  std::string think = completion.substr(0, end);
  while (!think.empty() && think.back() == '\n') think.pop_back();
  const size_t nl = think.find_last_of('\n'), tag = think.rfind("<think>");
  const size_t from = std::max(nl == std::string::npos ? 0 : nl + 1, tag == std::string::npos ? 0 : tag + 7);
  const std::string last = think.substr(std::min(from, think.size()));
  return last == SummaryLine(answer, "en") || last == SummaryLine(answer, "es");
}

}  // namespace r1lab

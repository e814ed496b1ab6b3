// `r1lab verify`: JSONL in, one JSON verdict line out per input line, in order.
#include <tbb/parallel_for.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "answer.h"
#include "commands.h"
#include "error.h"
#include "json.h"
#include "language.h"
#include "reward.h"
#include "task_verify.h"

namespace r1lab {

namespace {

std::string VerifyLine(const std::string& line, long long line_no, const std::string& task,
                       const RewardChain& chain, double rel_tol, MathExtraction extraction) {
  try {
    const JsonValue in = JsonValue::Parse(line);
    if (in.kind() != JsonValue::kObject) throw InputError("expected a JSON object");
    const std::string completion = in.at("completion").string();
    Scored scored{completion, 0, false, "en"};
    if (const JsonValue* lang = in.find("language")) scored.language = lang->string();
    if (!KnownLanguage(scored.language))
      throw InputError("language '" + scored.language + "': expected en or es");
    const Verdict v = VerifyRecord(task, in, completion, rel_tol, extraction);
    const RewardBreakdown r = chain.Score(scored, v);
    Json reward;
    for (size_t i = 0; i < r.terms.size(); ++i) reward.Add(chain.term_names()[i], r.terms[i]);
    reward.Add("total", r.total);
    Json out;
    out.Add("correct", v.correct).Add("extracted", v.extracted).Add("format_ok", v.format_ok).Add("reward", reward);
    if (!v.error.empty()) out.Add("why", v.error);
    return out.str();
  } catch (const std::exception& e) {
    return Json().Add("error", "line " + std::to_string(line_no) + ": " + e.what()).str();
  }
}

}  // namespace

int RunVerify(const std::string& task, const std::string& input, double rel_tol, double language_weight,
              const std::string& extract) {
  CheckVerifyTask(task);
  if (extract != "tagged" && extract != "free-text")
    throw ConfigError("--extract " + extract + ": expected tagged or free-text");
  if (extract != "tagged" && task != "math") throw ConfigError("--extract free-text: only for --task math");
  const MathExtraction extraction = extract == "free-text" ? MathExtraction::kFreeText : MathExtraction::kTagged;
  std::ifstream file;
  if (!input.empty()) {
    file.open(input);
    if (!file) throw IoError(input + ": cannot open for reading");
  }
  std::istream& in = input.empty() ? std::cin : file;
  RewardConfig rc;
  rc.set_language_weight(language_weight);
  const RewardChain chain(rc, 1);
  // Lines are verified in parallel in chunks and written in input order.
  constexpr size_t kChunk = 4096;
  std::vector<std::string> lines, out;
  long long line_no = 0;
  for (bool done = false; !done;) {
    lines.clear();
    std::string line;
    while (lines.size() < kChunk && std::getline(in, line)) lines.push_back(line);
    done = lines.size() < kChunk;
    out.assign(lines.size(), "");
    tbb::parallel_for(size_t{0}, lines.size(), [&](size_t i) {
      const long long no = line_no + static_cast<long long>(i) + 1;
      out[i] = lines[i].empty() ? Json().Add("error", "line " + std::to_string(no) + ": empty line").str()
                                : VerifyLine(lines[i], no, task, chain, rel_tol, extraction);
    });
    line_no += static_cast<long long>(lines.size());
    for (size_t i = 0; i < out.size(); ++i) {
      std::fwrite(out[i].data(), 1, out[i].size(), stdout);
      std::fputc('\n', stdout);
    }
  }
  std::fflush(stdout);
  return 0;
}

}  // namespace r1lab

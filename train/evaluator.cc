#include "evaluator.h"

#include <tbb/parallel_for.h>

#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>

#include "data_parallel.h"
#include "dist.h"
#include "error.h"
#include "records.h"
#include "generate.h"
#include "language.h"
#include "progress.h"
#include "steps.h"
#include "metrics.h"
#include "tokenizer.h"

namespace r1lab {

namespace {

// Answers vote as integers where they are ("+7" and "7" agree), else as
// their text without spaces.
std::string VoteKey(const Verdict& v) {
  long long x = 0;
  if (v.extracted.empty()) return "";
  if (ParseInteger(v.extracted, &x)) return std::to_string(x);
  std::string key;
  for (char c : v.extracted)
    if (!std::isspace(static_cast<unsigned char>(c))) key += c;
  return key;
}

// eval.without_checks: each response with a check line is cut before it and
// the rest regenerated from there, again while the new rest has one (up to
// kRedraws times), each round one batched generation with its own seed;
// where a check line came back every time, the thinking ends before it and
// the answer is sampled. The whole response keeps the evaluation's token
// limit.
constexpr int kRedraws = 8;
void RedrawWithoutChecks(Transformer& model, const Task& task, const std::vector<Problem>& test, const EvalConfig& cfg,
                         EvalResult* r, FlopCounter* flops) {
  const Tokenizer& tok = model->tokenizer();
  std::vector<size_t> rows;  // samples whose redraw still has a check line
  for (size_t k = 0; k < r->samples.size(); ++k) {
    EvalSample& s = r->samples[k];
    if (FirstCheckLine(s.completion) == std::string::npos) continue;
    s.without_checks = s.completion;
    rows.push_back(k);
  }
  // One batched round: each row's text before its first check line (and
  // `close`), continued by the model.
  auto redraw = [&](int round, const std::string& close) {
    std::vector<std::vector<int>> prompts;
    std::vector<std::string> prefixes;
    std::vector<int> room;
    for (size_t k : rows) {
      const EvalSample& s = r->samples[k];
      prefixes.push_back(s.without_checks.substr(0, FirstCheckLine(s.without_checks)) + close);
      std::vector<int> p = tok.EncodePrompt(test[static_cast<size_t>(s.problem)].prompt);
      const std::vector<int> kept = tok.Encode(prefixes.back());
      room.push_back(std::max(cfg.sampling().max_new_tokens() - static_cast<int>(kept.size()), 0));
      p.insert(p.end(), kept.begin(), kept.end());
      prompts.push_back(std::move(p));
    }
    GenerateOptions opt;
    opt.sampling = cfg.sampling();
    opt.seed = cfg.seed() + 1000003ULL * static_cast<uint64_t>(round + 1);
    std::vector<Generation> gens = Generate(model, prompts, opt, flops);
    std::vector<size_t> still;
    for (size_t i = 0; i < rows.size(); ++i) {
      std::vector<int>& t = gens[i].tokens;
      if (static_cast<int>(t.size()) > room[i]) t.resize(static_cast<size_t>(room[i]));
      EvalSample& s = r->samples[rows[i]];
      s.without_checks = prefixes[i] + tok.Decode(t);
      if (FirstCheckLine(s.without_checks) != std::string::npos) still.push_back(rows[i]);
    }
    rows = std::move(still);
  };
  for (int round = 0; round < kRedraws && !rows.empty(); ++round) redraw(round, "");
  for (size_t k : rows) r->samples[k].without_checks_ended = true;
  if (!rows.empty()) redraw(kRedraws, "</think><answer>");
  tbb::parallel_for(size_t{0}, r->samples.size(), [&](size_t k) {
    EvalSample& s = r->samples[k];
    if (!s.without_checks.empty())
      s.without_checks_verdict = task.Verify(s.without_checks, test[static_cast<size_t>(s.problem)]);
  });
}

// A shard's judged samples as texts for AllGatherTexts (dist/dist.h), seven
// a sample, and back.
constexpr size_t kSampleTexts = 7;
std::vector<std::string> SampleTexts(const std::vector<EvalSample>& samples) {
  std::vector<std::string> out;
  for (const EvalSample& s : samples) {
    const int bits = (s.truncated ? 1 : 0) | (s.verdict.correct ? 2 : 0) | (s.verdict.format_ok ? 4 : 0);
    for (int v : {s.problem, s.index, s.tokens, bits}) out.push_back(std::to_string(v));
    for (const std::string* t : {&s.completion, &s.verdict.extracted, &s.verdict.error}) out.push_back(*t);
  }
  return out;
}

std::vector<EvalSample> SamplesOf(const std::vector<std::string>& texts) {
  R1_CHECK(texts.size() % kSampleTexts == 0, "SamplesOf: not whole samples");
  std::vector<EvalSample> out(texts.size() / kSampleTexts);
  for (size_t k = 0; k < out.size(); ++k) {
    const std::string* t = &texts[k * kSampleTexts];
    EvalSample& s = out[k];
    s.problem = std::stoi(t[0]);
    s.index = std::stoi(t[1]);
    s.tokens = std::stoi(t[2]);
    const int bits = std::stoi(t[3]);
    s.truncated = bits & 1;
    s.verdict.correct = bits & 2;
    s.verdict.format_ok = bits & 4;
    s.completion = t[4];
    s.verdict.extracted = t[5];
    s.verdict.error = t[6];
  }
  return out;
}

}  // namespace

EvalResult Evaluate(Transformer& model, const Task& task, const EvalConfig& cfg, FlopCounter* flops, Dist* shard) {
  const auto t0 = Clock::now();
  const EvalSplit split = cfg.split() == VALIDATION ? EvalSplit::kValidation : EvalSplit::kTest;
  const auto& test = task.Split(split);
  const std::string name = EvalSplitName(split);
  if (test.empty()) throw InputError("eval: the task's " + name + " split is empty (task.num_" + name + ")");
  if (cfg.num_problems() > static_cast<int>(test.size()))
    throw InputError("eval.num_problems=" + std::to_string(cfg.num_problems()) + " exceeds the " + name + " split (" +
                     std::to_string(test.size()) + " problems; raise task.num_" + name + ")");
  const int P = cfg.num_problems(), n = cfg.samples_per_problem();
  // This rank's rows (problem-major, n a problem): [lo, hi), whole chunks
  // of one process's batch.
  const int world = shard ? shard->world_size() : 1;
  const int64_t rows = int64_t{P} * n;
  const auto [lo, hi] = shard ? ShardRows(rows, cfg.sampling().batch_size(), shard->rank(), world)
                              : std::pair<int64_t, int64_t>{0, rows};
  const Tokenizer& tok = model->tokenizer();
  std::vector<std::vector<int>> prompts;
  prompts.reserve(static_cast<size_t>(hi - lo));
  for (int64_t row = lo; row < hi; ++row)
    prompts.push_back(row > lo && row % n != 0 ? prompts.back() : tok.EncodePrompt(test[row / n].prompt));
  GenerateOptions opt;
  opt.sampling = cfg.sampling();
  opt.seed = cfg.seed();
  opt.first_row = lo;
  FlopCounter local;
  const auto gens = prompts.empty() ? std::vector<Generation>() : Generate(model, prompts, opt, &local);

  EvalResult r;
  r.split = split;
  r.num_problems = P;
  r.n = n;
  r.samples.resize(gens.size());
  tbb::parallel_for(size_t{0}, gens.size(), [&](size_t k) {
    EvalSample& s = r.samples[k];
    s.problem = static_cast<int>((lo + static_cast<int64_t>(k)) / n);
    s.index = static_cast<int>((lo + static_cast<int64_t>(k)) % n);
    s.completion = tok.Decode(gens[k].tokens);
    s.verdict = task.Verify(s.completion, test[s.problem]);
    s.tokens = static_cast<int>(gens[k].tokens.size());
    s.truncated = gens[k].truncated;
  });
  double generated = local.Total();
  if (world > 1) {
    shard->RoundBarrier();  // a rank whose shard took longer is waited for, however long
    r.samples = SamplesOf(AllGatherTexts(*shard, SampleTexts(r.samples)));
    generated = SumOverRanks({generated}, *shard)[0];
  }
  // The redraws of every sample, on every rank alike (not sharded), counted once.
  FlopCounter redraws;
  if (cfg.without_checks()) RedrawWithoutChecks(model, task, test, cfg, &r, &redraws);
  SummarizeSamples(test, &r, [&task](const std::string& l, const Problem& p) { return LineInForm(task, l, p); });
  r.flops = generated + redraws.Total();
  if (flops) flops->Add(FlopPhase::kGenerate, r.flops);
  r.seconds = SecondsSince(t0);
  return r;
}

void SummarizeSamples(const std::vector<Problem>& test, EvalResult* out, const ProblemLineJudge& line_form) {
  EvalResult& r = *out;
  const int P = r.num_problems, n = r.n;
  if (P < 0 || n < 1 || r.samples.size() != static_cast<size_t>(P) * static_cast<size_t>(n))
    throw InternalError("SummarizeSamples: " + std::to_string(r.samples.size()) + " samples for " + std::to_string(P) +
                        " problems x " + std::to_string(n));
  std::vector<int> ks;
  for (int k = 1; k <= n; k *= 2) ks.push_back(k);
  if (ks.back() != n) ks.push_back(n);
  std::vector<double> pass_at(ks.size(), 0.0);
  double correct = 0, fmt = 0, len = 0, trunc = 0, refl = 0, wait = 0, maj = 0, lang = 0, summary = 0;
  double reflective = 0, reflective_right = 0, plain_right = 0, aha = 0, gain = 0, mixed = 0;
  double reflective_len = 0, plain_len = 0;
  double checked = 0, with_check = 0, without = 0, ended = 0;
  std::map<int, LevelStats> levels;
  Degeneration degen;
  for (const EvalSample& s : r.samples)
    degen.Add(s.completion, SegmentSteps(s.completion, {Segmenter::kLine}), !s.verdict.extracted.empty());
  r.steps_mean = degen.steps_mean();
  r.repeated_step_rate = degen.repeated_rate();
  r.no_answer_rate = degen.no_answer_rate();
  double lines = 0, lines_in_form = 0, check_lines = 0, check_lines_in_form = 0;
  for (size_t k = 0; k < r.samples.size() && line_form; ++k)
    for (const std::string& line : ThinkLines(r.samples[k].completion)) {
      const std::optional<bool> form = line_form(line, test[r.samples[k].problem]);
      if (!form) break;  // no grammar for this problem's lines
      lines += 1;
      lines_in_form += *form;
      if (CountReflectiveWords(line) > 0) {
        check_lines += 1;
        check_lines_in_form += *form;
      }
    }
  r.lines_in_form = lines > 0 ? lines_in_form / lines : NAN;
  r.check_lines_in_form = check_lines > 0 ? check_lines_in_form / check_lines : NAN;
  for (int i = 0; i < P; ++i) {
    int c = 0;
    std::vector<std::string> votes;
    double plen = 0;
    int refl_i = 0, refl_right_i = 0, plain_right_i = 0;
    for (int j = 0; j < n; ++j) {
      const EvalSample& s = r.samples[static_cast<size_t>(i) * n + j];
      c += s.verdict.correct;
      fmt += s.verdict.format_ok;
      len += s.tokens;
      plen += s.tokens;
      trunc += s.truncated;
      const int words = CountReflectiveWords(s.completion);
      refl += words;
      refl_i += words > 0;
      (words > 0 ? refl_right_i : plain_right_i) += s.verdict.correct;
      (words > 0 ? reflective_len : plain_len) += s.tokens;
      aha += s.verdict.correct && HasRevision(s.completion);
      wait += CountWord(s.completion, "wait");
      votes.push_back(VoteKey(s.verdict));
      if (KnownLanguage(test[i].language)) lang += LanguageConsistency(s.completion, test[i].language);
      else lang += 1;
      summary += HasSummaryLine(s.completion);
      if (!s.without_checks.empty()) {
        checked += 1;
        with_check += s.verdict.correct;
        without += s.without_checks_verdict.correct;
        ended += s.without_checks_ended;
      }
    }
    correct += c;
    reflective += refl_i;
    reflective_right += refl_right_i;
    plain_right += plain_right_i;
    if (refl_i > 0 && refl_i < n) {
      gain += static_cast<double>(refl_right_i) / refl_i - static_cast<double>(plain_right_i) / (n - refl_i);
      mixed += 1;
    }
    for (size_t q = 0; q < ks.size(); ++q) pass_at[q] += PassAtK(n, c, ks[q]);
    // The vote is right when the winning answer is (same key, same verdict).
    const std::string winner = MajorityAnswer(votes);
    for (int j = 0; j < n && !winner.empty(); ++j)
      if (votes[j] == winner) {
        maj += r.samples[static_cast<size_t>(i) * n + j].verdict.correct;
        break;
      }
    LevelStats& ls = levels[test[i].level];
    ls.level = test[i].level;
    ls.problems += 1;
    ls.pass1 += static_cast<double>(c) / n;
    ls.mean_length += plen / n;
  }
  const double total = static_cast<double>(P) * n;
  r.pass1 = correct / total;
  r.maj = maj / P;
  r.format_rate = fmt / total;
  r.language_consistency = lang / total;
  r.summary_rate = summary / total;
  r.mean_length = len / total;
  r.truncation_rate = trunc / total;
  r.reflect_per_1k = len > 0 ? 1000.0 * refl / len : 0;
  r.wait_per_1k = len > 0 ? 1000.0 * wait / len : 0;
  r.reflective_rate = reflective / total;
  r.pass1_reflective = reflective > 0 ? reflective_right / reflective : NAN;
  r.pass1_plain = total > reflective ? plain_right / (total - reflective) : NAN;
  r.length_reflective = reflective > 0 ? reflective_len / reflective : NAN;
  r.length_plain = total > reflective ? plain_len / (total - reflective) : NAN;
  r.aha_rate = aha / total;
  r.reflective_gain_within_problem = mixed > 0 ? gain / mixed : NAN;
  r.reflective_mixed_problems = mixed / P;
  // Measured when a response was redrawn (eval.without_checks, a check line).
  r.check_rate = checked > 0 ? checked / total : NAN;
  r.pass1_with_check = checked > 0 ? with_check / checked : NAN;
  r.pass1_without_checks = checked > 0 ? without / checked : NAN;
  r.ended_at_check_rate = checked > 0 ? ended / checked : NAN;
  for (size_t q = 0; q < ks.size(); ++q) r.pass_at.emplace_back(ks[q], pass_at[q] / P);
  for (auto& [lvl, ls] : levels) {
    ls.pass1 /= ls.problems;
    ls.mean_length /= ls.problems;
    r.by_level.push_back(ls);
  }
}

EvalRecord EvalToRecord(const EvalResult& r) {
  EvalRecord e;
  e.set_problems(r.num_problems);
  e.set_samples_per_problem(r.n);
  e.set_pass1(r.pass1);
  e.set_maj(r.maj);
  for (const auto& [k, v] : r.pass_at) (*e.mutable_pass_at())[k] = v;
  e.set_format_rate(r.format_rate);
  e.set_mean_length(r.mean_length);
  e.set_truncation_rate(r.truncation_rate);
  e.set_reflect_per_1k(r.reflect_per_1k);
  e.set_wait_per_1k(r.wait_per_1k);
  e.set_language_consistency(r.language_consistency);
  e.set_summary_rate(r.summary_rate);
  e.set_reflective_rate(r.reflective_rate);
  if (!std::isnan(r.pass1_reflective)) e.set_pass1_reflective(r.pass1_reflective);
  if (!std::isnan(r.pass1_plain)) e.set_pass1_plain(r.pass1_plain);
  if (!std::isnan(r.length_reflective)) e.set_length_reflective(r.length_reflective);
  if (!std::isnan(r.length_plain)) e.set_length_plain(r.length_plain);
  e.set_aha_rate(r.aha_rate);
  if (!std::isnan(r.reflective_gain_within_problem)) e.set_reflective_gain_within_problem(r.reflective_gain_within_problem);
  e.set_reflective_mixed_problems(r.reflective_mixed_problems);
  if (!std::isnan(r.check_rate)) {
    e.set_check_rate(r.check_rate);
    e.set_pass1_with_check(r.pass1_with_check);
    e.set_pass1_without_checks(r.pass1_without_checks);
    e.set_ended_at_check_rate(r.ended_at_check_rate);
  }
  if (!std::isnan(r.lines_in_form)) e.set_lines_in_form(r.lines_in_form);
  if (!std::isnan(r.check_lines_in_form)) e.set_check_lines_in_form(r.check_lines_in_form);
  e.set_steps_mean(r.steps_mean);
  e.set_repeated_step_rate(r.repeated_step_rate);
  e.set_no_answer_rate(r.no_answer_rate);
  for (const LevelStats& l : r.by_level) {
    LevelRecord* lr = e.add_by_level();
    lr->set_level(l.level);
    lr->set_problems(l.problems);
    lr->set_pass1(l.pass1);
    lr->set_mean_length(l.mean_length);
  }
  e.set_flops(r.flops);
  e.set_seconds(r.seconds);
  if (r.split != EvalSplit::kTest) e.set_split(EvalSplitName(r.split));
  return e;
}

std::string EvalToJson(const EvalResult& r) { return RecordToJson(EvalToRecord(r)); }

std::string SamplesToJsonl(const EvalResult& r, const Task& task) {
  std::string out;
  for (const EvalSample& s : r.samples) {
    const Problem& p = task.Split(r.split)[s.problem];
    SampleRecord rec;
    rec.set_problem(s.problem);
    rec.set_sample(s.index);
    rec.set_prompt(p.prompt);
    rec.set_gold(p.gold);
    rec.set_level(p.level);
    rec.set_completion(s.completion);
    rec.set_extracted(s.verdict.extracted);
    rec.set_correct(s.verdict.correct);
    rec.set_format_ok(s.verdict.format_ok);
    rec.set_error(s.verdict.error);
    rec.set_tokens(s.tokens);
    rec.set_truncated(s.truncated);
    if (!s.without_checks.empty()) rec.set_without_checks(s.without_checks);
    if (s.without_checks_ended) rec.set_without_checks_ended(true);
    out += RecordToJson(rec) + "\n";
  }
  return out;
}

std::string EvalTable(const EvalResult& r) {
  char buf[512];
  std::string out;
  std::snprintf(buf, sizeof buf, "%s problems %d x %d samples\n", EvalSplitName(r.split), r.num_problems, r.n);
  out += buf;
  std::snprintf(buf, sizeof buf, "  pass@1          %6.1f%%\n  maj@%-3d         %6.1f%%\n", 100 * r.pass1, r.n,
                100 * r.maj);
  out += buf;
  for (const auto& [k, v] : r.pass_at) {
    if (k == 1) continue;
    std::snprintf(buf, sizeof buf, "  pass@%-3d        %6.1f%%\n", k, 100 * v);
    out += buf;
  }
  std::snprintf(buf, sizeof buf,
                "  format rate     %6.1f%%\n  mean length     %6.1f tokens\n  truncated       %6.1f%%\n"
                "  reflective/1k   %6.2f   (wait/1k %.2f)\n  language cons.  %6.1f%%\n"
                "  steps/response  %6.2f   (repeated %.1f%%, no answer %.1f%%)\n",
                100 * r.format_rate, r.mean_length, 100 * r.truncation_rate, r.reflect_per_1k, r.wait_per_1k,
                100 * r.language_consistency, r.steps_mean, 100 * r.repeated_step_rate, 100 * r.no_answer_rate);
  out += buf;
  if (r.summary_rate > 0) {
    std::snprintf(buf, sizeof buf, "  summary line    %6.1f%%\n", 100 * r.summary_rate);
    out += buf;
  }
  if (r.reflective_rate > 0) {
    std::snprintf(buf, sizeof buf,
                  "  reflective      %6.1f%% of responses: pass@1 %.1f%% (others %.1f%%), length %.1f (others %.1f), "
                  "aha %.1f%%\n",
                  100 * r.reflective_rate, 100 * r.pass1_reflective, 100 * r.pass1_plain, r.length_reflective,
                  r.length_plain, 100 * r.aha_rate);
    out += buf;
  }
  if (r.reflective_mixed_problems > 0) {
    std::snprintf(buf, sizeof buf, "  within a problem: reflective minus plain %+.1f points (%.1f%% of problems have both)\n",
                  100 * r.reflective_gain_within_problem, 100 * r.reflective_mixed_problems);
    out += buf;
  }
  if (!std::isnan(r.check_rate)) {
    std::snprintf(buf, sizeof buf,
                  "  with a check    %6.1f%% of responses: pass@1 %.1f%%, redrawn without checks %.1f%% (%.1f%% ended there)\n",
                  100 * r.check_rate, 100 * r.pass1_with_check, 100 * r.pass1_without_checks, 100 * r.ended_at_check_rate);
    out += buf;
  }
  if (!std::isnan(r.lines_in_form)) {
    if (std::isnan(r.check_lines_in_form))
      std::snprintf(buf, sizeof buf, "  teacher's form  %6.1f%% of thinking lines (no check lines)\n",
                    100 * r.lines_in_form);
    else
      std::snprintf(buf, sizeof buf, "  teacher's form  %6.1f%% of thinking lines (%.1f%% of check lines)\n",
                    100 * r.lines_in_form, 100 * r.check_lines_in_form);
    out += buf;
  }
  for (const LevelStats& l : r.by_level) {
    std::snprintf(buf, sizeof buf, "  level %-2d  %4d problems  pass@1 %5.1f%%  length %5.1f\n", l.level, l.problems,
                  100 * l.pass1, l.mean_length);
    out += buf;
  }
  return out;
}

}  // namespace r1lab

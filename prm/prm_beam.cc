#include "prm_beam.h"

#include <algorithm>
#include <set>

#include "error.h"
#include "generate.h"
#include "scorer.h"
#include "tokenizer.h"

namespace r1lab {

namespace {

struct Beam {
  std::vector<int> tokens;  // the completion so far
  std::string text;
  double score = 0;
  bool done = false;
};

}  // namespace

BeamResult PrmBeamSearch(Transformer& policy, Transformer& prm, const Task& task, const std::vector<Problem>& problems,
                         const BeamSpec& spec, FlopCounter* flops) {
  if (spec.beam_width < 1 || spec.expansions < 1 || spec.max_rounds < 1)
    throw ConfigError("beam search: beam_width, expansions and max_rounds must be at least 1");
  const Tokenizer& tok = policy->tokenizer();
  const int newline = tok.Encode("\n").at(0);
  const int max_len = spec.sampling.max_new_tokens();
  std::vector<std::vector<int>> prompt_ids;
  for (const Problem& p : problems) prompt_ids.push_back(tok.EncodePrompt(p.prompt));
  std::vector<std::vector<Beam>> beams(problems.size(), std::vector<Beam>(1));
  BeamResult out;
  policy->eval();
  for (int round = 0; round < spec.max_rounds; ++round) {
    // One row per (problem, live beam, expansion).
    std::vector<std::vector<int>> rows;
    std::vector<std::pair<size_t, size_t>> owner;  // (problem, beam)
    std::vector<int> budget;
    for (size_t p = 0; p < problems.size(); ++p)
      for (size_t b = 0; b < beams[p].size(); ++b) {
        if (beams[p][b].done) continue;
        std::vector<int> row = prompt_ids[p];
        row.insert(row.end(), beams[p][b].tokens.begin(), beams[p][b].tokens.end());
        for (int e = 0; e < spec.expansions; ++e) {
          rows.push_back(row);
          owner.emplace_back(p, b);
        }
      }
    if (rows.empty()) break;
    // Rows differ in how many tokens they may still add; generate to the
    // largest allowance and cut each row at its own.
    int allowance = 1;
    for (size_t r = 0; r < rows.size(); ++r)
      allowance = std::max(allowance, max_len - static_cast<int>(beams[owner[r].first][owner[r].second].tokens.size()));
    GenerateOptions go;
    go.sampling = spec.sampling;
    go.sampling.set_max_new_tokens(allowance);
    go.stop_tokens = tok.stops();
    go.stop_tokens.push_back(newline);
    go.seed = spec.seed * 1000003ULL + static_cast<uint64_t>(round);
    const std::vector<Generation> gens = Generate(policy, rows, go, flops);
    std::vector<std::vector<Beam>> candidates(problems.size());
    std::vector<PrmExample> items;
    std::vector<std::pair<size_t, size_t>> item_at;  // (problem, candidate)
    for (size_t r = 0; r < gens.size(); ++r) {
      const auto [p, b] = owner[r];
      Beam c = beams[p][b];
      const int room = max_len - static_cast<int>(c.tokens.size());
      const size_t take = std::min(gens[r].tokens.size(), static_cast<size_t>(std::max(0, room)));
      c.tokens.insert(c.tokens.end(), gens[r].tokens.begin(), gens[r].tokens.begin() + static_cast<long>(take));
      out.generated_tokens += static_cast<double>(take);
      c.done = (take > 0 && tok.IsStop(c.tokens.back())) || static_cast<int>(c.tokens.size()) >= max_len ||
               (gens[r].truncated && take == gens[r].tokens.size());
      c.text = tok.Decode(c.tokens);
      candidates[p].push_back(std::move(c));
    }
    for (size_t p = 0; p < problems.size(); ++p)
      for (size_t i = 0; i < candidates[p].size(); ++i) {
        std::vector<Segment> steps = SegmentSteps(candidates[p][i].text, {Segmenter::kLine});
        if (steps.empty()) continue;
        items.push_back({problems[p].prompt, candidates[p][i].text, std::move(steps), {}});
        item_at.emplace_back(p, i);
      }
    const auto scores = ScoreSteps(prm, items, flops);
    for (size_t k = 0; k < items.size(); ++k)
      candidates[item_at[k].first][item_at[k].second].score = Aggregate(scores[k], spec.aggregation);
    // Survivors: finished beams and new candidates, best first, no duplicates.
    for (size_t p = 0; p < problems.size(); ++p) {
      std::vector<Beam> pool;
      for (Beam& b : beams[p])
        if (b.done) pool.push_back(std::move(b));
      for (Beam& c : candidates[p]) pool.push_back(std::move(c));
      std::stable_sort(pool.begin(), pool.end(), [](const Beam& a, const Beam& b) { return a.score > b.score; });
      std::vector<Beam> keep;
      std::set<std::string> seen;
      for (Beam& b : pool) {
        if (static_cast<int>(keep.size()) == spec.beam_width) break;
        if (seen.insert(b.text).second) keep.push_back(std::move(b));
      }
      beams[p] = std::move(keep);
    }
  }
  int right = 0;
  for (size_t p = 0; p < problems.size(); ++p) {
    // Beams are sorted best first; prefer a finished one.
    const Beam* best = &beams[p][0];
    for (const Beam& b : beams[p])
      if (b.done) {
        best = &b;
        break;
      }
    const bool ok = task.Verify(best->text, problems[p]).correct;
    out.answers.push_back(best->text);
    out.correct.push_back(ok);
    right += ok;
  }
  out.accuracy = problems.empty() ? 0 : static_cast<double>(right) / static_cast<double>(problems.size());
  return out;
}

}  // namespace r1lab

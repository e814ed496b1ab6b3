#include "completer.h"

#include <memory>

#include "data_parallel.h"
#include "dist.h"
#include "error.h"
#include "tokenizer.h"

namespace r1lab {

std::vector<std::string> GenerateTexts(Transformer& model, const std::vector<std::vector<int>>& rows,
                                       const GenerateOptions& opt, FlopCounter* flops, Dist* shard) {
  const Tokenizer& tok = model->tokenizer();
  std::vector<std::string> texts;
  if (!shard || shard->world_size() == 1) {
    for (const Generation& g : Generate(model, rows, opt, flops)) texts.push_back(tok.Decode(g.tokens));
    return texts;
  }
  const auto [lo, hi] = ShardRows(static_cast<int64_t>(rows.size()), opt.sampling.batch_size(), shard->rank(),
                                  shard->world_size());
  GenerateOptions go = opt;
  go.first_row += lo;
  FlopCounter local;
  const std::vector<std::vector<int>> mine(rows.begin() + lo, rows.begin() + hi);
  if (!mine.empty())
    for (const Generation& g : Generate(model, mine, go, &local)) texts.push_back(tok.Decode(g.tokens));
  shard->RoundBarrier();  // a rank whose share took longer is waited for, however long
  texts = AllGatherTexts(*shard, texts);
  const double spent = SumOverRanks({local.Get(FlopPhase::kGenerate)}, *shard)[0];
  if (flops) flops->Add(FlopPhase::kGenerate, spent);
  return texts;
}

Samples SampleCompletions(Transformer& model, const std::vector<Problem>& problems, int k,
                          const SamplingConfig& sampling, uint64_t seed, FlopCounter* flops, Dist* shard) {
  const Tokenizer& tok = model->tokenizer();
  std::vector<std::vector<int>> prompts;
  Samples s;
  for (const Problem& p : problems) {
    const std::vector<int> ids = tok.EncodePrompt(p.prompt);
    for (int i = 0; i < k; ++i) {
      prompts.push_back(ids);
      s.problems.push_back(&p);
    }
  }
  GenerateOptions go;
  go.sampling = sampling;
  go.seed = seed;
  model->eval();
  s.completions = GenerateTexts(model, prompts, go, flops, shard);
  return s;
}

Completer ModelCompleter(Transformer model, const SamplingConfig& sampling, uint64_t seed, FlopCounter* flops,
                         Dist* shard) {
  auto calls = std::make_shared<uint64_t>(0);
  return [model, sampling, seed, flops, calls, shard](const std::vector<const Problem*>& problems,
                                                      const std::vector<std::string>& prefixes, int n) mutable {
    const Tokenizer& tok = model->tokenizer();
    std::vector<std::vector<int>> rows;
    rows.reserve(prefixes.size() * static_cast<size_t>(n));
    for (size_t i = 0; i < prefixes.size(); ++i) {
      std::vector<int> p = tok.EncodePrompt(problems[i]->prompt);
      const std::vector<int> prefix = tok.Encode(prefixes[i]);
      p.insert(p.end(), prefix.begin(), prefix.end());
      for (int k = 0; k < n; ++k) rows.push_back(p);
    }
    GenerateOptions go;
    go.sampling = sampling;
    go.seed = seed * 1000003ULL + (*calls)++;
    model->eval();
    const std::vector<std::string> texts = GenerateTexts(model, rows, go, flops, shard);
    std::vector<std::vector<std::string>> out(prefixes.size());
    for (size_t r = 0; r < texts.size(); ++r) out[r / static_cast<size_t>(n)].push_back(texts[r]);
    return out;
  };
}

}  // namespace r1lab

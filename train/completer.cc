#include "completer.h"

#include <memory>

#include "error.h"
#include "generate.h"
#include "tokenizer.h"

namespace r1lab {

Samples SampleCompletions(Transformer& model, const std::vector<Problem>& problems, int k,
                          const SamplingConfig& sampling, uint64_t seed, FlopCounter* flops) {
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
  for (const Generation& g : Generate(model, prompts, go, flops)) s.completions.push_back(tok.Decode(g.tokens));
  return s;
}

Completer ModelCompleter(Transformer model, const SamplingConfig& sampling, uint64_t seed, FlopCounter* flops) {
  auto calls = std::make_shared<uint64_t>(0);
  return [model, sampling, seed, flops, calls](const std::vector<const Problem*>& problems,
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
    const std::vector<Generation> gens = Generate(model, rows, go, flops);
    std::vector<std::vector<std::string>> out(prefixes.size());
    for (size_t r = 0; r < gens.size(); ++r) out[r / static_cast<size_t>(n)].push_back(tok.Decode(gens[r].tokens));
    return out;
  };
}

}  // namespace r1lab

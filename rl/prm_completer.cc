#include "prm_completer.h"

#include <memory>

#include "error.h"
#include "generate.h"
#include "tokenizer.h"

namespace r1lab {

Completer ModelCompleter(Transformer model, const SamplingConfig& sampling, uint64_t seed, FlopCounter* flops) {
  auto calls = std::make_shared<uint64_t>(0);
  return [model, sampling, seed, flops, calls](const std::vector<const Problem*>& problems,
                                               const std::vector<std::string>& prefixes, int n) mutable {
    const Tokenizer& tok = Tokenizer::Get();
    std::vector<std::vector<int>> rows;
    rows.reserve(prefixes.size() * static_cast<size_t>(n));
    for (size_t i = 0; i < prefixes.size(); ++i) {
      std::vector<int> p = {Tokenizer::kBos};
      for (const std::string& part : {problems[i]->prompt, prefixes[i]}) {
        const auto ids = tok.Encode(part);
        p.insert(p.end(), ids.begin(), ids.end());
      }
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

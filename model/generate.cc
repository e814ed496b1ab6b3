#include "generate.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <tuple>

#include "error.h"
#include "rng.h"
#include "tokenizer.h"

namespace r1lab {

int SampleToken(const float* logits, int V, const SamplingConfig& s, double u, float* logprob) {
  const double temp = s.temperature();
  // Log-softmax at the sampling temperature (1 when greedy).
  const double inv_t = temp > 0 ? 1.0 / temp : 1.0;
  double m = -INFINITY;
  for (int i = 0; i < V; ++i) m = std::max(m, logits[i] * inv_t);
  double z = 0;
  for (int i = 0; i < V; ++i) z += std::exp(logits[i] * inv_t - m);
  const double log_z = m + std::log(z);
  if (temp == 0) {
    const int best = static_cast<int>(std::max_element(logits, logits + V) - logits);
    *logprob = static_cast<float>(logits[best] - log_z);
    return best;
  }
  // Candidate set after top-k and top-p, in descending probability.
  std::vector<int> idx(V);
  std::iota(idx.begin(), idx.end(), 0);
  int keep = V;
  const bool truncate = (s.top_k() > 0 && s.top_k() < V) || s.top_p() < 1.0;
  if (truncate) {
    std::sort(idx.begin(), idx.end(), [&](int a, int b) { return logits[a] > logits[b] || (logits[a] == logits[b] && a < b); });
    if (s.top_k() > 0) keep = std::min(keep, s.top_k());
    if (s.top_p() < 1.0) {
      double cum = 0;
      int n = 0;
      while (n < keep) {
        cum += std::exp(logits[idx[n]] * inv_t - log_z);
        ++n;
        if (cum >= s.top_p()) break;
      }
      keep = n;
    }
  }
  double mass = 0;
  for (int j = 0; j < keep; ++j) mass += std::exp(logits[idx[j]] * inv_t - log_z);
  double target = u * mass, acc = 0;
  int tok = idx[keep - 1];
  for (int j = 0; j < keep; ++j) {
    acc += std::exp(logits[idx[j]] * inv_t - log_z);
    if (acc > target) {
      tok = idx[j];
      break;
    }
  }
  *logprob = static_cast<float>(logits[tok] * inv_t - log_z);
  return tok;
}

void SampleTokens(const torch::Tensor& logits, const std::vector<double>& u, const SamplingConfig& s,
                  std::vector<int>* tokens, std::vector<float>* logprobs) {
  const int64_t n = logits.size(0), V = logits.size(1);
  const torch::Device dev = logits.device();
  const double temp = s.temperature();
  // Log-softmax at the sampling temperature (1 when greedy), as SampleToken.
  const torch::Tensor x = logits.to(torch::kFloat64) * (temp > 0 ? 1.0 / temp : 1.0);
  const torch::Tensor logp = x - x.logsumexp(1, /*keepdim=*/true);
  torch::Tensor tok;
  if (temp == 0) {
    tok = x.argmax(1, /*keepdim=*/true);  // the first of equal maxima
  } else {
    // Candidates in descending probability (equal ones: the lower id first),
    // or every token in id order when nothing is cut.
    const bool truncate = (s.top_k() > 0 && s.top_k() < V) || s.top_p() < 1.0;
    torch::Tensor lsorted = logp, order;
    if (truncate) std::tie(lsorted, order) = logp.sort(/*stable=*/true, /*dim=*/1, /*descending=*/true);
    const torch::Tensor p = lsorted.exp();
    torch::Tensor keep = torch::full({n, 1}, V, torch::TensorOptions().dtype(torch::kLong).device(dev));
    if (s.top_k() > 0) keep = keep.clamp_max(s.top_k());
    // top-p: the candidates up to and including the first whose running mass reaches it.
    if (s.top_p() < 1.0) keep = torch::min(keep, (p.cumsum(1) < s.top_p()).sum(1, /*keepdim=*/true) + 1);
    const torch::Tensor kept = torch::arange(V, keep.options()).unsqueeze(0) < keep;
    const torch::Tensor acc = (p * kept).cumsum(1);
    const torch::Tensor target =
        torch::tensor(u, torch::kFloat64).to(dev).view({n, 1}) * acc.select(1, V - 1).unsqueeze(1);
    // The first kept candidate whose running mass passes u x the kept mass (else the last kept).
    const torch::Tensor pos = torch::min((acc <= target).logical_and(kept).sum(1, /*keepdim=*/true), keep - 1);
    tok = truncate ? order.gather(1, pos) : pos;
  }
  const torch::Tensor back = torch::cat({tok.to(torch::kFloat64), logp.gather(1, tok)}, 1).cpu();
  const auto b = back.accessor<double, 2>();
  tokens->resize(static_cast<size_t>(n));
  logprobs->resize(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    (*tokens)[static_cast<size_t>(i)] = static_cast<int>(b[i][0]);
    (*logprobs)[static_cast<size_t>(i)] = static_cast<float>(b[i][1]);
  }
}

namespace {

bool IsStop(int tok, const std::vector<int>& stops) {
  return std::find(stops.begin(), stops.end(), tok) != stops.end();
}

// Samples a token for every live row from logits [n, V]: on the CPU row by
// row, on a GPU on the device.
void SampleRows(const torch::Tensor& logits_in, const std::vector<int64_t>& row_ids, int64_t step,
                const GenerateOptions& opt, std::vector<int>* toks, std::vector<float>* lps) {
  if (!logits_in.is_cpu()) {
    std::vector<double> u(row_ids.size());
    for (size_t i = 0; i < u.size(); ++i)
      u[i] = CounterUniform(opt.seed, static_cast<uint64_t>(row_ids[i]), static_cast<uint64_t>(step));
    SampleTokens(logits_in, u, opt.sampling, toks, lps);
    return;
  }
  const torch::Tensor logits = logits_in.to(torch::kCPU, torch::kFloat32).contiguous();
  const int64_t n = logits.size(0);
  const int V = static_cast<int>(logits.size(1));
  const float* base = logits.data_ptr<float>();
  toks->resize(n);
  lps->resize(n);
  at::parallel_for(0, n, 16, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      const double u = CounterUniform(opt.seed, static_cast<uint64_t>(row_ids[i]), static_cast<uint64_t>(step));
      (*toks)[i] = SampleToken(base + i * V, V, opt.sampling, u, &(*lps)[i]);
    }
  });
}

std::vector<Generation> GenerateChunk(Transformer& model, const std::vector<std::vector<int>>& prompts,
                                      int64_t first_row, const GenerateOptions& opt, FlopCounter* flops) {
  torch::NoGradGuard no_grad;
  const ModelConfig& cfg = model->config();
  const int64_t B = static_cast<int64_t>(prompts.size());
  int64_t P = 0;
  for (int64_t b = 0; b < B; ++b) {
    const auto& p = prompts[static_cast<size_t>(b)];
    if (p.empty()) throw InputError("empty prompt at row " + std::to_string(first_row + b));
    P = std::max<int64_t>(P, static_cast<int64_t>(p.size()));
  }
  if (P >= cfg.max_seq_len())
    throw InputError("prompt of " + std::to_string(P) + " tokens leaves no room under model.max_seq_len=" +
                     std::to_string(cfg.max_seq_len()));
  const int64_t max_new = std::min<int64_t>(opt.sampling.max_new_tokens(), cfg.max_seq_len() - P);
  const std::vector<int>& stops = opt.stop_tokens.empty() ? model->tokenizer().stops() : opt.stop_tokens;
  const int vocab = model->vocab_size();

  // Left-padded prompt batch; start[b] = padding of row b.
  torch::Tensor tokens = torch::full({B, P}, model->tokenizer().pad(), torch::kLong);
  torch::Tensor start = torch::empty({B}, torch::kLong);
  auto tok_a = tokens.accessor<int64_t, 2>();
  auto start_a = start.accessor<int64_t, 1>();
  double fwd_flops = 0;
  for (int64_t b = 0; b < B; ++b) {
    const int64_t len = static_cast<int64_t>(prompts[b].size());
    start_a[b] = P - len;
    for (int64_t j = 0; j < len; ++j) tok_a[b][P - len + j] = prompts[b][j];
    fwd_flops += ForwardFlopsSequence(cfg, vocab, len);
  }

  std::vector<Generation> out(B);
  // slot -> prompt index in this chunk, or -1 once that row has finished
  // (finished rows keep their slot until the next compaction).
  std::vector<int64_t> slot(B);
  std::iota(slot.begin(), slot.end(), 0);
  std::vector<int64_t> ids(B);
  std::vector<int> toks;
  std::vector<float> lps;

  const PrecisionScope precision(*model);  // one bfloat16 cast of the weights for the whole loop
  KvCache cache;
  torch::Tensor seq;  // no-cache mode: the whole padded sequence so far
  torch::Tensor logits;
  if (opt.use_cache) {
    cache = model->NewCache(B, P + max_new);
    // On a GPU only the last position's logits ([B, V] where [B, P, V] would
    // be gigabytes at a real vocabulary); the CPU keeps the full forward,
    // whose numbers the committed results were made with.
    const bool last = !model->device().is_cpu();
    logits = model->forward(tokens, start, &cache, last).logits.select(1, last ? 0 : P - 1);
  } else {
    seq = tokens;
    logits = model->forward(seq, start).logits.select(1, P - 1);
  }
  for (int64_t step = 0; step < max_new; ++step) {
    const int64_t n = static_cast<int64_t>(slot.size());
    ids.resize(n);
    for (int64_t i = 0; i < n; ++i) ids[i] = first_row + std::max<int64_t>(slot[i], 0);
    SampleRows(logits, ids, step, opt, &toks, &lps);
    int64_t live = 0, dead = 0;
    for (int64_t i = 0; i < n; ++i) {
      if (slot[i] < 0) {
        ++dead;
        continue;
      }
      Generation& g = out[slot[i]];
      g.tokens.push_back(toks[i]);
      g.logprobs.push_back(lps[i]);
      if (!opt.never_stop && IsStop(toks[i], stops)) {
        g.stopped = true;
      } else if (step + 1 == max_new) {
        g.truncated = true;
      } else {
        ++live;
        continue;
      }
      slot[i] = -1;
      ++dead;
    }
    if (live == 0) break;
    torch::Tensor fed = torch::tensor(std::vector<int64_t>(toks.begin(), toks.end()), torch::kLong);
    // Compact once an eighth of the batch is finished (always without a cache).
    if (dead * 8 >= n || !opt.use_cache) {
      std::vector<int64_t> keep, kept_slot;
      for (int64_t i = 0; i < n; ++i)
        if (slot[i] >= 0) {
          keep.push_back(i);
          kept_slot.push_back(slot[i]);
        }
      torch::Tensor keep_t = torch::tensor(keep, torch::kLong);
      fed = fed.index_select(0, keep_t);
      start = start.index_select(0, keep_t);
      if (opt.use_cache) cache.Compact(keep_t);
      else seq = seq.index_select(0, keep_t);
      slot = kept_slot;
    }
    // FLOPs are counted for live rows only: each feeds the token at position
    // P + step and attends to its own prompt plus what it generated.
    for (int64_t s : slot)
      if (s >= 0)
        fwd_flops += ForwardFlopsPerToken(cfg, vocab, static_cast<double>(prompts[s].size() + step + 1));
    if (opt.use_cache) {
      logits = model->DecodeStep(fed, start, cache);
    } else {
      seq = torch::cat({seq, fed.view({-1, 1})}, 1);
      logits = model->forward(seq, start).logits.select(1, seq.size(1) - 1);
    }
  }
  if (flops) flops->Add(FlopPhase::kGenerate, fwd_flops);
  return out;
}

}  // namespace

std::pair<int64_t, int64_t> ShardRows(int64_t rows, int64_t chunk, int rank, int world) {
  const int64_t chunks = (rows + chunk - 1) / chunk;
  return {std::min(rows, chunks * rank / world * chunk), std::min(rows, chunks * (rank + 1) / world * chunk)};
}

std::vector<Generation> Generate(Transformer& model, const std::vector<std::vector<int>>& prompts,
                                 const GenerateOptions& opt, FlopCounter* flops) {
  std::vector<Generation> all;
  all.reserve(prompts.size());
  const size_t bs = static_cast<size_t>(opt.sampling.batch_size());
  for (size_t i = 0; i < prompts.size(); i += bs) {
    std::vector<std::vector<int>> chunk(prompts.begin() + i, prompts.begin() + std::min(prompts.size(), i + bs));
    auto g = GenerateChunk(model, chunk, opt.first_row + static_cast<int64_t>(i), opt, flops);
    for (auto& x : g) all.push_back(std::move(x));
  }
  return all;
}

}  // namespace r1lab

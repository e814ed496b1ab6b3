// Batched sampling with a preallocated KV cache.
//
// Prompts are left-padded into one batch, prefilled in one forward pass, then
// decoded one token per step. Rows that emit a stop token (or run out of
// room) leave the batch: once an eighth of the live rows are done, the batch
// and the cache are compacted, so finished rows stop costing compute.
//
// Sampling is a pure function of (seed, prompt index, step): the same inputs
// give the same tokens whatever the batch size, thread count or compaction.
// Behaviour log-probs are log softmax(logits / temperature) of the sampled
// token, before top-k/top-p truncation (temperature 0 = greedy, log-probs at
// temperature 1).
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "flops.h"
#include "r1lab.pb.h"
#include "transformer.h"

namespace r1lab {

struct GenerateOptions {
  SamplingConfig sampling;
  std::vector<int> stop_tokens;  // empty = the tokenizer's stops()
  uint64_t seed = 0;
  // The number of the first prompt's row: each row's draws are a function of
  // (seed, row, position), so a shard of a batch generated with its offset
  // draws what the whole batch would (data-parallel evaluation).
  int64_t first_row = 0;
  bool use_cache = true;  // false recomputes the whole prefix every step (benchmarks only)
  bool never_stop = false;  // benchmarks: ignore stop tokens, always decode max_new_tokens
};

struct Generation {
  std::vector<int> tokens;      // generated tokens, the stop token included
  std::vector<float> logprobs;  // behaviour log-prob of each generated token
  bool stopped = false;         // ended on a stop token
  bool truncated = false;       // hit max_new_tokens or max_seq_len first
};

// The rows [first, end) of rank `rank` of `world` in a batch of `rows` that
// Generate cuts into chunks of `chunk` (sampling.batch_size) rows: whole
// chunks, so that with GenerateOptions::first_row = first each rank
// generates exactly what one process generates for those rows (a chunk's
// rows share its padding and its token limit, the room its longest prompt
// leaves under max_seq_len). Ranks past the last chunk get none.
std::pair<int64_t, int64_t> ShardRows(int64_t rows, int64_t chunk, int rank, int world);

// One Generation per prompt, in order. Prompts are token ids (BOS included by
// the caller). FLOPs of every forward token go to `flops` (phase kGenerate).
std::vector<Generation> Generate(Transformer& model, const std::vector<std::vector<int>>& prompts,
                                 const GenerateOptions& opt, FlopCounter* flops = nullptr);

// Samples one token from `logits` [V] with temperature, top-k and top-p,
// using uniform number `u` in [0, 1). Returns the token and writes its
// behaviour log-prob. Exposed for tests.
int SampleToken(const float* logits, int vocab, const SamplingConfig& s, double u, float* logprob);

// SampleToken for every row of `logits` [n, V], row i with u[i], as tensor
// operations in double precision on the logits' device: Generate's sampler
// when the model is on a GPU, so that only the n tokens and log-probs come
// back to the host each step (the stop check's one copy). It runs on any
// device; tests run it on the CPU against SampleToken.
void SampleTokens(const torch::Tensor& logits, const std::vector<double>& u, const SamplingConfig& s,
                  std::vector<int>* tokens, std::vector<float>* logprobs);

}  // namespace r1lab

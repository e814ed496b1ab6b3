// Token batches and the cross-entropy step every supervised phase shares:
// SFT and distillation, RFT, the MCTS arm's fine-tuning on searched lines.
#pragma once

#include <torch/torch.h>

#include <string>
#include <utility>
#include <vector>

#include "dist.h"
#include "flops.h"
#include "r1lab.pb.h"
#include "rng.h"
#include "transformer.h"

namespace r1lab {

// A right-padded batch of <bos> prompt completion <eos> sequences.
struct TokenBatch {
  torch::Tensor tokens;     // [B, T] int64, <pad> after each row's end
  torch::Tensor loss_mask;  // [B, T-1] float: 1 where tokens[:, t+1] is a completion token
  std::vector<int64_t> lengths;
  // Optional [B, T-1, V] float: at each masked position a distribution over
  // the next token to learn instead of tokens[:, t+1] (soft targets, e.g.
  // MCTS visit counts).
  torch::Tensor targets;
};
// From token ids: <bos> is part of each prompt; completions are used as given.
TokenBatch BatchFromIds(const std::vector<std::vector<int>>& prompts,
                        const std::vector<std::vector<int>>& completions);
// From text, in `tok`'s ids: <bos> + prompt, completion + <eos>. InputError
// if a sequence exceeds max_seq_len.
TokenBatch MakeTokenBatch(const std::vector<std::pair<std::string, std::string>>& prompt_completion,
                          const Tokenizer& tok, int max_seq_len);

// Mean token cross-entropy of `model` on `b` (the loss mask's tokens, or
// b.targets' distributions at those positions), a tensor to backpropagate
// (the caller sets training mode); the batch's forward FLOPs in
// *forward_flops. A positive `loss_tokens` divides the sum instead of b's
// own count of loss tokens (a rank's rows of a larger batch).
torch::Tensor CrossEntropyLoss(Transformer& model, const TokenBatch& b, double* forward_flops, double loss_tokens = 0);

// One optimizer step of mean token cross-entropy (the loss mask's tokens,
// or b.targets' distributions at those positions) on `b` at learning rate `lr`; training FLOPs go to `flops` (kTrain).
// Returns the loss. With `dp` (data-parallel ranks, train/data_parallel.h)
// `b` is this rank's rows (possibly none) of a batch with `loss_tokens`
// loss tokens in all: the gradients and the loss are summed over the ranks
// before clipping, so every rank takes the step one process takes on the
// whole batch and returns its loss.
double CrossEntropyStep(Transformer& model, torch::optim::Optimizer& opt, const TokenBatch& b, double lr,
                        double grad_clip, FlopCounter* flops, Dist* dp = nullptr, double loss_tokens = 0);

// Rows [first, first + n) of `b`.
TokenBatch BatchRows(const TokenBatch& b, int64_t first, int64_t n);

// One process's CrossEntropyStep on `whole`, shared by `dp`'s ranks (null:
// this process alone): each rank trains rows [B r / W, B (r + 1) / W) of
// the B (possibly none), the loss divides by the whole batch's loss tokens,
// and every rank returns the whole batch's loss and adds its training FLOPs
// (summed over the ranks) to `flops`.
double SharedCrossEntropyStep(Transformer& model, torch::optim::Optimizer& opt, const TokenBatch& whole, double lr,
                              double grad_clip, FlopCounter* flops, Dist* dp);

// Fine-tuning on a fixed set of (prompt, completion) pairs: `steps` steps of
// CrossEntropyStep on `batch_size` pairs drawn with replacement by `rng`,
// the learning rate at step first_step + s of total_steps following `optim`.
// Returns the last step's loss; adds the trained tokens to *tokens.
// RFT and the MCTS arm's fine-tuning on searched lines use it. With `dp`
// (every rank with the same data and `rng`) each step is one process's step
// on the same batch, split by rows as an SFT step (rl/sft.h); `flops` and
// *tokens get the whole batches' counts on every rank.
double SupervisedSteps(Transformer& model, torch::optim::Optimizer& opt,
                       const std::vector<std::pair<std::string, std::string>>& data, int steps, int batch_size,
                       const OptimConfig& optim, int64_t first_step, int64_t total_steps, Rng& rng,
                       FlopCounter* flops, int64_t* tokens, Dist* dp = nullptr);

}  // namespace r1lab

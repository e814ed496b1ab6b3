// Process and outcome reward models: a separate transformer with the PRM
// head, trained with binary cross-entropy on the logit at each step's last
// token (soft or hard targets), and scored the same way. An ORM is the same
// thing with one step, the whole completion, and the outcome as target.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "flops.h"
#include "r1lab.pb.h"
#include "steps.h"
#include "transformer.h"

namespace r1lab {

class Dist;

struct PrmExample {
  std::string prompt, completion;  // completion: decoded text, specials by name
  std::vector<Segment> steps;      // train/steps.h SegmentSteps
  std::vector<double> targets;     // per step: probability the step is good (training only)
};

// Index, in `tokens` (a completion's ids), of the token holding each step's
// last character: decoding token by token maps characters back exactly,
// whatever the text (a step never has to be re-encoded on its own).
// InputError if a step ends past the tokens.
std::vector<int> StepEndTokenIndex(const Tokenizer& tok, const std::vector<int>& tokens, const std::vector<Segment>& steps);

// Position of each step's last token in the row <bos> + prompt + completion.
std::vector<int64_t> StepEndPositions(const Tokenizer& tok, const std::string& prompt, const std::string& completion,
                                      const std::vector<Segment>& steps);

// An ORM example: one step spanning the completion, target 1 if correct.
PrmExample OutcomeExample(const std::string& prompt, const std::string& completion, bool correct);

// The mean BCE of `model`'s PRM head on the batch's step targets, a tensor
// to backpropagate (the caller sets training mode); the batch's forward
// FLOPs in *forward_flops. InputError if an example's targets and steps
// differ in number.
torch::Tensor PrmLoss(Transformer& model, const std::vector<PrmExample>& batch, double* forward_flops);

// A labelled preference between two responses to one prompt: ORM examples
// (one step spanning each completion; targets unused).
struct PreferencePair {
  PrmExample chosen, rejected;
};

// Bradley-Terry on the PRM head's logit at each completion's last token: the
// mean of -log sigmoid(logit(chosen) - logit(rejected)), a tensor to
// backpropagate; the forward FLOPs of both responses in *forward_flops.
torch::Tensor PreferenceLoss(Transformer& model, const std::vector<PreferencePair>& batch, double* forward_flops);

class PrmTrainer {
 public:
  // `model` needs prm_head. The learning rate follows `optim` over
  // `total_steps`. head_only: only the PRM head learns (the trunk is frozen
  // during each step, e.g. when it is a policy's).
  PrmTrainer(Transformer model, const OptimConfig& optim, int64_t total_steps, bool head_only = false);
  // Data-parallel steps over `d`'s ranks (not owned; null: this process
  // alone): every rank passes the same whole batch and takes its rows of it
  // (RankRows), each loss divides by the whole batch's count (steps, or
  // pairs), and the gradients, the loss and the FLOPs are summed over the
  // ranks before clipping: one process's step, on every rank.
  void set_data_parallel(Dist* d) { dp_ = d; }
  // One AdamW step on the batch; returns its mean BCE. FLOPs to kTrain.
  double Step(const std::vector<PrmExample>& batch, FlopCounter* flops = nullptr);
  // One AdamW step on preference pairs; returns their mean PreferenceLoss.
  double Step(const std::vector<PreferencePair>& batch, FlopCounter* flops = nullptr);

 private:
  // One AdamW step on `loss(&forward_flops)` (null: this rank has no rows).
  double Apply(const std::function<torch::Tensor(double*)>& loss, FlopCounter* flops);

  Transformer model_;
  OptimConfig optim_;
  int64_t total_, step_ = 0;
  std::vector<torch::Tensor> params_;  // what learns
  std::vector<torch::Tensor> frozen_;  // the rest, head only: frozen during each step
  torch::optim::AdamW opt_;
  Dist* dp_ = nullptr;
};

// Probability each step is good: sigmoid of the PRM logit at its last token.
// Batched; FLOPs to `phase`.
std::vector<std::vector<double>> ScoreSteps(Transformer& prm, const std::vector<PrmExample>& items,
                                            FlopCounter* flops = nullptr, FlopPhase phase = FlopPhase::kScore);

}  // namespace r1lab

// Supervised fine-tuning on teacher traces: the base model's "pretraining"
// and the SFT/distillation strategy.
//
// Each step draws batch_size training problems, has the teacher write a
// trace for each, and minimises the mean cross-entropy of the completion
// tokens (<think>...</answer><eos>) given <bos> + prompt. AdamW, linear
// warmup then cosine decay, gradient clipping.
#pragma once

#include <torch/torch.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "flops.h"
#include "io.h"
#include "r1lab.pb.h"
#include "rng.h"
#include "task.h"
#include "optim.h"
#include "token_batch.h"
#include "transformer.h"

namespace r1lab {

class SftTrainer {
 public:
  SftTrainer(Transformer& model, const Task& task, const SftConfig& cfg, const TeacherConfig& teacher,
             uint64_t seed, FlopCounter* flops);
  // One optimizer step on a fresh batch; returns the mean token loss.
  double Step();
  // The same at the given step of the schedule (a resumed run's loop step).
  double Step(int64_t step);
  TokenBatch NextBatch();
  // Shares each step over data-parallel ranks (train/data_parallel.h; null:
  // none). Every rank draws the whole batch from the same stream, as one
  // process does, and trains on its rows of it (rank r of W: rows
  // [B r / W, B (r + 1) / W)); the gradients, the loss, FLOPs and trained
  // tokens are summed over the ranks. So the ranks take one process's steps
  // on one process's batches, up to the order of the gradients' sums.
  void set_data_parallel(Dist* d) { dp_ = d; }

  int64_t step() const { return step_; }
  double lr() const { return lr_; }
  int64_t tokens_trained() const { return tokens_trained_; }
  int64_t* mutable_tokens_trained() { return &tokens_trained_; }
  torch::optim::AdamW& optimizer() { return optimizer_; }
  Rng& rng() { return rng_; }

 private:
  Transformer& model_;
  const Task& task_;
  SftConfig cfg_;
  TeacherConfig teacher_;
  Rng rng_;
  FlopCounter* flops_;
  torch::optim::AdamW optimizer_;
  int64_t step_ = 0;
  int64_t tokens_trained_ = 0;
  double lr_ = 0;
  Dist* dp_ = nullptr;
};

// A whole SFT run with logging, periodic evaluation, checkpoints and resume.
struct SftRun {
  SftConfig cfg;
  TeacherConfig teacher;
  uint64_t seed = 0;
  double flop_budget = 0;          // stop once flops->Total() reaches it (0 = steps only)
  std::string checkpoint_path;     // resume from it if present; rewritten at each eval point
  int checkpoint_every = 0;        // also rewrite it every this many steps (0 = eval points only)
  JsonlWriter* metrics = nullptr;  // training lines and eval points
  int eval_every = 0;              // 0 = no periodic eval
  std::function<EvalRecord(int64_t step)> eval;  // the eval point's record
  std::string label = "sft";
  // Data-parallel ranks sharing the run's steps (SftTrainer::set_data_parallel);
  // those other than 0 resume from the checkpoint but never write it.
  Dist* data_parallel = nullptr;
  bool read_only_checkpoint = false;
};
// Returns the number of steps run in total (including resumed ones).
int64_t RunSft(Transformer& model, const Task& task, const SftRun& run, FlopCounter* flops);

}  // namespace r1lab

// Checkpoints: model parameters, optional optimizer state, RNG state, step
// and the model config, and any further models a run trains beside its
// policy (a critic, a reference, a reward model), all in one file written
// atomically: a kill at any moment leaves the previous checkpoint or the
// new one, never a policy of one step with a critic of another.
//
// File layout: a text header line "r1lab-checkpoint 1 <fnv64 of payload>"
// followed by a LibTorch archive. Loading checks the header, the checksum,
// the vocabulary and the model config, and fails loudly (IoError for a
// missing or corrupt file, ConfigError for a config mismatch, naming the
// differing fields).
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

#include "r1lab.pb.h"
#include "transformer.h"

namespace r1lab {

struct CheckpointMeta {
  int64_t step = 0;
  std::string rng_state;  // Rng::State() of the run that wrote it
  std::string extra;      // free-form text the writer wants back (e.g. JSON)
  std::string state;      // a strategy's own state (e.g. a replay buffer); empty if none
};

// A further model stored in the same checkpoint, by name.
struct CheckpointPart {
  std::string name;                               // e.g. "critic"
  Transformer* model = nullptr;
  torch::optim::Optimizer* optimizer = nullptr;  // may be null
};

void SaveCheckpoint(const std::string& path, Transformer& model, torch::optim::Optimizer* optimizer,
                    const CheckpointMeta& meta, const std::vector<CheckpointPart>& parts = {});

// Loads into `model` (built from the caller's config; must match the stored
// one) and, if given and stored, into `optimizer`; then each part, which the
// file must hold (IoError naming it if not).
CheckpointMeta LoadCheckpoint(const std::string& path, Transformer& model, torch::optim::Optimizer* optimizer,
                              const std::vector<CheckpointPart>& parts = {});

// The model config stored in a checkpoint, for commands given only a path.
ModelConfig ReadCheckpointConfig(const std::string& path);
// Step, RNG state and extra, without loading parameters.
CheckpointMeta ReadCheckpointMeta(const std::string& path);

// fnv64 of what a run starting from the checkpoint loads: the policy's
// stored config and its tensors (name, dtype, shape, bytes), not the
// optimizer state (LibTorch keys it by the parameters' addresses, which
// differ from process to process), further parts or the meta (the wall time).
// Two identical runs give the same value, so a stage that starts from an
// earlier one is kept when that one is deleted and rerun.
std::string CheckpointWeightsHash(const std::string& path);

}  // namespace r1lab

// `r1lab tune`: equal tuning for every arm of an experiment, scored on the
// validation split (proto/r1lab.proto TuneConfig, TuneRecord).
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "r1lab.pb.h"
#include "runner.h"

namespace r1lab {

// Runs the pretraining trials (tune.pretrain; bases in <name>-tune/pretrain/)
// then, from the chosen base, every arm's trials (arms "<arm>-t<k>" of the
// experiment "<name>-tune", in the output folder, resumable like any run)
// and returns what was tried and chosen. `cfg` is the experiment as loaded without
// its tuning (LoadExperiment with tuned = false). In a size sweep,
// `sizes_tuned` holds the sizes tuned before (by name): an arm that distils
// another size (rft.teacher_size) distils that size's chosen trial, from
// its tuning folder beside this one.
TuneRecord Tune(const ExperimentConfig& cfg, const RunnerOptions& opt,
                const std::map<std::string, TuneRecord>& sizes_tuned = {});

// Whether `record` (a tuned file) is what Tune would compute for `cfg` now:
// the same pretraining space and points, arms, identities, spaces, trial
// points, budget scale, seed, base seed and validation problems. A size sweep's tune keeps a current size.
bool TuningIsCurrent(const ExperimentConfig& cfg, const TuneRecord& record);

// Runs only the chosen trials of `arms` (by name) into cfg's tuning folder,
// as Tune would have run them (the same identities, so a finished one is
// skipped): what another size distils from when this size's tuning is kept.
void RunChosenTrials(const ExperimentConfig& cfg, const RunnerOptions& opt, const TuneRecord& record,
                     const std::set<std::string>& arms);

// An arm's grid trials as arms "<arm>-t<k>": trial 0 the arm as configured,
// then distinct points of its search space (the experiment's tune.spaces,
// else its strategy's), tune.trials in all (fewer for a smaller grid; the
// edge trials come after), each at tune.budget_scale times its flop_budget
// and steps. `record`, if given, gets the space and each trial's values.
// ConfigError when a space path is not a number field of the arm's strategy.
std::vector<Arm> TrialArms(const ExperimentConfig& cfg, const Arm& arm, TuneRecord::TunedArm* record = nullptr);

// tune.edge_trials: appends to `t` (an arm's space and its trials so far,
// scored) the next trial, as proto/r1lab.proto's TuneConfig.edge_trials
// says: the best trial so far with one value moved past its grid's end,
// else the next untried grid point; the space's values grow by the value
// moved to.
// False when nothing is left to try.
bool NextEdgeTrial(const ExperimentConfig& cfg, const Arm& arm, TuneRecord::TunedArm* t);

// What a tuning was made for (TuneRecord.TunedArm.identity): a hash of the
// task, model, pretraining and arm by the fields that differ from their
// defaults, so writing a default out, or a proto field added later, keeps it.
std::string TunedArmIdentity(const ExperimentConfig& cfg, const Arm& arm);

// What a pretraining tuning was made for (TuneRecord.TunedPretrain.identity):
// a hash of the task, model and pretraining as configured.
std::string TunedBaseIdentity(const ExperimentConfig& cfg);

// cfg with the pretraining values `record` chose (tune.pretrain); cfg
// itself when the record tuned no pretraining. ConfigError naming `source`
// on a malformed record.
ExperimentConfig WithTunedPretraining(const ExperimentConfig& cfg, const TuneRecord& record, const std::string& source);

// Where an experiment file's tuning lives: "a/b.pbtxt" -> "a/b.tuned.pbtxt".
std::string TunedPath(const std::string& experiment_path);
// A size sweep's tuning of one size (ExperimentConfig.sizes): <file>.<size>.tuned.pbtxt.
std::string TunedPath(const std::string& experiment_path, const std::string& size);

// Sets the chosen pretraining (after checking it was tuned for this task,
// model and pretraining), each tuned arm's chosen values and cfg->tuned. ConfigError naming
// `source` when an arm of the record is not in the experiment or was tuned
// as another config (its task, model, pretraining or arm changed since).
// `as_tuned`: the experiment as the tuning saw it (without --set overrides),
// for that check; null: *cfg itself.
void ApplyTuning(const TuneRecord& record, const std::string& source, ExperimentConfig* cfg,
                 const ExperimentConfig* as_tuned = nullptr);

// summary.md's tuning section ("" for an untuned experiment).
std::string TuningSection(const ExperimentConfig& cfg);

}  // namespace r1lab

// Config loading, validation and resolution for the messages in
// proto/r1lab.proto.
//
// Text format only. Every error is a ConfigError whose message names the
// source (file), the field path (e.g. "arms[1].sft.optim.lr") and what was
// expected. Unknown fields, bad enum names and out-of-range values are errors;
// nothing is clamped.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include <google/protobuf/message.h>

#include "r1lab.pb.h"
#include "text.h"  // HexHash, Fnv64

namespace r1lab {

// Parses protobuf text into *msg (cleared first). `source` names the input in errors.
void ParseConfigText(const std::string& text, const std::string& source,
                     google::protobuf::Message* msg);
// Reads and parses a .pbtxt file; a missing file is a ConfigError naming it.
void LoadConfigFile(const std::string& path, google::protobuf::Message* msg);
// LoadConfigFile, then ValidateConfig naming the file: for a config r1lab
// wrote (a run folder's resolved config.pbtxt), read back.
void LoadValidConfigFile(const std::string& path, google::protobuf::Message* msg);

// Checks every numeric field, set or defaulted, against its (min)/(max)/(gt)
// options, then the cross-field rules of known messages (n_heads divides
// d_model, min_ops <= max_ops, arm names unique, ...).
void ValidateConfig(const google::protobuf::Message& msg, const std::string& source);

// Applies one "path.to.field=value" override (the CLI's --set) to *msg:
// path elements are field names, name[i] for the i-th element of a repeated
// message, name[x] for the element whose `name` is x (arms[grpo]); the value
// is protobuf text for that field ("1e-4", "PRM", "[1, 2]", "{ lr: 1e-3 }")
// and replaces it. ConfigError naming `source` and the path otherwise.
void ApplyOverride(const std::string& assignment, const std::string& source, google::protobuf::Message* msg);

// Cross-field rules of one strategy's arm config, registered by the strategy
// itself (train/strategy.h R1LAB_REGISTER_STRATEGY) and run by ValidateConfig
// on every arm of that kind. `path` is the arm's ("arms[2]"); `source` the file.
using ArmCheck = std::function<void(const Arm& arm, const ExperimentConfig& experiment, const std::string& path,
                                    const std::string& source)>;
void RegisterArmCheck(Arm::StrategyCase which, ArmCheck check);
// Throws the ConfigError every check uses: "<source>: <path>: <what>".
[[noreturn]] void ConfigFail(const std::string& source, const std::string& path, const std::string& what);

// Writes every default explicitly, recursing into sub-messages (but never
// switching a oneof), so the text form is the complete resolved config.
void ResolveDefaults(google::protobuf::Message* msg);

// Applies ExperimentConfig.arm_defaults to every arm (before defaults are
// resolved, so an arm's unset field takes the shared value, not the .proto's),
// then clears arm_defaults: the resolved config lists every arm in full.
void ApplyArmDefaults(ExperimentConfig* cfg);

std::string ConfigToText(const google::protobuf::Message& msg);
// Stable 64-bit hash (FNV-1a) of the message's text form with default-valued
// fields left out: the same effective config gives the same hash, and a new
// .proto field whose default keeps the old behaviour changes no hash (so
// cached bases survive it).
// Set sub-messages left empty count as unset too (a new message field,
// filled with its defaults by resolution, changes no hash either).
uint64_t ConfigHash(const google::protobuf::Message& msg);

// The earlier arms a pipeline stage depends on, as (field, arm name) for the
// fields set: "init_from" (it starts from that arm's final checkpoint) and
// "rft.teacher_arm" (it distils that arm's samples).
std::vector<std::pair<std::string, std::string>> ArmDependencies(const Arm& arm);
// Whether the arm distils teacher_arm's run at another size of its sweep
// (rft.teacher_size other than `experiment`, the size's own name): that
// dependency is not in the experiment's folder.
bool CrossSizeTeacher(const Arm& arm, const std::string& experiment);
// Replaces each dependency's arm name by rename(name) (a budget point's or a
// tuning trial's arm).
void RenameDependencies(Arm* arm, const std::function<std::string(const std::string&)>& rename);

// A numeric or bool field's value as a double (element `index` if repeated;
// bool as 0 or 1); 0 for any other type.
double NumericValue(const google::protobuf::Message& m, const google::protobuf::FieldDescriptor* f, int index = 0);

// The task's teacher, overridden by an SFT run's own teacher when it sets one.
TeacherConfig EffectiveTeacher(const TaskConfig& task, const SftConfig& sft);

}  // namespace r1lab

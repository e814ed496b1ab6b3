// Records (proto/r1lab.proto: EvalRecord, DoneRecord, ...) as JSON, through
// protobuf's own JSON support: declared once, written and read the same way.
#pragma once

#include <string>

#include <google/protobuf/message.h>

namespace r1lab {

// One line of JSON, field names as in the .proto, every set field printed.
std::string RecordToJson(const google::protobuf::Message& record);
// Parses `json` into *record (cleared first); members the record does not
// declare are ignored (a metrics line carries more than its eval point).
// InputError naming `source` if it is not JSON of that shape.
void RecordFromJson(const std::string& json, const std::string& source, google::protobuf::Message* record);

class EvalRecord;  // proto/r1lab.proto
class DoneRecord;

// An eval.json and a done.json as reports read them: parsed, then checked,
// since a report adds up what they hold. An eval record needs its problems
// and samples per problem (at least 1), pass@1, maj, pass@k, format rate and
// mean length; every number must be finite, a share within [0, 1]. A done
// record needs its FLOPs, and a run's (not a base evaluation's) its wall
// time; every number must be finite and not negative. InputError naming the
// file and the member otherwise.
void CheckEvalRecord(const EvalRecord& e, const std::string& source);
void CheckDoneRecord(const DoneRecord& d, const std::string& source, bool run);
EvalRecord ReadEvalJson(const std::string& path);
DoneRecord ReadDoneJson(const std::string& path, bool run);

}  // namespace r1lab

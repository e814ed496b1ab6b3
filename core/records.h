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

}  // namespace r1lab

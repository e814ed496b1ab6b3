#include "records.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/type_resolver_util.h>

#include <cmath>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "error.h"
#include "io.h"
#include "json.h"
#include "r1lab.pb.h"

namespace r1lab {

namespace pbu = google::protobuf::util;

// Through deterministic binary serialisation, so map entries (pass_at) come
// out sorted by key: MessageToJsonString writes them in hash order, which
// differs from process to process, and two runs of one config must write the
// same bytes.
std::string RecordToJson(const google::protobuf::Message& record) {
  std::string binary;
  {
    google::protobuf::io::StringOutputStream sos(&binary);
    google::protobuf::io::CodedOutputStream cos(&sos);
    cos.SetSerializationDeterministic(true);
    record.SerializeToCodedStream(&cos);
  }
  static const std::unique_ptr<pbu::TypeResolver> resolver(pbu::NewTypeResolverForDescriptorPool(
      "type.googleapis.com", google::protobuf::DescriptorPool::generated_pool()));
  pbu::JsonPrintOptions opt;
  opt.preserve_proto_field_names = true;
  std::string out;
  const auto status = pbu::BinaryToJsonString(
      resolver.get(), "type.googleapis.com/" + record.GetDescriptor()->full_name(), binary, &out, opt);
  if (!status.ok()) throw InternalError("RecordToJson: " + std::string(status.message()));
  return out;
}

namespace {

// Protobuf's JSON parser takes a string for a bool field ("correct": "yes"
// reads as true). A record's yes-or-no fields are JSON's true or false (or
// null), checked member by member down the nested records.
void CheckBools(const JsonValue& v, const google::protobuf::Descriptor* d, const std::string& source,
                const std::string& at) {
  if (v.kind() != JsonValue::kObject) return;  // protobuf has judged its shape
  for (const auto& [key, member] : v.members()) {
    const google::protobuf::FieldDescriptor* f = d->FindFieldByName(key);
    for (int i = 0; !f && i < d->field_count(); ++i)
      if (d->field(i)->json_name() == key) f = d->field(i);
    if (!f) continue;  // unknown: ignored
    const std::string where = at.empty() ? key : at + "." + key;
    if (f->is_map()) {
      const google::protobuf::FieldDescriptor* value = f->message_type()->map_value();
      if (member.kind() == JsonValue::kObject)
        for (const auto& [k, item] : member.members()) {
          if (value->type() == google::protobuf::FieldDescriptor::TYPE_MESSAGE)
            CheckBools(item, value->message_type(), source, where + "." + k);
          else if (value->type() == google::protobuf::FieldDescriptor::TYPE_BOOL && item.kind() != JsonValue::kBool &&
                   !item.is_null())
            throw InputError(source + ": " + where + "." + k + ": expected true or false");
        }
      continue;
    }
    std::vector<const JsonValue*> items;
    if (f->is_repeated() && member.kind() == JsonValue::kArray)
      for (const JsonValue& item : member.array()) items.push_back(&item);
    else
      items.push_back(&member);
    for (const JsonValue* item : items) {
      if (f->type() == google::protobuf::FieldDescriptor::TYPE_MESSAGE)
        CheckBools(*item, f->message_type(), source, where);
      else if (f->type() == google::protobuf::FieldDescriptor::TYPE_BOOL && item->kind() != JsonValue::kBool &&
               !item->is_null())
        throw InputError(source + ": " + where + ": expected true or false");
    }
  }
}

}  // namespace

void RecordFromJson(const std::string& json, const std::string& source, google::protobuf::Message* record) {
  record->Clear();
  pbu::JsonParseOptions opt;
  opt.ignore_unknown_fields = true;
  const auto status = pbu::JsonStringToMessage(json, record, opt);
  if (!status.ok())
    throw InputError(source + ": not a " + record->GetDescriptor()->name() + " record (" +
                     std::string(status.message()) + ")");
  CheckBools(JsonValue::Parse(json), record->GetDescriptor(), source, "");
}

namespace {

// What a number of an eval record may be: a share of samples or problems, a
// difference of two shares, or a count or size (tokens, FLOPs, seconds).
enum class Range { kShare, kSignedShare, kNonNegative };

Range EvalRange(const std::string& field) {
  static const std::set<std::string> sizes = {"mean_length", "reflect_per_1k", "wait_per_1k", "steps_mean",
                                             "flops", "seconds", "length_reflective", "length_plain"};
  if (field == "reflective_gain_within_problem") return Range::kSignedShare;
  return sizes.count(field) ? Range::kNonNegative : Range::kShare;
}

void CheckNumber(double v, Range range, const std::string& source, const std::string& member) {
  const char* expected = range == Range::kShare         ? "a share within [0, 1]"
                         : range == Range::kSignedShare ? "a difference of shares within [-1, 1]"
                                                        : "a finite number, not negative";
  const bool ok = std::isfinite(v) && (range == Range::kShare         ? v >= 0 && v <= 1
                                       : range == Range::kSignedShare ? v >= -1 && v <= 1
                                                                      : v >= 0);
  if (!ok) throw InputError(source + ": " + member + " is " + PrintedNumber(v) + "; expected " + expected);
}

// Every double member of `m` (nested messages' too, under `prefix`), checked
// by `range_of` its name; repeated and map members element by element.
template <typename RangeOf>
void CheckDoubles(const google::protobuf::Message& m, const std::string& prefix, const std::string& source,
                  const RangeOf& range_of) {
  using google::protobuf::FieldDescriptor;
  const auto* d = m.GetDescriptor();
  const auto* refl = m.GetReflection();
  for (int i = 0; i < d->field_count(); ++i) {
    const FieldDescriptor* f = d->field(i);
    const std::string name = prefix + f->name();
    if (f->is_map()) {  // pass_at: k -> pass@k
      for (int k = 0; k < refl->FieldSize(m, f); ++k) {
        const auto& entry = refl->GetRepeatedMessage(m, f, k);
        const auto* value = entry.GetDescriptor()->FindFieldByName("value");
        const auto* key = entry.GetDescriptor()->FindFieldByName("key");
        if (value->cpp_type() != FieldDescriptor::CPPTYPE_DOUBLE) continue;
        CheckNumber(entry.GetReflection()->GetDouble(entry, value), range_of(f->name()), source,
                    name + "[" + std::to_string(entry.GetReflection()->GetInt32(entry, key)) + "]");
      }
    } else if (f->is_repeated()) {
      if (f->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE) continue;
      for (int k = 0; k < refl->FieldSize(m, f); ++k)
        CheckDoubles(refl->GetRepeatedMessage(m, f, k), name + "[" + std::to_string(k) + "].", source, range_of);
    } else if (refl->HasField(m, f)) {
      if (f->cpp_type() == FieldDescriptor::CPPTYPE_DOUBLE)
        CheckNumber(refl->GetDouble(m, f), range_of(f->name()), source, name);
      else if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE)
        CheckDoubles(refl->GetMessage(m, f), name + ".", source, range_of);
    }
  }
}

void Require(bool present, const std::string& source, const std::string& member, const std::string& what) {
  if (!present) throw InputError(source + ": no " + member + "; expected " + what);
}

}  // namespace

void CheckEvalRecord(const EvalRecord& e, const std::string& source) {
  Require(e.has_problems() && e.problems() >= 1, source, "problems",
          "the number of problems evaluated, at least 1");
  Require(e.has_samples_per_problem() && e.samples_per_problem() >= 1, source, "samples_per_problem",
          "the samples drawn per problem, at least 1");
  Require(e.has_pass1(), source, "pass1", "held-out pass@1, a share within [0, 1]");
  Require(e.has_maj(), source, "maj", "maj@n, a share within [0, 1]");
  Require(e.pass_at_size() > 0, source, "pass_at", "pass@k by k");
  Require(e.has_format_rate(), source, "format_rate", "a share within [0, 1]");
  Require(e.has_mean_length(), source, "mean_length", "the mean tokens of a response");
  for (const LevelRecord& l : e.by_level())
    if (l.problems() < 0) throw InputError(source + ": by_level problems is negative; expected a count");
  CheckDoubles(e, "", source, [](const std::string& field) { return EvalRange(field); });
}

void CheckDoneRecord(const DoneRecord& d, const std::string& source, bool run) {
  Require(d.has_flops(), source, "flops", run ? "the run's FLOPs" : "the base's pretraining FLOPs");
  if (run) Require(d.has_wall_s(), source, "wall_s", "the run's wall time in seconds");
  if (d.oracle_calls() < 0) throw InputError(source + ": oracle_calls is negative; expected a count");
  CheckDoubles(d, "", source, [](const std::string&) { return Range::kNonNegative; });
}

EvalRecord ReadEvalJson(const std::string& path) {
  EvalRecord e;
  RecordFromJson(ReadFile(path), path, &e);
  CheckEvalRecord(e, path);
  return e;
}

DoneRecord ReadDoneJson(const std::string& path, bool run) {
  DoneRecord d;
  RecordFromJson(ReadFile(path), path, &d);
  CheckDoneRecord(d, path, run);
  return d;
}

}  // namespace r1lab

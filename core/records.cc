#include "records.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/type_resolver_util.h>

#include <memory>

#include "error.h"

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

void RecordFromJson(const std::string& json, const std::string& source, google::protobuf::Message* record) {
  record->Clear();
  pbu::JsonParseOptions opt;
  opt.ignore_unknown_fields = true;
  const auto status = pbu::JsonStringToMessage(json, record, opt);
  if (!status.ok())
    throw InputError(source + ": not a " + record->GetDescriptor()->name() + " record (" +
                     std::string(status.message()) + ")");
}

}  // namespace r1lab

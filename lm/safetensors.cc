#include "safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <nlohmann/json.hpp>

#include "error.h"
#include "io.h"

namespace r1lab {

namespace {

using nlohmann::json;

struct Mapping {
  void* data = MAP_FAILED;
  size_t size = 0;
  ~Mapping() {
    if (data != MAP_FAILED) munmap(data, size);
  }
};

struct DtypeInfo {
  const char* name;
  torch::Dtype dtype;
  size_t bytes;
};

constexpr DtypeInfo kDtypes[] = {
    {"F64", torch::kFloat64, 8}, {"F32", torch::kFloat32, 4}, {"F16", torch::kFloat16, 2},
    {"BF16", torch::kBFloat16, 2}, {"I64", torch::kInt64, 8}, {"I32", torch::kInt32, 4},
    {"I16", torch::kInt16, 2},   {"I8", torch::kInt8, 1},     {"U8", torch::kUInt8, 1},
    {"BOOL", torch::kBool, 1},
};

const DtypeInfo* FindDtype(const std::string& name) {
  for (const DtypeInfo& d : kDtypes)
    if (name == d.name) return &d;
  return nullptr;
}

const DtypeInfo& InfoOf(torch::Dtype dtype, const std::string& tensor) {
  for (const DtypeInfo& d : kDtypes)
    if (d.dtype == dtype) return d;
  throw InputError("safetensors: tensor '" + tensor + "' has dtype " + std::string(c10::toString(dtype)) +
                   ", which safetensors has no name for here");
}

}  // namespace

std::map<std::string, torch::Tensor> LoadSafetensors(const std::string& path) {
  auto fail = [&](const std::string& what) -> IoError { return IoError(path + ": " + what); };
  const int fd = open(path.c_str(), O_RDONLY);
  if (fd < 0) throw fail(std::string("cannot open: ") + std::strerror(errno));
  struct stat st {};
  if (fstat(fd, &st) != 0) {
    close(fd);
    throw fail("cannot stat");
  }
  auto map = std::make_shared<Mapping>();
  map->size = static_cast<size_t>(st.st_size);
  if (map->size < 8) {
    close(fd);
    throw fail("not a safetensors file (" + std::to_string(map->size) + " bytes; expected an 8-byte header length first)");
  }
  // Private and writable: a tensor changed in place copies its page, never the file.
  map->data = mmap(nullptr, map->size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  close(fd);
  if (map->data == MAP_FAILED) throw fail(std::string("cannot map: ") + std::strerror(errno));
  const auto* bytes = static_cast<const unsigned char*>(map->data);
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | bytes[i];
  if (n > map->size - 8)
    throw fail("header length " + std::to_string(n) + " runs past the end of the file (" + std::to_string(map->size) + " bytes)");
  json header;
  try {
    header = json::parse(bytes + 8, bytes + 8 + n);
  } catch (const json::exception& e) {
    throw fail(std::string("header is not JSON: ") + e.what());
  }
  if (!header.is_object()) throw fail("header is not a JSON object");
  const size_t data_start = 8 + n, data_size = map->size - data_start;
  std::map<std::string, torch::Tensor> out;
  struct Span {
    uint64_t begin, end;
    std::string name;
  };
  std::vector<Span> spans;  // each tensor's bytes: the format forbids two tensors sharing any
  for (const auto& [name, e] : header.items()) {
    if (name == "__metadata__") continue;
    const std::string where = "tensor '" + name + "'";
    if (!e.is_object() || !e.contains("dtype") || !e["dtype"].is_string() || !e.contains("shape") ||
        !e["shape"].is_array() || !e.contains("data_offsets") || !e["data_offsets"].is_array() ||
        e["data_offsets"].size() != 2)
      throw fail(where + ": expected {dtype, shape, data_offsets: [begin, end]}");
    const std::string dtype = e["dtype"].get<std::string>();
    const DtypeInfo* info = FindDtype(dtype);
    if (!info)
      throw InputError(path + ": " + where + ": dtype " + dtype +
                       " is not supported (F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL)");
    std::vector<int64_t> shape;
    uint64_t count = 1;
    for (const json& d : e["shape"]) {
      if (!d.is_number_unsigned()) throw fail(where + ": shape holds " + d.dump() + "; expected non-negative integers");
      // No dimension, nor the product, may exceed what the file's data holds
      // (a zero dimension aside), so nothing overflows below.
      const uint64_t dim = d.get<uint64_t>();
      if (dim > data_size || __builtin_mul_overflow(count, dim, &count) || count > data_size)
        throw fail(where + ": shape dimension " + std::to_string(dim) + " makes more values than the file's " +
                   std::to_string(data_size) + " data bytes hold");
      shape.push_back(static_cast<int64_t>(dim));
    }
    const json& off = e["data_offsets"];
    if (!off[0].is_number_unsigned() || !off[1].is_number_unsigned())
      throw fail(where + ": data_offsets " + off.dump() + "; expected two non-negative integers [begin, end]");
    const uint64_t begin = off[0].get<uint64_t>(), end = off[1].get<uint64_t>();
    if (begin > end || end > data_size)
      throw fail(where + ": data_offsets [" + std::to_string(begin) + ", " + std::to_string(end) +
                 ") lie outside the data (" + std::to_string(data_size) + " bytes)");
    if (end - begin != count * info->bytes)
      throw fail(where + ": " + std::to_string(end - begin) + " bytes for " + std::to_string(count) + " " + dtype +
                 " values (" + std::to_string(count * info->bytes) + " expected)");
    if (end > begin) spans.push_back({begin, end, name});
    void* p = static_cast<unsigned char*>(map->data) + data_start + begin;
    out[name] = torch::from_blob(p, shape, [map](void*) {}, torch::TensorOptions().dtype(info->dtype));
  }
  std::sort(spans.begin(), spans.end(), [](const Span& a, const Span& b) { return a.begin < b.begin; });
  for (size_t k = 1; k < spans.size(); ++k)
    if (spans[k].begin < spans[k - 1].end)
      throw fail("tensors '" + spans[k - 1].name + "' and '" + spans[k].name + "' share data bytes (data_offsets [" +
                 std::to_string(spans[k - 1].begin) + ", " + std::to_string(spans[k - 1].end) + ") and [" +
                 std::to_string(spans[k].begin) + ", " + std::to_string(spans[k].end) +
                 ")); expected each tensor its own bytes");
  return out;
}

std::map<std::string, torch::Tensor> LoadSafetensorsFolder(const std::string& folder) {
  const std::string single = folder + "/model.safetensors", index = folder + "/model.safetensors.index.json";
  if (FileExists(single)) return LoadSafetensors(single);
  if (!FileExists(index))
    throw IoError(folder + ": no model.safetensors and no model.safetensors.index.json (a Hugging Face model folder "
                  "has one of them)");
  json j;
  try {
    j = json::parse(ReadFile(index));
  } catch (const json::exception& e) {
    throw IoError(index + ": not JSON: " + e.what());
  }
  if (!j.is_object() || !j.contains("weight_map") || !j["weight_map"].is_object())
    throw IoError(index + ": weight_map: expected an object of tensor: shard file");
  std::map<std::string, std::map<std::string, torch::Tensor>> shards;
  std::map<std::string, torch::Tensor> out;
  for (const auto& [name, file] : j["weight_map"].items()) {
    if (!file.is_string() || file.get<std::string>().find('/') != std::string::npos)
      throw IoError(index + ": weight_map[\"" + name + "\"]: expected a file name in the folder");
    const std::string shard = file.get<std::string>();
    if (!shards.count(shard)) shards[shard] = LoadSafetensors(folder + "/" + shard);
    const auto it = shards[shard].find(name);
    if (it == shards[shard].end()) throw IoError(folder + "/" + shard + ": no tensor '" + name + "' (the index puts it there)");
    out[name] = it->second;
  }
  return out;
}

void SaveSafetensors(const std::string& path, const std::map<std::string, torch::Tensor>& tensors,
                     const std::map<std::string, std::string>& metadata) {
  json header = json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::vector<torch::Tensor> data;
  uint64_t offset = 0;
  for (const auto& [name, t] : tensors) {  // std::map: sorted by name
    const DtypeInfo& info = InfoOf(t.scalar_type(), name);
    torch::Tensor c = t.detach().to(torch::kCPU).contiguous();
    const uint64_t size = static_cast<uint64_t>(c.numel()) * info.bytes;
    header[name] = {{"dtype", info.name}, {"shape", c.sizes().vec()}, {"data_offsets", {offset, offset + size}}};
    offset += size;
    data.push_back(c);
  }
  std::string h = header.dump();
  h.append((8 - h.size() % 8) % 8, ' ');  // the data starts 8-aligned
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[static_cast<size_t>(i)] = static_cast<char>((static_cast<uint64_t>(h.size()) >> (8 * i)) & 0xFF);
  out += h;
  out.reserve(out.size() + offset);
  for (const torch::Tensor& c : data)
    out.append(static_cast<const char*>(c.data_ptr()), static_cast<size_t>(c.numel()) * c.element_size());
  WriteFileAtomic(path, out);
}

}  // namespace r1lab

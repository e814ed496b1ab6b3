#include "checkpoint.h"

#include <google/protobuf/util/message_differencer.h>

#include <algorithm>
#include <sstream>

#include "config.h"
#include "error.h"
#include "io.h"
#include "text.h"
#include "tokenizer.h"

namespace r1lab {

namespace {

constexpr const char* kMagic = "r1lab-checkpoint";
constexpr int kVersion = 1;

std::string ReadString(torch::serialize::InputArchive& a, const std::string& key) {
  c10::IValue v;
  if (!a.try_read(key, v) || !v.isString()) throw IoError("missing field '" + key + "'");
  return v.toStringRef();
}

// Reads and verifies the file; returns the archive payload.
std::string ReadPayload(const std::string& path) {
  if (!FileExists(path)) throw IoError(path + ": checkpoint not found");
  const std::string data = ReadFile(path);
  const size_t nl = data.find('\n');
  std::istringstream header(data.substr(0, nl == std::string::npos ? 0 : nl));
  std::string magic;
  int version = 0;
  std::string sum;
  header >> magic >> version >> sum;
  if (nl == std::string::npos || magic != kMagic)
    throw IoError(path + ": not an r1lab checkpoint (bad header)");
  if (version != kVersion)
    throw IoError(path + ": checkpoint format version " + std::to_string(version) + ", expected " +
                  std::to_string(kVersion));
  std::string payload = data.substr(nl + 1);
  if (HexHash(Fnv64(payload)) != sum)
    throw IoError(path + ": checkpoint is corrupt (checksum mismatch; truncated or modified file)");
  return payload;
}

// The archive's tensors come onto `device` whatever device wrote them: a
// GPU run's checkpoint holds CUDA tensors, which readers of its config,
// metadata or weights' bytes want on the CPU, and a rank bound to one GPU must
// not load another's (LibTorch moves a parameter to the stored tensor's device).
void OpenArchive(const std::string& path, const std::string& payload, torch::serialize::InputArchive* a,
                 torch::Device device = torch::kCPU) {
  try {
    std::istringstream in(payload);
    a->load_from(in, device);
  } catch (const c10::Error& e) {
    throw IoError(path + ": checkpoint archive cannot be read");
  }
}

ModelConfig StoredConfig(const std::string& path, torch::serialize::InputArchive& a) {
  ModelConfig stored;
  try {
    ParseConfigText(ReadString(a, "r1lab/model_config"), path + " (stored model config)", &stored);
  } catch (const IoError& e) {
    throw IoError(path + ": " + e.what());
  }
  return stored;
}

CheckpointMeta MetaOf(const std::string& path, torch::serialize::InputArchive& a) {
  CheckpointMeta meta;
  try {
    c10::IValue v;
    if (!a.try_read("r1lab/step", v) || !v.isInt()) throw IoError("missing field 'r1lab/step'");
    meta.step = v.toInt();
    meta.rng_state = ReadString(a, "r1lab/rng");
    meta.extra = ReadString(a, "r1lab/extra");
    c10::IValue state;  // absent from checkpoints written before strategies kept state
    if (a.try_read("r1lab/state", state) && state.isString()) meta.state = state.toStringRef();
  } catch (const IoError& e) {
    throw IoError(path + ": " + e.what());
  }
  return meta;
}

// A model (its config, parameters and, if given, optimizer state) as an archive.
torch::serialize::OutputArchive ModelArchive(Transformer& model, torch::optim::Optimizer* optimizer) {
  torch::serialize::OutputArchive archive;
  archive.write("r1lab/model_config", c10::IValue(ConfigToText(model->config())));
  torch::serialize::OutputArchive model_archive;
  model->save(model_archive);
  archive.write("model", model_archive);
  archive.write("r1lab/has_optimizer", c10::IValue(optimizer != nullptr));
  if (optimizer) {
    torch::serialize::OutputArchive opt_archive;
    optimizer->save(opt_archive);
    archive.write("optimizer", opt_archive);
  }
  return archive;
}

// Loads ModelArchive's content into `model` (whose config must match the
// stored one) and, if given and stored, into `optimizer`. `what` names the
// part in errors.
void LoadModelArchive(const std::string& path, const std::string& what, torch::serialize::InputArchive& a,
                      Transformer& model, torch::optim::Optimizer* optimizer) {
  ModelConfig stored;
  try {
    ParseConfigText(ReadString(a, "r1lab/model_config"), path + " (stored " + what + " config)", &stored);
  } catch (const IoError& e) {
    throw IoError(path + ": " + what + ": " + e.what());
  }
  std::string diff;
  google::protobuf::util::MessageDifferencer differ;
  differ.ReportDifferencesToString(&diff);
  // A field at its default is the same as unset (checkpoints written before
  // a field existed load), and the compute precision is not the weights'
  // (float32 under either): a BF16_MIXED run may resume a FULL one's.
  differ.set_message_field_comparison(google::protobuf::util::MessageDifferencer::EQUIVALENT);
  differ.IgnoreField(ModelConfig::descriptor()->FindFieldByName("precision"));
  if (!differ.Compare(stored, model->config())) {
    throw ConfigError(path + ": checkpoint was written for another " + what + " config; differences "
                      "(checkpoint -> requested):\n" + diff);
  }
  try {
    torch::serialize::InputArchive model_archive;
    a.read("model", model_archive);
    model->load(model_archive);
    c10::IValue has_opt;
    if (optimizer && a.try_read("r1lab/has_optimizer", has_opt) && has_opt.toBool()) {
      torch::serialize::InputArchive opt_archive;
      a.read("optimizer", opt_archive);
      optimizer->load(opt_archive);
    }
  } catch (const c10::Error& e) {
    throw IoError(path + ": checkpoint content cannot be loaded into the " + what);
  }
}

}  // namespace

void SaveCheckpoint(const std::string& path, Transformer& model, torch::optim::Optimizer* optimizer,
                    const CheckpointMeta& meta, const std::vector<CheckpointPart>& parts) {
  torch::serialize::OutputArchive archive = ModelArchive(model, optimizer);
  archive.write("r1lab/vocab", c10::IValue(model->tokenizer().Fingerprint()));
  archive.write("r1lab/step", c10::IValue(meta.step));
  archive.write("r1lab/rng", c10::IValue(meta.rng_state));
  archive.write("r1lab/extra", c10::IValue(meta.extra));
  archive.write("r1lab/state", c10::IValue(meta.state));
  for (const CheckpointPart& p : parts) {
    torch::serialize::OutputArchive part = ModelArchive(*p.model, p.optimizer);
    archive.write("part_" + p.name, part);
  }
  std::ostringstream out;
  archive.save_to(out);
  const std::string payload = out.str();
  std::ostringstream file;
  file << kMagic << ' ' << kVersion << ' ' << HexHash(Fnv64(payload)) << '\n' << payload;
  WriteFileAtomic(path, file.str());
}

CheckpointMeta LoadCheckpoint(const std::string& path, Transformer& model, torch::optim::Optimizer* optimizer,
                              const std::vector<CheckpointPart>& parts) {
  const std::string payload = ReadPayload(path);
  torch::serialize::InputArchive a;
  OpenArchive(path, payload, &a, model->device());
  const CheckpointMeta meta = MetaOf(path, a);
  c10::IValue vocab;
  if (!a.try_read("r1lab/vocab", vocab) || !vocab.isString())
    throw IoError(path + ": checkpoint lacks its tokenizer vocabulary");
  if (vocab.toStringRef() != model->tokenizer().Fingerprint())
    throw ConfigError(path + ": checkpoint was written with another tokenizer vocabulary");
  LoadModelArchive(path, "model", a, model, optimizer);
  for (const CheckpointPart& p : parts) {
    torch::serialize::InputArchive part;
    if (!a.try_read("part_" + p.name, part))
      throw IoError(path + ": checkpoint lacks the run's " + p.name + " (a checkpoint of another strategy, or of an "
                    "r1lab that kept it in a file of its own); delete the run folder to rerun it");
    LoadModelArchive(path, p.name, part, *p.model, p.optimizer);
  }
  return meta;
}

ModelConfig ReadCheckpointConfig(const std::string& path) {
  const std::string payload = ReadPayload(path);
  torch::serialize::InputArchive a;
  OpenArchive(path, payload, &a);
  return StoredConfig(path, a);
}

}  // namespace r1lab

namespace r1lab {

CheckpointMeta ReadCheckpointMeta(const std::string& path) {
  const std::string payload = ReadPayload(path);
  torch::serialize::InputArchive a;
  OpenArchive(path, payload, &a);
  return MetaOf(path, a);
}

namespace {

// Every tensor under `a`, depth first in sorted key order, into `h`.
void HashArchiveTensors(torch::serialize::InputArchive& a, const std::string& prefix, uint64_t* h) {
  std::vector<std::string> keys = a.keys();
  std::sort(keys.begin(), keys.end());
  for (const std::string& key : keys) {
    torch::Tensor t;
    if (a.try_read(key, t)) {
      const torch::Tensor c = t.contiguous();
      std::string head = prefix + key + " " + std::string(c10::toString(c.scalar_type()));
      for (int64_t d : c.sizes()) head += " " + std::to_string(d);
      *h = Fnv64(head + "\n", *h);
      *h = Fnv64(std::string_view(static_cast<const char*>(c.data_ptr()), c.numel() * c.element_size()), *h);
      continue;
    }
    torch::serialize::InputArchive sub;
    if (a.try_read(key, sub)) HashArchiveTensors(sub, prefix + key + ".", h);
  }
}

}  // namespace

std::string CheckpointWeightsHash(const std::string& path) {
  const std::string payload = ReadPayload(path);
  torch::serialize::InputArchive a;
  OpenArchive(path, payload, &a);
  uint64_t h = Fnv64(ConfigToText(StoredConfig(path, a)) + "\n");
  try {
    torch::serialize::InputArchive model;
    a.read("model", model);
    HashArchiveTensors(model, "", &h);
  } catch (const c10::Error& e) {
    throw IoError(path + ": checkpoint content cannot be read");
  }
  return HexHash(h);
}

}  // namespace r1lab

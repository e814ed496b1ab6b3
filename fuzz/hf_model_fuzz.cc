// Fuzz target for the files of a Hugging Face model folder that r1lab reads
// besides the tokenizer: safetensors weights (lm/safetensors.cc) and
// config.json (lm/llama.cc). Built into the test suite under the seeded
// mutation driver (tests/lm/hf_model_fuzz_test.cc); it links LibTorch, which
// scripts/fuzz.sh's libFuzzer builds leave out. The first byte says what the
// rest is:
//  - even: a safetensors file. LoadSafetensors reads it or throws an IoError
//    or InputError; every tensor it returns lies in the file (its bytes are
//    summed, and they number no more than the file's);
//  - odd: config.json. ReadHfConfig reads it or throws an InputError; a
//    model it reads with at most 200,000 parameters is built, and its
//    logits for a 3-token prompt and one decoding step are finite (at most
//    64 layers).
// A broken property aborts with the input, which the driver reports.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "error.h"
#include "fuzz_check.h"
#include "llama.h"
#include "safetensors.h"

namespace {

void Require(bool ok, const char* what, const std::string& input) { r1lab::FuzzCheck(ok, "hf_model_fuzz", what, input); }

// One file per process (the test driver and libFuzzer run one input at a time).
std::string WriteTemp(const std::string& name, const std::string& bytes) {
  const std::string path =
      (std::filesystem::temp_directory_path() / ("r1lab_hf_fuzz_" + std::to_string(::getpid()) + "_" + name)).string();
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  out.close();
  Require(static_cast<bool>(out), "could not write the input to a temporary file", bytes);
  return path;
}

void FuzzSafetensors(const std::string& bytes) {
  const std::string path = WriteTemp("model.safetensors", bytes);
  try {
    const std::map<std::string, torch::Tensor> tensors = r1lab::LoadSafetensors(path);
    for (const auto& [name, t] : tensors) {
      Require(static_cast<size_t>(t.numel()) * t.element_size() <= bytes.size(), "a tensor larger than its file", bytes);
      t.to(torch::kFloat64).sum().item<double>();  // reads every byte
    }
  } catch (const r1lab::IoError&) {
  } catch (const r1lab::InputError&) {
  }
  std::remove(path.c_str());
}

void FuzzConfig(const std::string& text) {
  const std::string path = WriteTemp("config.json", text);
  r1lab::LlamaConfig c;
  bool read = false;
  try {
    c = r1lab::ReadHfConfig(path);
    read = true;
  } catch (const r1lab::InputError&) {
  }
  std::remove(path.c_str());
  if (!read) return;
  Require(c.hidden_size > 0 && c.num_heads > 0 && c.num_kv_heads > 0 && c.head_dim > 0 && c.head_dim % 2 == 0 &&
              c.num_heads % c.num_kv_heads == 0 && c.vocab_size > 0 && c.num_layers > 0 && c.intermediate_size > 0,
          "a config the model cannot take was read", text);
  const double d = static_cast<double>(c.hidden_size), hd = static_cast<double>(c.head_dim),
               q = static_cast<double>(c.num_heads) * hd, kv = static_cast<double>(c.num_kv_heads) * hd;
  const double params = static_cast<double>(c.vocab_size) * d * (c.tie_word_embeddings ? 1 : 2) +
                        static_cast<double>(c.num_layers) *
                            (d * (q + 2 * kv) + q * d + 3 * d * static_cast<double>(c.intermediate_size));
  if (params > 2e5 || c.num_layers > 64) return;  // small enough to run within the driver's 0.5 s
  torch::NoGradGuard no_grad;
  r1lab::Llama model(c);
  const torch::Tensor prompt = torch::arange(3, torch::kInt64).remainder(c.vocab_size).unsqueeze(0);
  r1lab::LlamaCache cache = model->NewCache(1, 4);
  const torch::Tensor logits = model->forward(prompt, {}, &cache);
  Require(logits.isfinite().all().item<bool>(), "non-finite logits for a prompt", text);
  const torch::Tensor next = model->DecodeStep(torch::zeros({1}, torch::kInt64), {}, cache);
  Require(next.isfinite().all().item<bool>(), "non-finite logits for a decoding step", text);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] % 2 == 0) FuzzSafetensors(rest);
  else FuzzConfig(rest);
  return 0;
}

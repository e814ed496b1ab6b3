// Fuzz target for the tokenizer.json reader (lm/hf_tokenizer.cc) on the
// committed Qwen2 and Llama-3 fixtures (tests/fixtures/hf). Built two ways,
// as fuzz/verify_fuzz.cc: with libFuzzer and AddressSanitizer
// (scripts/fuzz.sh) and into the test suite (tests/lm/tokenizer_fuzz_test.cc).
// The first byte says what the rest is:
//  - text (most values): valid UTF-8 encodes to ids the vocabulary has and
//    decodes back byte for byte (Llama-3's file, no normalizer) or to its
//    NFC form, which encodes and decodes to itself (Qwen2's file, NFC);
//    invalid UTF-8 is an InputError;
//  - ids (two bytes each, mapped to -32 up to 31 past the larger
//    vocabulary): any list decodes to valid UTF-8, or is an InputError when
//    an id is outside the vocabulary;
//  - an edit of Qwen2's tokenizer.json: one of its values (any depth) is
//    replaced by, or a member erased for, a value the rest of the input
//    makes; the reader loads the file or throws an InputError, and what it
//    loads encodes and decodes without crashing.
// A broken property aborts with the input's description, which libFuzzer
// and the test driver both report.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "error.h"
#include "fuzz_check.h"
#include "hf_tokenizer.h"
#include "io.h"
#include "text.h"

#ifndef R1LAB_SOURCE_DIR
#error "R1LAB_SOURCE_DIR must name the source tree (the fixtures' root)"
#endif

namespace {

using nlohmann::json;
using r1lab::HfTokenizer;
using r1lab::InputError;

void Require(bool ok, const char* what, const std::string& input) { r1lab::FuzzCheck(ok, "tokenizer_fuzz", what, input); }

bool IsUtf8(const std::string& s) { return r1lab::ValidUtf8(s) == s; }

struct Fixtures {
  std::string qwen_text;
  json qwen_json;
  std::vector<json::json_pointer> places;  // every value of qwen_json, containers too
  HfTokenizer qwen, llama;

  Fixtures()
      : qwen_text(r1lab::ReadFile(std::string(R1LAB_SOURCE_DIR) + "/tests/fixtures/hf/qwen2/tokenizer.json")),
        qwen_json(json::parse(qwen_text)),
        qwen(HfTokenizer::FromJson(qwen_text, "qwen2/tokenizer.json")),
        llama(HfTokenizer::Load(std::string(R1LAB_SOURCE_DIR) + "/tests/fixtures/hf/llama3/tokenizer.json")) {
    Collect(qwen_json, json::json_pointer());
  }

  void Collect(const json& j, const json::json_pointer& at) {
    if (!at.empty()) places.push_back(at);
    if (j.is_object()) {
      for (const auto& [key, value] : j.items()) Collect(value, at / key);
    } else if (j.is_array()) {
      for (size_t i = 0; i < j.size(); ++i) Collect(j[i], at / i);
    }
  }
};

const Fixtures& Get() {
  static const Fixtures f;
  return f;
}

void FuzzText(const std::string& text) {
  const Fixtures& f = Get();
  if (!IsUtf8(text)) {
    for (const HfTokenizer* tok : {&f.llama, &f.qwen}) {
      bool refused = false;
      try {
        tok->Encode(text);
      } catch (const InputError&) {
        refused = true;
      }
      Require(refused, "invalid UTF-8 encoded without an InputError", text);
    }
    return;
  }
  const std::vector<int> ids = f.llama.Encode(text);
  for (int id : ids) Require(f.llama.Has(id), "Llama-3 encoded to an id outside its vocabulary", text);
  Require(f.llama.Decode(ids) == text, "Llama-3's round trip changed the text", text);
  const std::string nfc = f.qwen.Decode(f.qwen.Encode(text));
  Require(IsUtf8(nfc), "Qwen2 decoded to invalid UTF-8", text);
  Require(f.qwen.Decode(f.qwen.Encode(nfc)) == nfc, "Qwen2's NFC round trip is not stable", text);
}

void FuzzIds(const std::string& bytes) {
  const Fixtures& f = Get();
  const int span = std::max(f.llama.vocab_size(), f.qwen.vocab_size()) + 64;
  std::vector<int> ids;
  for (size_t i = 0; i + 1 < bytes.size(); i += 2)
    ids.push_back((static_cast<uint8_t>(bytes[i]) | (static_cast<uint8_t>(bytes[i + 1]) << 8)) % span - 32);
  for (const HfTokenizer* tok : {&f.llama, &f.qwen}) {
    bool known = true;
    for (int id : ids) known = known && tok->Has(id);
    try {
      Require(IsUtf8(tok->Decode(ids)), "decoded to invalid UTF-8", bytes);
      Require(known, "an id outside the vocabulary decoded", bytes);
    } catch (const InputError&) {
      Require(!known, "ids of the vocabulary refused", bytes);
    }
  }
}

void FuzzEdit(const std::string& bytes) {
  const Fixtures& f = Get();
  if (bytes.size() < 3) return;
  const size_t which = (static_cast<uint8_t>(bytes[0]) | (static_cast<uint8_t>(bytes[1]) << 8)) % f.places.size();
  const json::json_pointer& at = f.places[which];
  const std::string rest = bytes.substr(3);
  json j = f.qwen_json;
  switch (static_cast<uint8_t>(bytes[2]) % 8) {
    case 0: j[at] = nullptr; break;
    case 1: j[at] = rest.size() % 2 == 1; break;
    case 2: j[at] = rest.empty() ? 0 : static_cast<int64_t>(std::strtoll(rest.c_str(), nullptr, 10)); break;
    case 3: j[at] = rest.empty() ? -1.5 : std::strtod(rest.c_str(), nullptr); break;
    case 4: j[at] = r1lab::ValidUtf8(rest); break;
    case 5: j[at] = json::array({r1lab::ValidUtf8(rest)}); break;
    case 6: j[at] = json::object(); break;
    default: {
      json& parent = j[at.parent_pointer()];
      if (parent.is_object()) parent.erase(at.back());
      else if (parent.is_array()) parent.erase(parent.begin() + static_cast<std::ptrdiff_t>(std::stoul(at.back())));
    }
  }
  try {
    const HfTokenizer tok = HfTokenizer::FromJson(j.dump(), "edited.json");
    for (const char* text : {"Natalia sold 48 clips in April.", "<|im_start|>x<|im_end|> é  \n\n 12,345"}) {
      const std::vector<int> ids = tok.Encode(text);
      for (int id : ids) Require(tok.Has(id), "an edited file encoded to an id it does not have", bytes);
      Require(IsUtf8(tok.Decode(ids)), "an edited file decoded to invalid UTF-8", bytes);
    }
  } catch (const InputError&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 8) {
    case 0: FuzzIds(rest); break;
    case 1: FuzzEdit(rest); break;
    default: FuzzText(rest);
  }
  return 0;
}

#include "tokenizer.h"

#include <algorithm>
#include <map>
#include <mutex>

#include "config.h"
#include "error.h"
#include "hf_tokenizer.h"
#include "io.h"
#include "llama.h"
#include "text.h"

namespace r1lab {

namespace {
const char* const kSpecialNames[Tokenizer::kNumSpecials] = {"<pad>",   "<bos>",    "<eos>",     "<think>",
                                                            "</think>", "<answer>", "</answer>"};
}

Tokenizer::Tokenizer() {
  for (auto& c : char_to_id_) c = -1;
  for (const char* s : kSpecialNames) pieces_.push_back(s);
  auto add = [&](char c) {
    char_to_id_[static_cast<unsigned char>(c)] = static_cast<int>(pieces_.size());
    pieces_.push_back(std::string(1, c));
  };
  add('\n');
  for (int c = 32; c < 127; ++c)
    if (c != '<' && c != '>') add(static_cast<char>(c));
}

Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer::~Tokenizer() = default;

const Tokenizer& Tokenizer::Get() {
  static const Tokenizer t;
  return t;
}

Tokenizer::Tokenizer(const Tokenizer& other)
    : pieces_(other.pieces_), pad_(other.pad_), bos_(other.bos_), eos_(other.eos_), stops_(other.stops_) {
  std::copy(std::begin(other.char_to_id_), std::end(other.char_to_id_), char_to_id_);
}

std::vector<int> HfStopTokens(const std::string& folder, const HfTokenizer& hf) {
  const std::string path = folder + "/tokenizer.json";
  const LlamaConfig mc = ReadHfConfig(folder + "/config.json");
  std::vector<int> stops;
  auto add = [&](const std::vector<int>& ids, const std::string& file) {
    for (int id : ids) {
      if (id >= hf.vocab_size())
        throw InputError(folder + "/" + file + ": eos_token_id " + std::to_string(id) + " is not a token of " + path +
                         " (ids 0.." + std::to_string(hf.vocab_size() - 1) + ")");
      if (std::find(stops.begin(), stops.end(), id) == stops.end()) stops.push_back(id);
    }
  };
  add(mc.eos_token_ids, "config.json");
  add(ReadGenerationEos(folder, mc.vocab_size), "generation_config.json");
  for (const char* name : {"<|endoftext|>", "<|end_of_text|>", "</s>", "<|im_end|>", "<|eot_id|>"})
    if (stops.empty() && hf.Find(name) >= 0) stops.push_back(hf.Find(name));
  if (stops.empty())
    throw InputError(folder + "/config.json: eos_token_id: missing, and " + path +
                     " has none of <|endoftext|> <|end_of_text|> </s> <|im_end|> <|eot_id|>; r1lab needs the stop token");
  return stops;
}

const Tokenizer& Tokenizer::For(const ModelConfig& cfg) {
  if (cfg.hf_folder().empty() && cfg.prompt_template().empty()) return Get();
  // One per folder and template for the process's life: models hold references to it.
  static std::mutex mu;
  static std::map<std::pair<std::string, std::string>, std::unique_ptr<Tokenizer>> loaded;
  const std::lock_guard<std::mutex> lock(mu);
  std::unique_ptr<Tokenizer>& slot = loaded[{cfg.hf_folder(), cfg.prompt_template()}];
  if (slot) return *slot;
  const std::string& tmpl = cfg.prompt_template();
  const size_t at = tmpl.find("{prompt}");
  if (!tmpl.empty() && at == std::string::npos)
    throw ConfigError("model.prompt_template: has no {prompt}, where the problem's prompt goes");
  const std::string before = tmpl.substr(0, at), after = tmpl.empty() ? "" : tmpl.substr(at + 8);
  if (cfg.hf_folder().empty()) {
    std::unique_ptr<Tokenizer> t(new Tokenizer(Get()));
    t->Encode(before + after);  // InputError now for text the vocabulary lacks
    t->before_ = before;
    t->after_ = after;
    slot = std::move(t);
    return *slot;
  }
  const std::string folder = cfg.hf_folder(), path = folder + "/tokenizer.json";
  if (!FileExists(path)) throw InputError(path + ": no such file (model.hf_folder needs the model's tokenizer.json)");
  std::unique_ptr<Tokenizer> t(new Tokenizer());
  t->before_ = before;
  t->after_ = after;
  t->hf_ = std::make_unique<const HfTokenizer>(HfTokenizer::Load(path));
  const HfTokenizer& hf = *t->hf_;
  t->stops_ = HfStopTokens(folder, hf);
  t->eos_ = t->stops_[0];
  t->bos_ = hf.prompt_start();
  t->pad_ = t->eos_;  // padding is masked; any id serves
  t->hf_fingerprint_ = "hf " + HexHash(Fnv64(ReadFile(path)));
  slot = std::move(t);
  return *slot;
}

bool Tokenizer::IsStop(int id) const { return std::find(stops_.begin(), stops_.end(), id) != stops_.end(); }

int Tokenizer::vocab_size() const { return hf_ ? hf_->vocab_size() : static_cast<int>(pieces_.size()); }

std::vector<int> Tokenizer::EncodePrompt(std::string_view text) const {
  std::vector<int> ids;
  if (bos_ >= 0) ids.push_back(bos_);
  const std::vector<int> body =
      before_.empty() && after_.empty() ? Encode(text) : Encode(before_ + std::string(text) + after_);
  ids.insert(ids.end(), body.begin(), body.end());
  return ids;
}

std::vector<int> Tokenizer::Encode(std::string_view text) const {
  std::vector<int> ids;
  if (hf_) {  // the tokenizer's own ids, with "<eos>" read as the stop token
    constexpr std::string_view kEosText = "<eos>";
    for (size_t at = 0;;) {
      const size_t next = text.find(kEosText, at);
      const std::vector<int> part = hf_->Encode(text.substr(at, next == std::string_view::npos ? next : next - at));
      ids.insert(ids.end(), part.begin(), part.end());
      if (next == std::string_view::npos) return ids;
      ids.push_back(eos_);
      at = next + kEosText.size();
    }
  }
  ids.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    const char c = text[i];
    if (c == '<') {
      const size_t end = text.find('>', i);
      if (end == std::string_view::npos)
        throw InputError("unmatched '<' at position " + std::to_string(i) + " in text; '<' only starts a special token");
      ids.push_back(Special(text.substr(i, end - i + 1)));
      i = end + 1;
      continue;
    }
    const int id = char_to_id_[static_cast<unsigned char>(c)];
    if (id < 0) {
      throw InputError("unknown character (byte " + std::to_string(static_cast<unsigned char>(c)) +
                       ") at position " + std::to_string(i) + "; the vocabulary is printable ASCII and newline");
    }
    ids.push_back(id);
    ++i;
  }
  return ids;
}

std::string Tokenizer::Decode(const std::vector<int>& ids) const {
  if (!hf_) {
    std::string out;
    for (int id : ids) out += Piece(id);
    return out;
  }
  // Ids past the file's tokens (a model's padded vocabulary) decode to
  // nothing, as `tokenizers` skips them.
  std::string out;
  std::vector<int> run;
  for (size_t i = 0; i <= ids.size(); ++i) {
    if (i < ids.size() && !IsStop(ids[i])) {
      if (hf_->Has(ids[i])) run.push_back(ids[i]);
      continue;
    }
    out += hf_->Decode(run);
    run.clear();
    if (i < ids.size()) out += "<eos>";
  }
  return out;
}

std::string Tokenizer::Piece(int id) const {
  if (hf_) return IsStop(id) ? std::string("<eos>") : hf_->Has(id) ? hf_->DecodeBytes({id}) : std::string();
  if (id < 0 || id >= vocab_size()) throw InputError("token id " + std::to_string(id) + " is outside the vocabulary");
  return pieces_[id];
}

int Tokenizer::Special(std::string_view name) const {
  if (hf_) {
    const int id = name == "<eos>" ? eos_ : hf_->Find(name);
    if (id >= 0 && (id == eos_ || hf_->IsSpecial(id))) return id;
    throw InputError("'" + std::string(name) + "' is not a special token of this tokenizer.json");
  }
  for (int i = 0; i < kNumSpecials; ++i)
    if (name == kSpecialNames[i]) return i;
  std::string known;
  for (const char* s : kSpecialNames) known += std::string(known.empty() ? "" : " ") + s;
  throw InputError("unknown special token '" + std::string(name) + "'; known: " + known);
}

std::string Tokenizer::Fingerprint() const {
  if (hf_) return hf_fingerprint_;
  std::string s;
  for (const auto& p : pieces_) s += p + "\x1f";
  return s;
}

}  // namespace r1lab

#include "hf_tokenizer.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <unicode/normalizer2.h>
#include <unicode/unistr.h>

#include <algorithm>
#include <climits>
#include <map>
#include <nlohmann/json.hpp>

#include "error.h"
#include "io.h"
#include "text.h"

namespace r1lab {

namespace {

using nlohmann::json;

// GPT-2's pre-tokenizer, which a ByteLevel pre-tokenizer with use_regex applies.
constexpr const char* kGpt2Regex = R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

uint32_t DecodeUtf8At(std::string_view s, size_t i, int len) {
  const auto b = [&](size_t k) { return static_cast<uint32_t>(static_cast<unsigned char>(s[i + k])); };
  if (len == 1) return b(0);
  if (len == 2) return ((b(0) & 0x1F) << 6) | (b(1) & 0x3F);
  if (len == 3) return ((b(0) & 0x0F) << 12) | ((b(1) & 0x3F) << 6) | (b(2) & 0x3F);
  return ((b(0) & 0x07) << 18) | ((b(1) & 0x3F) << 12) | ((b(2) & 0x3F) << 6) | (b(3) & 0x3F);
}

// GPT-2's byte-level alphabet: byte -> a printable code point (as UTF-8),
// and back.
struct ByteAlphabet {
  std::string of_byte[256];
  std::unordered_map<uint32_t, unsigned char> byte_of;
  ByteAlphabet() {
    int n = 0;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      const uint32_t cp = printable ? static_cast<uint32_t>(b) : static_cast<uint32_t>(256 + n++);
      AppendUtf8(cp, &of_byte[b]);
      byte_of[cp] = static_cast<unsigned char>(b);
    }
  }
};

const ByteAlphabet& Alphabet() {
  static const ByteAlphabet a;
  return a;
}

std::string Nfc(std::string_view text) {
  UErrorCode status = U_ZERO_ERROR;
  const icu::Normalizer2* nfc = icu::Normalizer2::getNFCInstance(status);
  if (U_FAILURE(status)) throw InternalError(std::string("ICU NFC: ") + u_errorName(status));
  const icu::UnicodeString u = icu::UnicodeString::fromUTF8(icu::StringPiece(text.data(), static_cast<int32_t>(text.size())));
  if (nfc->isNormalized(u, status) && U_SUCCESS(status)) return std::string(text);
  status = U_ZERO_ERROR;
  const icu::UnicodeString n = nfc->normalize(u, status);
  if (U_FAILURE(status)) throw InternalError(std::string("ICU NFC: ") + u_errorName(status));
  std::string out;
  n.toUTF8String(out);
  return out;
}

[[noreturn]] void Bad(const std::string& source, const std::string& field, const std::string& what) {
  throw InputError(source + ": " + field + ": " + what);
}

std::string TypeOf(const json& j) { return j.is_object() && j.contains("type") && j["type"].is_string() ? j["type"].get<std::string>() : ""; }

bool FlagOf(const json& j, const char* key) { return j.contains(key) && j[key].is_boolean() && j[key].get<bool>(); }

bool NullOrEmpty(const json& j, const char* key) {
  return !j.contains(key) || j[key].is_null() || (j[key].is_string() && j[key].get<std::string>().empty());
}

}  // namespace

std::string Utf8Lossy(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  for (size_t i = 0; i < bytes.size();) {
    const int len = Utf8SequenceAt(bytes, i);
    if (len > 0) {
      out.append(bytes.substr(i, static_cast<size_t>(len)));
      i += static_cast<size_t>(len);
    } else {
      out += "\xEF\xBF\xBD";
      i += static_cast<size_t>(-len);
    }
  }
  return out;
}

struct HfTokenizer::Regex {
  pcre2_code* code = nullptr;
  ~Regex() { pcre2_code_free(code); }
};

HfTokenizer::HfTokenizer() = default;
HfTokenizer::HfTokenizer(HfTokenizer&&) noexcept = default;
HfTokenizer& HfTokenizer::operator=(HfTokenizer&&) noexcept = default;
HfTokenizer::~HfTokenizer() = default;

HfTokenizer HfTokenizer::Load(const std::string& path) { return FromJson(ReadFile(path), path); }

HfTokenizer HfTokenizer::FromJson(const std::string& text, const std::string& source) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    throw InputError(source + ": not JSON: " + e.what());
  }
  if (!j.is_object()) Bad(source, "(top level)", "expected an object");
  HfTokenizer t;
  t.source_ = source;

  // The model: byte-level BPE with nothing the `tokenizers` BPE adds on top.
  if (!j.contains("model") || !j["model"].is_object()) Bad(source, "model", "missing");
  const json& m = j["model"];
  if (TypeOf(m) != "BPE") Bad(source, "model.type", "'" + TypeOf(m) + "'; expected BPE (byte-level)");
  if (FlagOf(m, "byte_fallback")) Bad(source, "model.byte_fallback", "true is not supported (SentencePiece-style BPE)");
  if (m.contains("dropout") && !m["dropout"].is_null()) Bad(source, "model.dropout", "BPE dropout is not supported");
  if (!NullOrEmpty(m, "continuing_subword_prefix")) Bad(source, "model.continuing_subword_prefix", "not supported");
  if (!NullOrEmpty(m, "end_of_word_suffix")) Bad(source, "model.end_of_word_suffix", "not supported");
  t.ignore_merges_ = FlagOf(m, "ignore_merges");
  if (!m.contains("vocab") || !m["vocab"].is_object()) Bad(source, "model.vocab", "expected an object of piece: id");
  int max_id = -1;
  // One piece per id and one id per piece (an added token may repeat its
  // vocab entry): two pieces on one id would decode as whichever came last.
  std::map<int, std::string> piece_of;
  auto claim = [&](const std::string& field, const std::string& piece, int id) {
    const auto [at, fresh] = piece_of.emplace(id, piece);
    if (!fresh && at->second != piece)
      Bad(source, field, "id " + std::to_string(id) + " is already the token '" + at->second +
                             "'; expected one token per id");
    const auto known = t.ids_.find(piece);
    if (known != t.ids_.end() && known->second != id)
      Bad(source, field, "'" + piece + "' is already id " + std::to_string(known->second) + "; expected one id per token");
  };
  for (const auto& [piece, id] : m["vocab"].items()) {
    if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() > INT_MAX)
      Bad(source, "model.vocab[\"" + piece + "\"]", "expected an id >= 0");
    claim("model.vocab[\"" + piece + "\"]", piece, id.get<int>());
    t.ids_[piece] = id.get<int>();
    max_id = std::max(max_id, id.get<int>());
  }
  // Added tokens: matched in the raw text before anything else.
  const json empty = json::array();
  const json& added = j.contains("added_tokens") && !j["added_tokens"].is_null() ? j["added_tokens"] : empty;
  if (!added.is_array()) Bad(source, "added_tokens", "expected a list");
  const bool has_normalizer = j.contains("normalizer") && !j["normalizer"].is_null();
  std::vector<int> special_ids;
  for (size_t i = 0; i < added.size(); ++i) {
    const json& a = added[i];
    const std::string field = "added_tokens[" + std::to_string(i) + "]";
    if (!a.is_object() || !a.contains("id") || !a["id"].is_number_integer() || a["id"].get<int64_t>() < 0 ||
        a["id"].get<int64_t>() > INT_MAX || !a.contains("content") || !a["content"].is_string() ||
        a["content"].get<std::string>().empty())
      Bad(source, field, "expected {id, content} with an id >= 0 and a non-empty content");
    for (const char* flag : {"single_word", "lstrip", "rstrip"})
      if (FlagOf(a, flag)) Bad(source, field + "." + flag, "true is not supported");
    if (FlagOf(a, "normalized") && has_normalizer)
      Bad(source, field + ".normalized", "true with a normalizer is not supported");
    const std::string content = a["content"].get<std::string>();
    const int id = a["id"].get<int>();
    claim(field, content, id);
    t.added_.emplace_back(content, id);
    t.ids_[content] = id;
    max_id = std::max(max_id, id);
    if (FlagOf(a, "special")) special_ids.push_back(id);
  }
  for (const auto& a : t.added_) t.added_first_[static_cast<unsigned char>(a.first[0])] = true;
  std::stable_sort(t.added_.begin(), t.added_.end(),
                   [](const auto& x, const auto& y) { return x.first.size() > y.first.size(); });
  // Ids index a table, so a stray huge id would allocate gigabytes: real
  // files number their tokens densely (a few gaps at most).
  const int64_t kMaxGap = 65536;
  if (static_cast<int64_t>(max_id) >= static_cast<int64_t>(t.ids_.size()) + kMaxGap)
    Bad(source, "model.vocab / added_tokens",
        "id " + std::to_string(max_id) + " lies far past the file's " + std::to_string(t.ids_.size()) +
            " tokens (ids are expected to be numbered densely from 0)");
  t.pieces_.assign(static_cast<size_t>(max_id) + 1, "");
  for (const auto& [piece, id] : t.ids_) t.pieces_[static_cast<size_t>(id)] = piece;
  t.special_.assign(t.pieces_.size(), false);
  for (int id : special_ids) t.special_[static_cast<size_t>(id)] = true;
  for (int b = 0; b < 256; ++b)
    if (!t.ids_.count(Alphabet().of_byte[b]))
      Bad(source, "model.vocab", "no token for byte " + std::to_string(b) + " ('" + Alphabet().of_byte[b] +
                                     "'); a byte-level vocabulary holds all 256");

  if (!m.contains("merges") || !m["merges"].is_array()) Bad(source, "model.merges", "expected a list");
  const json& merges = m["merges"];
  for (size_t i = 0; i < merges.size(); ++i) {
    const json& e = merges[i];
    std::string left, right;
    if (e.is_string()) {  // "left right" (files before tokenizers 0.20)
      const std::string s = e.get<std::string>();
      const size_t sp = s.find(' ');
      if (sp == std::string::npos || s.find(' ', sp + 1) != std::string::npos) Bad(source, "model.merges[" + std::to_string(i) + "]", "'" + s + "'; expected 'left right'");
      left = s.substr(0, sp);
      right = s.substr(sp + 1);
    } else if (e.is_array() && e.size() == 2 && e[0].is_string() && e[1].is_string()) {
      left = e[0].get<std::string>();
      right = e[1].get<std::string>();
    } else {
      Bad(source, "model.merges[" + std::to_string(i) + "]", "expected 'left right' or [left, right]");
    }
    if (!t.ids_.count(left) || !t.ids_.count(right) || !t.ids_.count(left + right))
      Bad(source, "model.merges[" + std::to_string(i) + "]",
          "'" + left + "' + '" + right + "': a part or the merged token is not in model.vocab");
    t.merge_rank_.emplace(left + " " + right, static_cast<int>(i));  // the first listing ranks
  }

  // Normalizer: none or NFC.
  if (has_normalizer) {
    const std::string type = TypeOf(j["normalizer"]);
    if (type == "NFC") t.nfc_ = true;
    else Bad(source, "normalizer.type", "'" + type + "'; expected null or NFC");
  }

  // Pre-tokenizer: a regex split into isolated pieces, then the byte-level map.
  if (!j.contains("pre_tokenizer") || !j["pre_tokenizer"].is_object()) Bad(source, "pre_tokenizer", "missing");
  const json& p = j["pre_tokenizer"];
  std::string pattern;
  auto byte_level = [&](const json& b, const std::string& field, bool alone) {
    if (FlagOf(b, "add_prefix_space")) Bad(source, field + ".add_prefix_space", "true is not supported");
    const bool use_regex = !b.contains("use_regex") || FlagOf(b, "use_regex");  // tokenizers' default: true
    if (alone && use_regex) pattern = kGpt2Regex;
    if (!alone && use_regex) Bad(source, field + ".use_regex", "true after a Split is not supported");
  };
  if (TypeOf(p) == "ByteLevel") {
    byte_level(p, "pre_tokenizer", true);
    if (pattern.empty()) Bad(source, "pre_tokenizer.use_regex", "false alone: nothing splits the text");
  } else if (TypeOf(p) == "Sequence" && p.contains("pretokenizers") && p["pretokenizers"].is_array() &&
             p["pretokenizers"].size() == 2) {
    const json& split = p["pretokenizers"][0];
    const std::string f = "pre_tokenizer.pretokenizers[0]";
    if (TypeOf(split) != "Split") Bad(source, f + ".type", "'" + TypeOf(split) + "'; expected Split");
    if (!split.contains("pattern") || !split["pattern"].is_object() || !split["pattern"].contains("Regex") ||
        !split["pattern"]["Regex"].is_string())
      Bad(source, f + ".pattern", "expected {\"Regex\": ...}");
    if (!split.contains("behavior") || split["behavior"] != "Isolated")
      Bad(source, f + ".behavior", "expected Isolated");
    if (FlagOf(split, "invert")) Bad(source, f + ".invert", "true is not supported");
    pattern = split["pattern"]["Regex"].get<std::string>();
    const json& bl = p["pretokenizers"][1];
    if (TypeOf(bl) != "ByteLevel") Bad(source, "pre_tokenizer.pretokenizers[1].type", "'" + TypeOf(bl) + "'; expected ByteLevel");
    byte_level(bl, "pre_tokenizer.pretokenizers[1]", false);
  } else {
    Bad(source, "pre_tokenizer", "'" + TypeOf(p) + "'; expected ByteLevel, or a Sequence of a Split and a ByteLevel");
  }
  int err = 0;
  PCRE2_SIZE offset = 0;
  t.regex_ = std::make_unique<Regex>();
  t.regex_->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                                 PCRE2_UTF | PCRE2_UCP, &err, &offset, nullptr);
  if (!t.regex_->code) {
    PCRE2_UCHAR msg[256];
    pcre2_get_error_message(err, msg, sizeof msg);
    Bad(source, "pre_tokenizer (its regex)", std::string(reinterpret_cast<char*>(msg)) + " at offset " + std::to_string(offset));
  }
  pcre2_jit_compile(t.regex_->code, PCRE2_JIT_COMPLETE);  // falls back to the interpreter where JIT is missing

  // The post-processor's template for one sequence: a special before it
  // (Llama-3's <|begin_of_text|>) starts every prompt.
  if (j.contains("post_processor") && !j["post_processor"].is_null()) {
    const json& pp = j["post_processor"];
    std::vector<const json*> processors = {&pp};
    if (TypeOf(pp) == "Sequence" && pp.contains("processors") && pp["processors"].is_array()) {
      processors.clear();
      for (const json& q : pp["processors"]) processors.push_back(&q);
    }
    for (const json* q : processors) {
      if (TypeOf(*q) != "TemplateProcessing" || !q->contains("single") || !(*q)["single"].is_array() ||
          (*q)["single"].empty())
        continue;
      const json& first = (*q)["single"][0];
      if (!first.is_object() || !first.contains("SpecialToken")) continue;
      const json& sp = first["SpecialToken"];
      const std::string name = sp.is_object() && sp.contains("id") && sp["id"].is_string() ? sp["id"].get<std::string>() : "";
      const auto it = t.ids_.find(name);
      if (it == t.ids_.end()) Bad(source, "post_processor.single[0]", "'" + name + "' is not a token of the file");
      t.prompt_start_ = it->second;
    }
  }

  if (!j.contains("decoder") || TypeOf(j["decoder"]) != "ByteLevel")
    Bad(source, "decoder", "'" + (j.contains("decoder") ? TypeOf(j["decoder"]) : std::string()) + "'; expected ByteLevel");
  return t;
}

const std::string& HfTokenizer::Piece(int id) const {
  if (id < 0 || id >= vocab_size() || pieces_[static_cast<size_t>(id)].empty())
    throw InputError(source_ + ": no token with id " + std::to_string(id));
  return pieces_[static_cast<size_t>(id)];
}

int HfTokenizer::Find(std::string_view piece) const {
  const auto it = ids_.find(std::string(piece));
  return it == ids_.end() ? -1 : it->second;
}

bool HfTokenizer::IsSpecial(int id) const { return id >= 0 && id < vocab_size() && special_[static_cast<size_t>(id)]; }

void HfTokenizer::EncodeWord(const std::string& word, std::vector<int>* out) const {
  if (ignore_merges_) {
    const auto whole = ids_.find(word);
    if (whole != ids_.end()) {
      out->push_back(whole->second);
      return;
    }
  }
  std::vector<std::string> sym;  // one per byte-level character
  for (size_t i = 0; i < word.size();) {
    const size_t len = static_cast<size_t>(Utf8SequenceAt(word, i));
    sym.push_back(word.substr(i, len));
    i += len;
  }
  // Merge the lowest-ranked adjacent pair everywhere, left to right, until
  // no pair is a merge. (A pair made by a merge ranks after it, so this is
  // the order of tokenizers' priority queue.)
  std::vector<int> rank;  // of each adjacent pair (INT_MAX: not a merge)
  for (;;) {
    rank.assign(sym.size(), INT_MAX);
    int best = INT_MAX;
    for (size_t i = 0; i + 1 < sym.size(); ++i) {
      const auto it = merge_rank_.find(sym[i] + " " + sym[i + 1]);
      if (it != merge_rank_.end()) best = std::min(best, rank[i] = it->second);
    }
    if (best == INT_MAX) break;
    std::vector<std::string> next;
    next.reserve(sym.size());
    for (size_t i = 0; i < sym.size(); ++i) {
      if (rank[i] == best) {  // the last symbol's rank is INT_MAX
        next.push_back(sym[i] + sym[i + 1]);
        ++i;
      } else {
        next.push_back(sym[i]);
      }
    }
    sym.swap(next);
  }
  for (const std::string& s : sym) out->push_back(ids_.at(s));  // single characters are all in the vocabulary
}

void HfTokenizer::EncodeText(std::string_view raw, std::vector<int>* out) const {
  if (raw.empty()) return;
  const std::string text = nfc_ ? Nfc(raw) : std::string(raw);
  const ByteAlphabet& alphabet = Alphabet();
  auto word = [&](size_t from, size_t to) {
    std::string mapped;
    for (size_t i = from; i < to; ++i) mapped += alphabet.of_byte[static_cast<unsigned char>(text[i])];
    EncodeWord(mapped, out);
  };
  pcre2_match_data* md = pcre2_match_data_create_from_pattern(regex_->code, nullptr);
  if (!md) throw std::bad_alloc();
  size_t at = 0, gap = 0;  // gap: where the text not yet matched starts
  while (at < text.size()) {
    const int rc = pcre2_match(regex_->code, reinterpret_cast<PCRE2_SPTR>(text.data()), text.size(), at,
                               PCRE2_NO_UTF_CHECK, md, nullptr);
    if (rc == PCRE2_ERROR_NOMATCH) break;
    if (rc < 0) {
      pcre2_match_data_free(md);
      PCRE2_UCHAR msg[256];
      pcre2_get_error_message(rc, msg, sizeof msg);
      throw InputError(source_ + ": pre_tokenizer regex failed: " + reinterpret_cast<char*>(msg));
    }
    const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md);
    const size_t begin = ov[0], end = ov[1];
    if (end == begin) {  // an empty match: step over one character
      at = begin + static_cast<size_t>(Utf8SequenceAt(text, begin));
      continue;
    }
    if (begin > gap) word(gap, begin);  // Isolated: the text between matches is a piece too
    word(begin, end);
    gap = at = end;
  }
  pcre2_match_data_free(md);
  if (gap < text.size()) word(gap, text.size());
}

std::vector<int> HfTokenizer::Encode(std::string_view text) const {
  for (size_t i = 0; i < text.size();) {
    const int len = Utf8SequenceAt(text, i);
    if (len < 0) throw InputError(source_ + ": text to encode is not valid UTF-8 at byte " + std::to_string(i));
    i += static_cast<size_t>(len);
  }
  std::vector<int> out;
  size_t start = 0;  // the part not yet encoded
  for (size_t i = 0; i < text.size();) {
    const std::pair<std::string, int>* hit = nullptr;  // leftmost, then longest
    if (added_first_[static_cast<unsigned char>(text[i])])
      for (const auto& a : added_)
      if (text.compare(i, a.first.size(), a.first) == 0) {
        hit = &a;
        break;
      }
    if (!hit) {
      ++i;
      continue;
    }
    EncodeText(text.substr(start, i - start), &out);
    out.push_back(hit->second);
    i += hit->first.size();
    start = i;
  }
  EncodeText(text.substr(start), &out);
  return out;
}

std::string HfTokenizer::Decode(const std::vector<int>& ids) const { return Utf8Lossy(DecodeBytes(ids)); }

std::string HfTokenizer::DecodeBytes(const std::vector<int>& ids) const {
  const ByteAlphabet& alphabet = Alphabet();
  std::string bytes;
  for (int id : ids) {
    const std::string& piece = Piece(id);
    // tokenizers' ByteLevel decoder: a token all of whose characters are in
    // the alphabet gives their bytes; any other gives its own UTF-8.
    std::string mapped;
    bool all = true;
    for (size_t i = 0; i < piece.size() && all;) {
      const int len = Utf8SequenceAt(piece, i);
      const auto it = len > 0 ? alphabet.byte_of.find(DecodeUtf8At(piece, i, len)) : alphabet.byte_of.end();
      if (it == alphabet.byte_of.end()) all = false;
      else mapped.push_back(static_cast<char>(it->second));
      i += static_cast<size_t>(len > 0 ? len : -len);
    }
    bytes += all ? mapped : piece;
  }
  return bytes;
}

}  // namespace r1lab

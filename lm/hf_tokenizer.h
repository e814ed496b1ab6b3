// A Hugging Face tokenizer.json: byte-level BPE as Qwen2, Llama-3, GPT-2
// and SmolLM ship it, encoding to the ids the `tokenizers` library gives
// (tests/fixtures/hf, made by tools/make_hf_fixtures.py).
//
// Encode: the text is split on added tokens (leftmost, longest first), each
// other part is normalized (none, or NFC), cut into pre-tokens by the
// pre-tokenizer's regex (PCRE2, Unicode properties), mapped to GPT-2's
// byte-level alphabet and merged by BPE rank. Decode: tokens back to bytes;
// invalid UTF-8 (a cut through a character) becomes U+FFFD, as in Rust.
//
// What a file asks and this class does not do (byte fallback, dropout, a
// word prefix or suffix, other normalizers or pre-tokenizers, added tokens
// that strip spaces or are normalized) is an InputError naming the file and
// field, never a silently different tokenization. The post-processor (a
// template that adds BOS) is not applied: Encode is the text's ids alone,
// as tokenizers' encode(text, add_special_tokens=False); prompt_start()
// says which special the template puts first.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace r1lab {

class HfTokenizer {
 public:
  // Reads tokenizer.json; InputError naming `path` and the field otherwise.
  static HfTokenizer Load(const std::string& path);
  // The same from the file's text; `source` names it in errors.
  static HfTokenizer FromJson(const std::string& text, const std::string& source);

  HfTokenizer(HfTokenizer&&) noexcept;
  HfTokenizer& operator=(HfTokenizer&&) noexcept;
  ~HfTokenizer();

  // InputError when `text` is not valid UTF-8 (naming the byte offset).
  std::vector<int> Encode(std::string_view text) const;
  // Ids outside the vocabulary are an InputError.
  std::string Decode(const std::vector<int>& ids) const;
  // The bytes before that replacement (a token may end inside a character).
  std::string DecodeBytes(const std::vector<int>& ids) const;

  int vocab_size() const { return static_cast<int>(pieces_.size()); }
  // The token's string as the file writes it (byte-level characters).
  const std::string& Piece(int id) const;
  // Id of a token written as in the file; -1 when absent.
  int Find(std::string_view piece) const;
  bool IsSpecial(int id) const;
  // Whether `id` names a token (a model's vocabulary may be padded past the file's).
  bool Has(int id) const { return id >= 0 && id < vocab_size() && !pieces_[static_cast<size_t>(id)].empty(); }
  // The special the post-processor puts before a sequence (Llama-3's
  // <|begin_of_text|>); -1 when it puts none (Qwen2).
  int prompt_start() const { return prompt_start_; }

 private:
  HfTokenizer();
  void EncodeWord(const std::string& word, std::vector<int>* out) const;  // one pre-token, byte-level
  void EncodeText(std::string_view text, std::vector<int>* out) const;    // a part without added tokens

  struct Regex;  // compiled PCRE2 pattern
  std::string source_;
  std::vector<std::string> pieces_;  // id -> piece ("" for a gap in the ids)
  std::unordered_map<std::string, int> ids_;
  std::unordered_map<std::string, int> merge_rank_;  // "left right" -> rank
  std::vector<std::pair<std::string, int>> added_;   // content, id; longest first
  bool added_first_[256] = {};  // bytes an added token starts with
  std::vector<bool> special_;
  bool nfc_ = false, ignore_merges_ = false;
  int prompt_start_ = -1;
  std::unique_ptr<Regex> regex_;
};

// The replacement of invalid UTF-8 by U+FFFD, one per maximal invalid
// subpart (Rust's String::from_utf8_lossy, which `tokenizers` decodes with).
std::string Utf8Lossy(std::string_view bytes);

}  // namespace r1lab

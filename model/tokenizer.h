// The model's tokenizer: r1lab's character vocabulary, or a Hugging Face
// tokenizer.json beside a real model's weights (model.hf_folder).
//
// The character vocabulary: ids 0..6 are the specials <pad> <bos> <eos>
// <think> </think> <answer> </answer>; then '\n' and printable ASCII except
// '<' and '>', which only ever start a special. So "<thinking>" in a text is
// an unknown special token (an InputError), never silently split into
// characters.
//
// A tokenizer.json (lm/hf_tokenizer.h): byte-level BPE; "<think>" and the
// other tags are ordinary text there. Its stop tokens are the eos_token_id
// of config.json and generation_config.json (a list for instruct models,
// which end a turn with one and the text with another), or else the file's
// end-of-text special; a prompt starts with its begin-of-text special when
// it has one. Either way Decode writes every stop token as "<eos>" and
// Encode reads "<eos>" as the first, so the verifiers and the logs see one
// convention whatever the model calls its stop tokens.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "r1lab.pb.h"

namespace r1lab {

class HfTokenizer;

// A Hugging Face folder's stop tokens, with `hf` its tokenizer.json: the
// eos_token_id of config.json, then of generation_config.json (all of each
// list: transformers' generate stops at any), else the file's end-of-text
// special. InputError naming the file for an id the tokenizer lacks, or
// when there is none.
std::vector<int> HfStopTokens(const std::string& folder, const HfTokenizer& hf);

class Tokenizer {
 public:
  // The character vocabulary's ids (pad(), bos() and eos() give any
  // tokenizer's; these name the character one's in its tests and tools).
  static constexpr int kPad = 0, kBos = 1, kEos = 2, kThink = 3, kEndThink = 4, kAnswer = 5,
                       kEndAnswer = 6, kNumSpecials = 7;

  // The character vocabulary.
  static const Tokenizer& Get();
  // The tokenizer of models built from `cfg`: the character vocabulary, or
  // the tokenizer.json in cfg.hf_folder() (read once per folder; InputError
  // naming the file when it is missing or does something r1lab does not),
  // putting prompts in cfg.prompt_template().
  static const Tokenizer& For(const ModelConfig& cfg);

  Tokenizer(Tokenizer&&) noexcept;
  ~Tokenizer();

  int vocab_size() const;
  int pad() const { return pad_; }
  int bos() const { return bos_; }  // -1: prompts start without one
  int eos() const { return eos_; }  // the first stop token: what Encode writes for "<eos>"
  // Every token that ends a sample (eos() first); generation stops at any.
  const std::vector<int>& stops() const { return stops_; }
  bool IsStop(int id) const;
  bool is_char() const { return hf_ == nullptr; }

  // Specials of the character vocabulary are written by name ("<think>");
  // throws InputError naming the position of an unknown character or special.
  std::vector<int> Encode(std::string_view text) const;
  // A model input row: bos() (if any) followed by Encode(text), the text
  // put in the prompt template first.
  std::vector<int> EncodePrompt(std::string_view text) const;
  std::string Decode(const std::vector<int>& ids) const;
  // The bytes of one token as they stand in a decoded text (a byte-level
  // token may hold part of a UTF-8 character): Decode of a sequence is the
  // concatenation of its tokens' pieces, up to the replacement of invalid
  // UTF-8.
  std::string Piece(int id) const;
  // Id of a special of the character vocabulary by name; InputError listing
  // the known ones otherwise.
  int Special(std::string_view name) const;
  // Identifies the vocabulary, to store in checkpoints.
  std::string Fingerprint() const;

 private:
  Tokenizer();  // the character vocabulary
  Tokenizer(const Tokenizer& other);  // the character vocabulary's copy, given a template
  std::vector<std::string> pieces_;
  std::string before_, after_;  // the prompt template around {prompt}
  int char_to_id_[256];
  std::unique_ptr<const HfTokenizer> hf_;
  std::string hf_fingerprint_;
  int pad_ = kPad, bos_ = kBos, eos_ = kEos;
  std::vector<int> stops_ = {kEos};
};

}  // namespace r1lab

// Character-level tokenizer with single-token specials.
//
// Ids 0..6 are the specials <pad> <bos> <eos> <think> </think> <answer>
// </answer>; then '\n' and printable ASCII except '<' and '>', which only
// ever start a special. So "<thinking>" in a text is an unknown special token
// (an InputError), never silently split into characters.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace r1lab {

class Tokenizer {
 public:
  static constexpr int kPad = 0, kBos = 1, kEos = 2, kThink = 3, kEndThink = 4, kAnswer = 5,
                       kEndAnswer = 6, kNumSpecials = 7;

  // The one vocabulary r1lab uses; checkpoints record it and refuse another.
  static const Tokenizer& Get();

  int vocab_size() const { return static_cast<int>(pieces_.size()); }
  // Specials are written by name ("<think>"); throws InputError naming the
  // position of an unknown character or special.
  std::vector<int> Encode(std::string_view text) const;
  // A model input row: <bos> followed by Encode(text).
  std::vector<int> EncodePrompt(std::string_view text) const;
  std::string Decode(const std::vector<int>& ids) const;
  std::string Piece(int id) const;
  // Id of a special by name; InputError listing the known ones otherwise.
  int Special(std::string_view name) const;
  // All pieces joined, to store in checkpoints.
  std::string Fingerprint() const;

 private:
  Tokenizer();
  std::vector<std::string> pieces_;
  int char_to_id_[256];
};

}  // namespace r1lab

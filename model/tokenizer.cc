#include "tokenizer.h"

#include "error.h"

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

const Tokenizer& Tokenizer::Get() {
  static const Tokenizer t;
  return t;
}

std::vector<int> Tokenizer::EncodePrompt(std::string_view text) const {
  std::vector<int> ids = {kBos};
  const std::vector<int> body = Encode(text);
  ids.insert(ids.end(), body.begin(), body.end());
  return ids;
}

std::vector<int> Tokenizer::Encode(std::string_view text) const {
  std::vector<int> ids;
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
  std::string out;
  for (int id : ids) out += Piece(id);
  return out;
}

std::string Tokenizer::Piece(int id) const {
  if (id < 0 || id >= vocab_size()) throw InputError("token id " + std::to_string(id) + " is outside the vocabulary");
  return pieces_[id];
}

int Tokenizer::Special(std::string_view name) const {
  for (int i = 0; i < kNumSpecials; ++i)
    if (name == kSpecialNames[i]) return i;
  std::string known;
  for (const char* s : kSpecialNames) known += std::string(known.empty() ? "" : " ") + s;
  throw InputError("unknown special token '" + std::string(name) + "'; known: " + known);
}

std::string Tokenizer::Fingerprint() const {
  std::string s;
  for (const auto& p : pieces_) s += p + "\x1f";
  return s;
}

}  // namespace r1lab

#include "core/tokenizers/vocabulary.h"

#include <algorithm>
#include <fstream>
#include <sstream>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "core/tokenizers/unicode.h"

namespace attnserve {

absl::StatusOr<Vocabulary> Vocabulary::LoadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(
        absl::StrCat("cannot open WordPiece vocabulary file ", path,
                     " (a BERT tokenizer folder needs vocab.txt)"));
  }
  std::ostringstream contents;
  contents << in.rdbuf();
  if (in.bad()) {
    return absl::DataLossError(absl::StrCat("error reading ", path));
  }
  return FromText(contents.str(), path);
}

absl::StatusOr<Vocabulary> Vocabulary::FromText(
    std::string_view contents, const std::string& source_name) {
  Vocabulary vocab;
  size_t pos = 0;
  while (pos < contents.size()) {
    size_t end = contents.find_first_of("\r\n", pos);
    if (end == std::string_view::npos) end = contents.size();
    std::string_view line = contents.substr(pos, end - pos);
    absl::StatusOr<std::u32string> chars = DecodeUtf8(line);
    if (!chars.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(source_name, " line ", vocab.tokens_.size() + 1, ": ",
                       chars.status().message()));
    }
    const int id = static_cast<int>(vocab.tokens_.size());
    vocab.tokens_.emplace_back(line);
    vocab.ids_[std::string(line)] = id;
    vocab.max_token_chars_ =
        std::max(vocab.max_token_chars_, static_cast<int>(chars->size()));
    pos = end;
    if (pos < contents.size()) {
      // "\r\n" is one terminator, as in Python's universal-newline mode.
      pos += (contents[pos] == '\r' && pos + 1 < contents.size() &&
              contents[pos + 1] == '\n')
                 ? 2
                 : 1;
    }
  }
  if (vocab.tokens_.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        source_name,
        " is empty: a WordPiece vocabulary needs one token per line"));
  }
  return vocab;
}

std::optional<int> Vocabulary::Find(std::string_view token) const {
  auto it = ids_.find(absl::string_view(token.data(), token.size()));
  if (it == ids_.end()) return std::nullopt;
  return it->second;
}

}  // namespace attnserve

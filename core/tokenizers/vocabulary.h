#ifndef ATTNSERVE_CORE_TOKENIZERS_VOCABULARY_H_
#define ATTNSERVE_CORE_TOKENIZERS_VOCABULARY_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"

namespace attnserve {

// A WordPiece vocab.txt: one token per line, id = 0-based line number. Read
// like transformers' load_vocab (Python text mode: "\n", "\r\n" and "\r" all
// end a line; only the line terminator is removed; a repeated token maps to its
// last line).
class Vocabulary {
 public:
  static absl::StatusOr<Vocabulary> LoadFile(const std::string& path);
  static absl::StatusOr<Vocabulary> FromText(std::string_view contents,
                                             const std::string& source_name);

  std::optional<int> Find(std::string_view token) const;
  // Number of lines (ids are 0..num_lines()-1).
  int num_lines() const { return static_cast<int>(tokens_.size()); }
  const std::string& token(int id) const { return tokens_[id]; }
  // Longest token in code points; a longer candidate piece can never match.
  int max_token_chars() const { return max_token_chars_; }

 private:
  std::vector<std::string> tokens_;
  absl::flat_hash_map<std::string, int> ids_;
  int max_token_chars_ = 0;
};

}  // namespace attnserve

#endif  // ATTNSERVE_CORE_TOKENIZERS_VOCABULARY_H_

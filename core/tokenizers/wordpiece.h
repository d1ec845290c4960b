#ifndef ATTNSERVE_CORE_TOKENIZERS_WORDPIECE_H_
#define ATTNSERVE_CORE_TOKENIZERS_WORDPIECE_H_

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "core/tokenizers/bert_basic_tokenizer.h"
#include "core/tokenizers/encoding.h"
#include "core/tokenizers/tokenizer.h"
#include "core/tokenizers/vocabulary.h"

namespace attnserve {

// Hugging Face's slow BertTokenizer (transformers 4.57), token for token:
// literal added / special tokens are split out first, the rest goes through
// BasicTokenizer and greedy longest-match-first WordPiece; the result is
// wrapped in [CLS] ... [SEP]. Thread-safe: Encode is const and keeps no mutable
// state.
class WordpieceTokenizer : public Tokenizer {
 public:
  // Reads vocab.txt, tokenizer_config.json and special_tokens_map.json (both
  // optional, BertTokenizer defaults otherwise) from `folder`. tokenizer.json
  // is not read: the slow tokenizer this class reproduces ignores it too.
  static absl::StatusOr<std::unique_ptr<WordpieceTokenizer>> Load(
      const std::string& folder);

  // [CLS] pieces [SEP]. If that exceeds max_tokens: InvalidArgument unless
  // `truncate`, which drops pieces from the end so exactly max_tokens remain
  // ([SEP] stays last) and sets Encoding::truncated. Invalid UTF-8:
  // InvalidArgument naming the byte offset.
  absl::StatusOr<Encoding> Encode(std::string_view text, bool truncate,
                                  int max_tokens) const override;

  int pad_id() const { return pad_id_; }
  int cls_id() const { return cls_id_; }
  int sep_id() const { return sep_id_; }
  int unk_id() const { return unk_id_; }
  // Ids are 0..vocab_size()-1 (vocab.txt lines and added tokens).
  int vocab_size() const override { return vocab_size_; }
  // tokenizer_config.json model_max_length, or INT_MAX when absent.
  int model_max_length() const override { return model_max_length_; }

 private:
  // A token matched literally in the raw text (transformers' tokens_trie).
  struct AddedToken {
    std::u32string content;
    std::string content_utf8;
    int id = 0;
    bool lstrip = false;
    bool rstrip = false;
    bool single_word = false;
  };
  class PieceSink;

  explicit WordpieceTokenizer(Vocabulary vocab) : vocab_(std::move(vocab)) {}

  std::u32string LowerCaseOutsideProtected(std::u32string_view text) const;
  std::vector<std::u32string> SplitOnAddedTokens(
      std::u32string_view text) const;
  void ApplyAddedTokenStripping(std::vector<std::u32string>* chunks) const;
  const AddedToken* FindAddedToken(std::string_view utf8) const;
  void TokenizeChunk(const std::u32string& chunk, PieceSink* sink) const;
  void AppendWordPieces(const std::u32string& word, PieceSink* sink) const;
  int TokenToId(const std::string& token) const;

  Vocabulary vocab_;
  bool lower_case_ = true;
  std::optional<BertBasicTokenizer>
      basic_;  // absent when do_basic_tokenize is false
  absl::flat_hash_set<std::string>
      never_split_;  // tokenizer_config never_split
  std::vector<AddedToken> added_tokens_;
  absl::flat_hash_map<std::string, int>
      added_index_;  // content -> added_tokens_
  // Strings the lower-casing pass leaves alone, in transformers' regex
  // alternation order.
  std::vector<std::u32string> lowercase_protected_;
  std::string unk_piece_, cls_piece_, sep_piece_;
  int pad_id_ = 0, cls_id_ = 0, sep_id_ = 0, unk_id_ = 0;
  int vocab_size_ = 0;
  int model_max_length_ = 0;
};

}  // namespace attnserve

#endif  // ATTNSERVE_CORE_TOKENIZERS_WORDPIECE_H_

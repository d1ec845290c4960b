#ifndef ATTNSERVE_CORE_TOKENIZERS_HF_TOKENIZER_H_
#define ATTNSERVE_CORE_TOKENIZERS_HF_TOKENIZER_H_

#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "core/tokenizers/bert_tokenizer_config.h"
#include "core/tokenizers/encoding.h"
#include "core/tokenizers/hf_tokenizers_api.h"
#include "core/tokenizers/tokenizer.h"

namespace attnserve {

// A tokenizer.json run by Hugging Face's own `tokenizers` (the Rust crate
// behind transformers' fast tokenizers, linked in through
// core/tokenizers/hf_tokenizers_api.h): WordPiece, byte-level BPE, Unigram
// with its precompiled normalizer, Metaspace, added tokens and the
// post-processor's special tokens, id for id as the fast tokenizer.
// Thread-safe: every method is const and the shim does not mutate the
// tokenizer.
class HfTokenizer : public Tokenizer {
 public:
  // Reads <folder>/tokenizer.json, and model_max_length and the special tokens
  // from tokenizer_config.json / special_tokens_map.json when present. A
  // folder with vocab.txt but no tokenizer.json gets the tokenizer.json
  // transformers converts from it (BertTokenizerJson), as AutoTokenizer does.
  // Errors name the file.
  static absl::StatusOr<std::unique_ptr<HfTokenizer>> Load(
      const std::string& folder);
  // The tokenizer of a tokenizer.json text with `config`'s model_max_length
  // and special tokens; `source` names it in error messages.
  static absl::StatusOr<std::unique_ptr<HfTokenizer>> FromJson(
      std::string_view json, const BertTokenizerConfig& config,
      std::string source);

  using Tokenizer::Encode;
  // The text with the tokenizer's special tokens. Longer than max_tokens:
  // InvalidArgument unless `truncate`, which cuts it as transformers does with
  // truncation=True, max_length=max_tokens, truncation_side="left"/"right"
  // (special tokens kept) and sets Encoding::truncated. Invalid UTF-8:
  // InvalidArgument naming the byte offset.
  absl::StatusOr<Encoding> Encode(std::string_view text, bool truncate,
                                  int max_tokens,
                                  TruncationSide side) const override;
  bool IsSpecial(int id) const override {
    return std::find(special_ids_.begin(), special_ids_.end(), id) !=
           special_ids_.end();
  }
  // What an empty second text of a pair means. transformers' tok(a, "") (the
  // text-classification pipeline's {"text": a, "text_pair": ""}) tests `if
  // text_pair` and encodes `a` alone; its batch call tok([[a, ""]])
  // (CrossEncoder.predict) keeps the pair: [CLS] a [SEP] [SEP].
  enum class EmptyPair { kSingle, kPair };
  // The pair (a, b) as one sequence (cross-encoders) with its token type ids
  // (Encoding::type_ids); truncation is transformers' longest_first (tokens
  // come off the longer text, one at a time; the right end of each).
  absl::StatusOr<Encoding> EncodePair(
      std::string_view a, std::string_view b, bool truncate, int max_tokens,
      EmptyPair empty = EmptyPair::kSingle) const;

  // Ids are 0..vocab_size()-1 (model vocabulary and added tokens).
  int vocab_size() const override { return vocab_size_; }
  // tokenizer_config.json model_max_length, or INT_MAX when absent.
  int model_max_length() const override { return model_max_length_; }
  std::optional<int> TokenToId(std::string_view token) const;
  // The configured pad / cls (BERT) or <s> / sep or </s> tokens, when the
  // tokenizer has them.
  std::optional<int> pad_id() const { return pad_id_; }
  std::optional<int> cls_id() const { return cls_id_; }
  std::optional<int> sep_id() const { return sep_id_; }

 private:
  struct HandleDeleter {
    void operator()(AttnserveHfTokenizer* t) const { attnserve_hf_destroy(t); }
  };

  HfTokenizer(AttnserveHfTokenizer* handle, std::string path)
      : handle_(handle), path_(std::move(path)) {}

  // Takes the shim's result (NULL: `error` says why) and reads the settings
  // of `config`.
  static absl::StatusOr<std::unique_ptr<HfTokenizer>> Wrap(
      AttnserveHfTokenizer* handle, char* error,
      const BertTokenizerConfig& config, std::string source);

  absl::StatusOr<Encoding> EncodeChecked(std::string_view a,
                                         const std::string_view* b,
                                         bool truncate, int max_tokens,
                                         TruncationSide side,
                                         EmptyPair empty) const;

  std::unique_ptr<AttnserveHfTokenizer, HandleDeleter> handle_;
  std::string path_;  // tokenizer.json (or vocab.txt), for error messages
  int vocab_size_ = 0;
  int model_max_length_ = 0;
  std::optional<int> pad_id_, cls_id_, sep_id_;
  std::vector<int> special_ids_;  // a handful: unk, sep, pad, cls, mask, ...
};

}  // namespace attnserve

#endif  // ATTNSERVE_CORE_TOKENIZERS_HF_TOKENIZER_H_

#ifndef ATTNSERVE_CORE_TOKENIZERS_MARIAN_TOKENIZER_H_
#define ATTNSERVE_CORE_TOKENIZERS_MARIAN_TOKENIZER_H_

// Hugging Face MarianTokenizer (slow, sentencepiece-based; transformers 4.57)
// for opus-mt style folders. See tests/data/README.md ("MarianTokenizer (source
// side)", "Decoding text").

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "core/tokenizers/encoding.h"
#include "core/tokenizers/sentencepiece.h"

namespace attnserve {

class MarianTokenizer {
 public:
  // Reads source.spm, target.spm, vocab.json (plus target_vocab.json when
  // tokenizer_config.json says separate_vocabs), tokenizer_config.json and
  // special_tokens_map.json from `folder`.
  static absl::StatusOr<std::unique_ptr<MarianTokenizer>> Load(
      const std::string& folder);

  // Source text -> model ids: literal special tokens (e.g. "</s>") are split
  // out first, the rest goes through source.spm, pieces map through vocab.json
  // (missing -> <unk>), then </s>. More than `max_tokens` ids: InvalidArgument,
  // or with `truncate` the first max_tokens-1 pieces + </s>. A non-empty
  // `target_language` ("de" or ">>de<<") prepends that language token
  // (InvalidArgument if the vocab lacks it). Invalid UTF-8: InvalidArgument.
  absl::StatusOr<Encoding> EncodeSource(
      std::string_view text, bool truncate, int max_tokens,
      std::string_view target_language = {}) const;

  // HF decode(ids, skip_special_tokens=True): special tokens dropped,
  // target.spm DecodePieces, "▁" -> " ", strip. Works on any prefix of a
  // generated sequence (for streaming).
  std::string Decode(absl::Span<const int32_t> ids) const;

  int eos_id() const { return eos_id_; }
  int pad_id() const { return pad_id_; }
  int unk_id() const { return unk_id_; }
  int vocab_size() const { return static_cast<int>(encoder_.size()); }
  int model_max_length() const { return model_max_length_; }
  // ">>xx<<" entries of the source vocab, by id (empty for single-target
  // models).
  std::vector<std::string> target_language_tokens() const {
    return language_tokens_;
  }
  std::string source_lang() const { return source_lang_; }
  std::string target_lang() const { return target_lang_; }

 private:
  MarianTokenizer() = default;

  absl::Status ReadConfig(const std::string& folder);
  absl::Status ReadVocabs(const std::string& folder);
  absl::Status ResolveSpecialTokens();

  // Appends the pieces of a text without special tokens (HF _tokenize).
  absl::Status TokenizeSegment(std::string_view segment,
                               std::vector<std::string>* pieces) const;
  int32_t TokenToId(const std::string& token) const;
  // Returns the vocab token for a target language, or InvalidArgument listing
  // the choices.
  absl::StatusOr<std::string> LanguageToken(std::string_view language) const;

  std::unique_ptr<SpmModel> source_spm_;
  std::unique_ptr<SpmModel> target_spm_;
  absl::flat_hash_map<std::string, int32_t> encoder_;  // source vocab
  absl::flat_hash_map<int32_t, std::string> decoder_;  // target ids -> pieces
  absl::flat_hash_map<std::string, int32_t>
      added_tokens_;  // tokenizer_config added tokens
  absl::flat_hash_map<int32_t, std::string> added_tokens_by_id_;
  std::vector<std::string>
      split_tokens_;  // matched literally in the text, longest first
  absl::flat_hash_set<std::string> special_tokens_;  // HF all_special_tokens
  absl::flat_hash_set<int32_t> special_ids_;         // HF all_special_ids
  std::vector<std::string> language_tokens_;
  std::string eos_token_ = "</s>", unk_token_ = "<unk>", pad_token_ = "<pad>";
  std::vector<std::string> additional_special_tokens_;
  int32_t eos_id_ = 0, unk_id_ = 0, pad_id_ = 0;
  int model_max_length_ = 512;
  bool separate_vocabs_ = false;
  std::string source_lang_, target_lang_;
};

}  // namespace attnserve

#endif  // ATTNSERVE_CORE_TOKENIZERS_MARIAN_TOKENIZER_H_

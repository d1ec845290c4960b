#ifndef ATTNSERVE_CORE_TOKENIZERS_TOKENIZER_H_
#define ATTNSERVE_CORE_TOKENIZERS_TOKENIZER_H_

#include <string_view>

#include "absl/status/statusor.h"
#include "core/tokenizers/encoding.h"

namespace attnserve {

// Which end of an over-long text truncation cuts (transformers'
// truncation_side): the end (right, the default) or the beginning (left, for
// texts whose end matters most, e.g. a conversation's latest turns). The
// special tokens stay either way.
enum class TruncationSide { kRight, kLeft };

// What an encoder model needs of its tokenizer: text -> ids with the model's
// special tokens. Implementation: HfTokenizer (tokenizer.json, or the one
// converted from vocab.txt, through Hugging Face's own `tokenizers`).
// Thread-safe.
class Tokenizer {
 public:
  virtual ~Tokenizer() = default;

  // The text's ids with special tokens. Over max_tokens: InvalidArgument
  // unless `truncate`, which cuts the text's pieces at `side` (special tokens
  // stay) so exactly max_tokens remain and sets Encoding::truncated. Invalid
  // UTF-8: InvalidArgument naming the byte offset.
  virtual absl::StatusOr<Encoding> Encode(std::string_view text, bool truncate,
                                          int max_tokens,
                                          TruncationSide side) const = 0;
  // The same, truncating on the right.
  absl::StatusOr<Encoding> Encode(std::string_view text, bool truncate,
                                  int max_tokens) const {
    return Encode(text, truncate, max_tokens, TruncationSide::kRight);
  }
  // `id` is one of the tokenizer's special tokens (transformers'
  // all_special_ids: unk, sep, pad, cls, mask and the additional ones).
  virtual bool IsSpecial(int id) const = 0;
  // Ids are 0..vocab_size()-1 (including added tokens).
  virtual int vocab_size() const = 0;
  // tokenizer_config.json model_max_length, or INT_MAX when absent.
  virtual int model_max_length() const = 0;
};

}  // namespace attnserve

#endif  // ATTNSERVE_CORE_TOKENIZERS_TOKENIZER_H_

#ifndef ATTNSERVE_CORE_TOKENIZERS_BERT_TOKENIZER_CONFIG_H_
#define ATTNSERVE_CORE_TOKENIZERS_BERT_TOKENIZER_CONFIG_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace attnserve {

// One transformers AddedToken (a special token or an entry of
// added_tokens_decoder).
struct AddedTokenSpec {
  std::string content;
  std::optional<int> id;  // known when listed in added_tokens_decoder
  bool special = true;
  bool lstrip = false;
  bool rstrip = false;
  bool single_word = false;
  // Unset: transformers' AddedToken default, not special.
  std::optional<bool> normalized;

  bool normalizes() const {
    return normalized.has_value() ? *normalized : !special;
  }
};

// The BertTokenizer settings of a Hugging Face tokenizer folder, with the
// defaults of transformers' BertTokenizer.__init__ for anything the files do
// not set.
struct BertTokenizerConfig {
  bool do_lower_case = true;
  bool do_basic_tokenize = true;
  std::optional<bool> strip_accents;  // unset: follows do_lower_case
  bool tokenize_chinese_chars = true;
  bool do_split_on_punc = true;
  std::vector<std::string> never_split;
  // Absent when the files set the token to null.
  std::optional<AddedTokenSpec> unk_token, sep_token, pad_token, cls_token,
      mask_token;
  std::vector<AddedTokenSpec> additional_special_tokens;
  std::vector<AddedTokenSpec> added_tokens_decoder;
  long long model_max_length = 0;  // 0: not set

  bool strips_accents() const {
    return strip_accents.has_value() ? *strip_accents : do_lower_case;
  }
};

// Reads tokenizer_config.json and special_tokens_map.json from `folder` (each
// optional; tokenizer_config.json wins where both set a special token). Errors
// name the file.
absl::StatusOr<BertTokenizerConfig> LoadBertTokenizerConfig(
    const std::string& folder);

}  // namespace attnserve

#endif  // ATTNSERVE_CORE_TOKENIZERS_BERT_TOKENIZER_CONFIG_H_

#ifndef ATTNSERVE_CORE_TOKENIZERS_BERT_BASIC_TOKENIZER_H_
#define ATTNSERVE_CORE_TOKENIZERS_BERT_BASIC_TOKENIZER_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_set.h"

namespace attnserve {

// transformers' BasicTokenizer (models/bert/tokenization_bert.py): clean text,
// isolate CJK ideographs, NFC, whitespace split, strip accents, split on
// punctuation.
//
// Lower-casing is NOT done here: transformers' PreTrainedTokenizer.tokenize
// already lower-cases the whole text (code point by code point, Python
// str.lower) before the basic tokenizer runs, which makes the basic tokenizer's
// own token.lower() a no-op. The caller does that pass (see
// LowerCasePreservingTokens).
class BertBasicTokenizer {
 public:
  struct Options {
    bool strip_accents = true;
    bool tokenize_chinese_chars = true;
    bool split_on_punctuation = true;
    // UTF-8 words kept whole (no accent stripping, no punctuation split).
    absl::flat_hash_set<std::string> never_split;
  };

  explicit BertBasicTokenizer(Options options) : options_(std::move(options)) {}

  // Returns the words of `text` (code points).
  std::vector<std::u32string> Tokenize(std::u32string_view text) const;

 private:
  void SplitOnPunctuation(const std::u32string& word,
                          std::vector<std::u32string>* out) const;

  Options options_;
};

// The exact _is_chinese_char ranges of transformers (CJK Unified Ideographs
// blocks, not kana or hangul).
bool IsBertChineseChar(char32_t cp);
// transformers' _is_punctuation: ASCII symbol ranges 33-47, 58-64, 91-96,
// 123-126 or P*.
bool IsBertPunctuation(char32_t cp);

}  // namespace attnserve

#endif  // ATTNSERVE_CORE_TOKENIZERS_BERT_BASIC_TOKENIZER_H_

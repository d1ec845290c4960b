#ifndef ATTNSERVE_CORE_TOKENIZERS_BERT_TOKENIZER_JSON_H_
#define ATTNSERVE_CORE_TOKENIZERS_BERT_TOKENIZER_JSON_H_

#include <string>

#include "absl/status/statusor.h"
#include "core/tokenizers/bert_tokenizer_config.h"
#include "core/tokenizers/vocabulary.h"

namespace attnserve {

// The tokenizer.json that transformers builds when AutoTokenizer (and so
// SentenceTransformer) loads a BERT folder with vocab.txt but no
// tokenizer.json: BertTokenizerFast converts the slow tokenizer with
// convert_slow_tokenizer.BertConverter (BertNormalizer, BertPreTokenizer,
// WordPiece, the [CLS] $A [SEP] template, WordPiece decoder), then overrides
// the normalizer with do_lower_case / strip_accents / tokenize_chinese_chars
// and adds added_tokens_decoder and the special tokens as
// PreTrainedTokenizerFast.__init__ does (same order, so the same ids).
// do_basic_tokenize and never_split are not part of it: the fast tokenizer
// ignores them. Errors name the setting (a null unk/cls/sep token).
absl::StatusOr<std::string> BertTokenizerJson(const Vocabulary& vocab,
                                              const BertTokenizerConfig& config,
                                              const std::string& folder);

}  // namespace attnserve

#endif  // ATTNSERVE_CORE_TOKENIZERS_BERT_TOKENIZER_JSON_H_

#ifndef ATTNSERVE_CORE_TOKENIZERS_ENCODING_H_
#define ATTNSERVE_CORE_TOKENIZERS_ENCODING_H_

#include <cstdint>
#include <string>
#include <vector>

namespace attnserve {

// One tokenized text as a model sees it: ids include the special tokens the
// model adds
// ([CLS] ... [SEP] for BERT, ... </s> for Marian); pieces are the matching
// token strings.
struct Encoding {
  std::vector<int32_t> ids;
  std::vector<std::string> pieces;
  // Token type (segment) ids, one per id, from tokenizers that have them
  // (HfTokenizer: 0 for the first text and its special tokens, 1 for a pair's
  // second text); empty otherwise, which means all 0.
  std::vector<int32_t> type_ids;
  bool truncated = false;  // the text was cut to the model's maximum
};

}  // namespace attnserve

#endif  // ATTNSERVE_CORE_TOKENIZERS_ENCODING_H_

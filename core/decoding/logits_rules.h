#ifndef ATTNSERVE_CORE_DECODING_LOGITS_RULES_H_
#define ATTNSERVE_CORE_DECODING_LOGITS_RULES_H_

#include <cstdint>
#include <vector>

#include "absl/types/span.h"

namespace attnserve {

// The Hugging Face logits processors Marian generation uses
// (transformers 4.57): NoBadWordsLogitsProcessor (bad_words_ids) and
// ForcedEOSTokenLogitsProcessor.
class LogitsRules {
 public:
  // As HF, bad-word sequences equal to [eos] are dropped. forced_eos_token_id
  // -1 = none.
  LogitsRules(std::vector<std::vector<int32_t>> bad_words_ids,
              int forced_eos_token_id, std::vector<int32_t> eos_token_ids);

  // Sets banned tokens to -inf. prefix = the row's decoder input so far
  // (decoder start token + generated tokens): a bad word [a, b, c] bans c when
  // the prefix ends with a, b.
  void BanBadWords(absl::Span<const int32_t> prefix, float* scores,
                   int vocab) const;
  // At the step that generates the last allowed token (HF: cur_len ==
  // max_length - 1): every score -inf except the forced </s>, which becomes 0.
  // No-op without forced_eos_token_id.
  void ForceEos(float* scores, int vocab) const;
  // BanBadWords, then ForceEos when last_step (HF processor order).
  void Apply(absl::Span<const int32_t> prefix, bool last_step, float* scores,
             int vocab) const;

  bool IsEos(int32_t token) const;
  const std::vector<int32_t>& eos_token_ids() const { return eos_; }

 private:
  std::vector<int32_t> single_bad_;                 // banned at every step
  std::vector<std::vector<int32_t>> sequence_bad_;  // banned after their prefix
  int forced_eos_;
  std::vector<int32_t> eos_;
};

// out[i] = x[i] - max - log(Σ exp(x - max)) (torch.log_softmax); out may alias
// x.
void LogSoftmax(const float* x, float* out, int n);
// LogSoftmax(x)[index] without writing the other entries (same arithmetic).
float LogSoftmaxAt(const float* x, int n, int index);
// Index of the first maximum (torch.argmax).
int Argmax(const float* x, int n);

}  // namespace attnserve

#endif  // ATTNSERVE_CORE_DECODING_LOGITS_RULES_H_

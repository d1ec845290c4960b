#ifndef ATTNSERVE_CORE_POOLING_H_
#define ATTNSERVE_CORE_POOLING_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "core/layers/packed_layout.h"
#include "core/models/sentence_encoder.h"
#include "core/tensor.h"

namespace attnserve {

// The sentence-transformers pipeline after the Transformer module.
struct PoolingConfig {
  Pooling mode = Pooling::kMean;
  bool normalize = false;  // modules.json has a Normalize module
  int max_seq_length = 0;  // sentence_bert_config.json; 0 = not given
  // 1_Pooling/config.json; false: a prompt's tokens are left out of the pool
  // (SentenceEncoder::ExcludedPromptTokens).
  bool include_prompt = true;
};

// Reads modules.json (Transformer, Pooling with its path, Normalize), the
// pooling module's config.json (exactly one of mean / cls / max) and
// sentence_bert_config.json. A folder without modules.json is a plain HF model:
// mean pooling, no normalisation (the sentence-transformers default when it
// wraps a bare transformers model). Modules that would change the output and
// are not implemented (Dense, other pooling modes) are rejected naming the
// file.
absl::StatusOr<PoolingConfig> ReadPoolingConfig(const std::string& folder);

// out[b] = pooled hidden[b] ([batch, len, dim]) over positions with mask 1, as
// sentence-transformers: mean = Σ h·m / max(Σ m, 1e-9); cls = h[b,0]; max = max
// over masked tokens (padding set to -1e9). normalize: x / max(‖x‖₂, 1e-12).
void PoolHiddenStates(const Tensor& hidden, absl::Span<const int32_t> mask,
                      Pooling mode, bool normalize,
                      std::vector<std::vector<float>>* out);
// The same over a packed ragged batch (hidden: [layout.rows(), dim], see
// PackedLayout, every row a real token): out[i] = sequence i pooled, in request
// order; an empty sequence pools to zeros (mean, cls) or -1e9 (max).
// excluded_prefix: empty, or per sequence how many leading rows get mask 0
// (sentence-transformers' attention_mask[:, :prompt_length] = 0 for
// include_prompt false; cls still takes row 0, as there).
void PoolPackedRows(const Tensor& hidden, const PackedLayout& layout,
                    absl::Span<const int> excluded_prefix, Pooling mode,
                    bool normalize, std::vector<std::vector<float>>* out);

}  // namespace attnserve

#endif  // ATTNSERVE_CORE_POOLING_H_

#ifndef ATTNSERVE_CORE_POOLING_H_
#define ATTNSERVE_CORE_POOLING_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "core/heads/dense.h"
#include "core/layers/packed_layout.h"
#include "core/models/sentence_encoder.h"
#include "core/tensor.h"

namespace attnserve {

// The sentence-transformers pipeline after the Transformer module, as
// modules.json lists it: Pooling, then Dense and Normalize modules in their
// order.
struct SentencePipeline {
  // A module after Pooling: a Dense, or a Normalize (no dense).
  struct Step {
    std::optional<DenseModule> dense;
  };

  std::string transformer_path;  // the Transformer module's folder; "" = the
                                 // folder itself
  PoolingModes pooling = Pooling::kMean;
  // 1_Pooling/config.json; false: a prompt's tokens are left out of the pool
  // (prompts are applied by the caller; this only records the folder's
  // setting).
  bool include_prompt = true;
  int max_seq_length = 0;  // sentence_bert_config.json; 0 = not given
  std::vector<Step> steps;

  bool normalize() const;           // has a Normalize module
  int64_t parameter_count() const;  // of the Dense modules
  // Values per embedding when pooling with `pooling` over hidden_size-wide
  // token vectors.
  int Dimensions(PoolingModes pooling, int hidden_size) const;
  // InvalidArgument unless the first Dense (if any) takes pooling.count() x
  // hidden_size values.
  absl::Status CheckPooling(PoolingModes pooling, int hidden_size) const;
  // The steps on a pooled vector; normalize: false skips the Normalize modules,
  // true adds one at the end when there is none.
  void Apply(bool normalize, std::vector<float>* v) const;
};

// Reads modules.json in order, each module's folder found through its `path`:
// Transformer (first; its folder holds the encoder and
// sentence_bert_config.json), Pooling (next; its config.json: every
// pooling_mode_* flag or pooling_mode, and include_prompt), then Dense
// (config.json and weights, core/heads/dense.h; each Dense must take what the
// previous one gives) and Normalize (no files: its folder may be absent)
// modules in any order. A folder without modules.json is a plain HF model: mean
// pooling, no normalisation (the sentence-transformers default when it wraps a
// bare transformers model). An unknown module type fails, naming it and the
// supported ones. Sizes against the encoder: CheckPooling.
absl::StatusOr<SentencePipeline> ReadSentencePipeline(
    const std::string& folder);

// out[b] = pooled hidden[b] ([batch, len, dim]) over positions with mask 1, as
// sentence-transformers' Pooling.forward: cls = h[b,0]; max = max over masked
// tokens (padding set to -1e9); mean = Σ h·m / max(Σ m, 1e-9);
// mean_sqrt_len_tokens = Σ h·m / √max(Σ m, 1e-9); weightedmean = Σ (t+1)·h·m /
// max(Σ (t+1)·m, 1e-9) (t the position in the sequence); lasttoken = h at the
// last position with mask 1; several modes concatenated (cls, max, mean,
// mean_sqrt_len_tokens, weightedmean, lasttoken). normalize: x / max(‖x‖₂,
// 1e-12).
void PoolHiddenStates(const Tensor& hidden, absl::Span<const int32_t> mask,
                      PoolingModes pooling, bool normalize,
                      std::vector<std::vector<float>>* out);
// The same over a packed ragged batch (hidden: [layout.rows(), dim], see
// PackedLayout, every row a real token): out[i] = sequence i pooled, in request
// order; an empty sequence pools to zeros (mean, cls) or -1e9 (max).
// excluded_prefix: empty, or per sequence how many leading rows get mask 0
// (sentence-transformers' attention_mask[:, :prompt_length] = 0 for
// include_prompt false; cls still takes row 0, as there).
void PoolPackedRows(const Tensor& hidden, const PackedLayout& layout,
                    absl::Span<const int> excluded_prefix, PoolingModes pooling,
                    bool normalize, std::vector<std::vector<float>>* out);

// v / max(‖v‖₂, 1e-12) (torch.nn.functional.normalize).
void NormalizeL2(std::vector<float>* v);

}  // namespace attnserve

#endif  // ATTNSERVE_CORE_POOLING_H_

#ifndef ATTNSERVE_CORE_MODELS_TRANSFORMER_ENCODER_H_
#define ATTNSERVE_CORE_MODELS_TRANSFORMER_ENCODER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "core/dtype.h"
#include "core/layers/encoder_layer.h"
#include "core/layers/packed_layout.h"
#include "core/models/encoder_config.h"
#include "core/ops/dnnl_context.h"
#include "core/ops/layer_norm.h"

namespace attnserve {

// Bytes of activations one ForwardPacked of texts with these token counts
// holds at once (an upper estimate; SentenceEncoder::EstimateEncodeBytes).
int64_t EstimateEncoderForwardBytes(const EncoderConfig& config,
                                    absl::Span<const int> lengths);
// Parameters of the model, whatever dtype they are stored in.
int64_t EncoderParameterCount(const EncoderConfig& config);

// All parameters of a Transformer encoder, PyTorch layouts. Filled by an
// architecture's reader (core/models/encoder_architecture.h) or randomly
// (benchmarks).
struct EncoderWeights {
  Tensor word_embeddings;        // [vocab, hidden]
  Tensor position_embeddings;    // [max_positions, hidden]
  Tensor token_type_embeddings;  // [type_vocab, hidden]; empty when 0 types
  Tensor embeddings_ln_g, embeddings_ln_b;
  std::vector<EncoderLayerWeights> layers;
  Tensor relative_attention_bias;  // [buckets, heads] (MPNet), else empty
};

// Checks every shape against the config (for weights not read from a file).
absl::Status ValidateEncoderWeights(const EncoderWeights& w,
                                    const EncoderConfig& c);

// A Transformer encoder (HF BertModel, RobertaModel, XLMRobertaModel,
// DistilBertModel, MPNetModel ... without a pooler or task head) on oneDNN, in
// the precision of LoadOptions::dtype (see core/dtype.h; bfloat16 is refused
// with FailedPrecondition where oneDNN has no fast bf16 matmul) with
// LoadOptions::threads compute threads. What differs between architectures is
// in EncoderConfig. Forward is not thread-safe: one thread at a time (it
// reuses the instance's activation buffers and primitives).
class TransformerEncoder {
 public:
  // Reads <folder>/config.json (model_type picks the architecture) and the
  // weights: model.safetensors, else the sharded
  // model.safetensors.index.json, else pytorch_model.bin, else the sharded
  // pytorch_model.bin.index.json (FolderWeightSource).
  static absl::StatusOr<std::unique_ptr<TransformerEncoder>> Load(
      const std::string& folder, const LoadOptions& options = {});
  static absl::StatusOr<std::unique_ptr<TransformerEncoder>> Create(
      const EncoderConfig& config, EncoderWeights weights,
      const LoadOptions& options = {});

  const EncoderConfig& config() const { return config_; }
  DType dtype() const { return options_.dtype; }
  // The oneDNN context the model runs on (benchmarks: profiling).
  DnnlContext* context() { return ctx_.get(); }

  // A ragged batch without padding (what SentenceEncoder runs): seqs[i] = the
  // ids of sequence i (token types 0, positions per EncoderConfig::positions;
  // empty = no rows). On return *layout says where sequence i's rows are in
  // `hidden` ([rows, hidden], packed, see PackedLayout). hidden_states
  // (optional): the embedding output and the output of every layer, packed
  // the same way (HF output_hidden_states).
  absl::Status ForwardPacked(absl::Span<const absl::Span<const int32_t>> seqs,
                             PackedLayout* layout, Tensor* hidden,
                             std::vector<Tensor>* hidden_states = nullptr) {
    return ForwardPacked(seqs, {}, layout, hidden, hidden_states);
  }
  // The same with token types (pairs of a cross-encoder, HF token_type_ids):
  // token_types empty = all 0 (the Encode path), else token_types[i] holds
  // one type per id of seqs[i], each below config().type_vocab_size
  // (InvalidArgument otherwise; a model without token types only takes 0s).
  absl::Status ForwardPacked(
      absl::Span<const absl::Span<const int32_t>> seqs,
      absl::Span<const absl::Span<const int32_t>> token_types,
      PackedLayout* layout, Tensor* hidden,
      std::vector<Tensor>* hidden_states = nullptr);

  // The Hugging Face shaped call: ids, mask [batch, len] row-major with right
  // padding (each mask row is 1s then 0s; anything else is InvalidArgument),
  // token types 0. Runs ForwardPacked on the real tokens; last_hidden: [batch,
  // len, hidden], hidden_states (optional): embedding output and every
  // layer's output, same shape. Padded positions (mask 0) are 0: HF computes
  // values there that no consumer reads (they never influence the real
  // tokens, whose results are HF's).
  absl::Status Forward(absl::Span<const int32_t> ids,
                       absl::Span<const int32_t> mask, int batch, int len,
                       Tensor* last_hidden,
                       std::vector<Tensor>* hidden_states = nullptr);

 private:
  TransformerEncoder(const EncoderConfig& config, EncoderWeights weights,
                     const LoadOptions& options);
  absl::Status CheckIds(absl::Span<const int32_t> ids) const;
  absl::Status CheckTypes(
      absl::Span<const absl::Span<const int32_t>> seqs,
      absl::Span<const absl::Span<const int32_t>> types) const;
  // seqs_ = the real tokens of each row of a right-padded [batch, len] batch.
  absl::Status ReadLengths(absl::Span<const int32_t> ids,
                           absl::Span<const int32_t> mask, int batch, int len);
  void Embed(absl::Span<const absl::Span<const int32_t>> seqs,
             absl::Span<const absl::Span<const int32_t>> types,
             const PackedLayout& layout, float* out) const;
  // group_bias_[g] = the relative-position bias of LengthGroup g, [count,
  // heads, len, len] (MPNet).
  void BuildPositionBias(const PackedLayout& layout);

  EncoderConfig config_;
  LoadOptions options_;
  std::unique_ptr<DnnlContext> ctx_;  // before the ops that point to it
  Tensor word_, position_, token_type_, relative_bias_;
  std::unique_ptr<LayerNorm> embeddings_ln_;
  std::vector<std::unique_ptr<PostLnEncoderLayer>> layers_;
  EncoderScratch scratch_;
  std::vector<Tensor> group_bias_;
  // Forward (padded API): the rows of each sequence and their packed results.
  std::vector<int> lengths_;
  std::vector<absl::Span<const int32_t>> seqs_;
  PackedLayout layout_;
  Tensor packed_;
  std::vector<Tensor> packed_states_;
};

}  // namespace attnserve

#endif  // ATTNSERVE_CORE_MODELS_TRANSFORMER_ENCODER_H_

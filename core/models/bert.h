#ifndef ATTNSERVE_CORE_MODELS_BERT_H_
#define ATTNSERVE_CORE_MODELS_BERT_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "core/dtype.h"
#include "core/layers/encoder_layer.h"
#include "core/layers/packed_layout.h"
#include "core/models/safetensors.h"
#include "core/ops/dnnl_context.h"
#include "core/ops/layer_norm.h"

namespace attnserve {

// The fields of a Hugging Face BertConfig (config.json) the forward pass
// depends on.
struct BertConfig {
  int vocab_size = 0;
  int hidden_size = 0;
  int num_layers = 0;
  int num_heads = 0;
  int intermediate_size = 0;
  int max_position_embeddings = 0;
  int type_vocab_size = 2;
  float layer_norm_eps = 1e-12f;
  Activation activation = Activation::kGeluErf;
};

// Bytes of activations one ForwardPacked of texts with these token counts
// holds at once (an upper estimate; SentenceEncoder::EstimateEncodeBytes).
int64_t EstimateBertForwardBytes(const BertConfig& config,
                                 absl::Span<const int> lengths);
// Parameters of the model, whatever dtype they are stored in.
int64_t BertParameterCount(const BertConfig& config);

// Reads <folder>/config.json: model_type must be "bert",
// position_embedding_type "absolute", hidden_act a supported activation; errors
// name config.json and the key.
absl::StatusOr<BertConfig> ReadBertConfig(const std::string& folder);

// All parameters, PyTorch layouts. Filled by LoadBertWeights or randomly
// (benchmarks).
struct BertWeights {
  Tensor word_embeddings;        // [vocab, hidden]
  Tensor position_embeddings;    // [max_positions, hidden]
  Tensor token_type_embeddings;  // [type_vocab, hidden]
  Tensor embeddings_ln_g, embeddings_ln_b;
  std::vector<EncoderLayerWeights> layers;
};

// Reads the BertModel tensors from a safetensors file, with or without the
// "bert." prefix (extra heads are ignored). Missing tensor / wrong shape: error
// naming file and tensor.
absl::StatusOr<BertWeights> LoadBertWeights(const SafetensorsFile& file,
                                            const BertConfig& c);
// Checks every shape against the config (for weights not read from a file).
absl::Status ValidateBertWeights(const BertWeights& w, const BertConfig& c);

// BERT encoder (HF BertModel without the pooler) on oneDNN, in the precision
// of LoadOptions::dtype (see core/dtype.h; bfloat16 is refused with
// FailedPrecondition where oneDNN has no fast bf16 matmul) with
// LoadOptions::threads compute threads. Forward is not thread-safe: one thread
// at a time (it reuses the instance's activation buffers and primitives).
class BertModel {
 public:
  static absl::StatusOr<std::unique_ptr<BertModel>> Load(
      const std::string& folder, const LoadOptions& options = {});
  static absl::StatusOr<std::unique_ptr<BertModel>> Create(
      const BertConfig& config, BertWeights weights,
      const LoadOptions& options = {});

  const BertConfig& config() const { return config_; }
  DType dtype() const { return options_.dtype; }
  // The oneDNN context the model runs on (benchmarks: profiling).
  DnnlContext* context() { return ctx_.get(); }

  // A ragged batch without padding (what SentenceEncoder runs): seqs[i] = the
  // ids of sequence i (token types 0, positions 0..size-1; empty = no rows).
  // On return *layout says where sequence i's rows are in `hidden` ([rows,
  // hidden], packed, see PackedLayout). hidden_states (optional): the
  // embedding output and the output of every layer, packed the same way (HF
  // output_hidden_states).
  absl::Status ForwardPacked(absl::Span<const absl::Span<const int32_t>> seqs,
                             PackedLayout* layout, Tensor* hidden,
                             std::vector<Tensor>* hidden_states = nullptr);

  // The Hugging Face shaped call: ids, mask [batch, len] row-major with right
  // padding (each mask row is 1s then 0s; anything else is InvalidArgument),
  // token types 0, positions 0..len-1. Runs ForwardPacked on the real tokens;
  // last_hidden: [batch, len, hidden], hidden_states (optional): embedding
  // output and every layer's output, same shape. Padded positions (mask 0) are
  // 0: HF computes values there that no consumer reads (they never influence
  // the real tokens, whose results are HF's).
  absl::Status Forward(absl::Span<const int32_t> ids,
                       absl::Span<const int32_t> mask, int batch, int len,
                       Tensor* last_hidden,
                       std::vector<Tensor>* hidden_states = nullptr);

 private:
  BertModel(const BertConfig& config, BertWeights weights,
            const LoadOptions& options);
  absl::Status CheckIds(absl::Span<const int32_t> ids) const;
  // seqs_ = the real tokens of each row of a right-padded [batch, len] batch.
  absl::Status ReadLengths(absl::Span<const int32_t> ids,
                           absl::Span<const int32_t> mask, int batch, int len);
  void Embed(absl::Span<const absl::Span<const int32_t>> seqs,
             const PackedLayout& layout, float* out) const;

  BertConfig config_;
  LoadOptions options_;
  std::unique_ptr<DnnlContext> ctx_;  // before the ops that point to it
  Tensor word_, position_, token_type_;
  std::unique_ptr<LayerNorm> embeddings_ln_;
  std::vector<std::unique_ptr<PostLnEncoderLayer>> layers_;
  EncoderScratch scratch_;
  // Forward (padded API): the rows of each sequence and their packed results.
  std::vector<int> lengths_;
  std::vector<absl::Span<const int32_t>> seqs_;
  PackedLayout layout_;
  Tensor packed_;
  std::vector<Tensor> packed_states_;
};

}  // namespace attnserve

#endif  // ATTNSERVE_CORE_MODELS_BERT_H_

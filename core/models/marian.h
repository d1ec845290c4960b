#ifndef ATTNSERVE_CORE_MODELS_MARIAN_H_
#define ATTNSERVE_CORE_MODELS_MARIAN_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/types/span.h"
#include "core/dtype.h"
#include "core/layers/attention.h"
#include "core/layers/encoder_layer.h"
#include "core/layers/kv_cache.h"
#include "core/layers/packed_layout.h"
#include "core/models/marian_config.h"
#include "core/models/weight_reader.h"
#include "core/ops/dnnl_context.h"
#include "core/ops/layer_norm.h"
#include "core/ops/linear.h"
#include "core/tensor.h"

namespace attnserve {

// Which matmuls of a Marian model run in a reduced precision (the others stay
// f32). Attention scores / softmax, LayerNorm, embeddings and the KV caches
// are f32 in every precision.
struct MarianPrecisionPlan {
  DType dtype = DType::kFloat32;
  bool encoder = true;     // encoder attention and FFN projections
  bool ffn_output = true;  // fc2 of every layer (its input is the activation)
  bool cross_kv = true;    // decoder cross-attention K/V (once per source)
  bool lm_head = true;     // output projection (tied embeddings), the largest
  // The plan LoadOptions::dtype selects (chosen by measured greedy agreement
  // with f32, see marian.cc).
  static MarianPrecisionPlan For(DType dtype);
};

// Time spent per part of the decoder steps (benchmarks), collected when
// enabled.
struct DecoderProfile {
  int64_t steps = 0;
  double step_seconds = 0;       // all of DecoderStep
  double linear_seconds = 0;     // Linear::Forward (matmul + int8 quantize)
  double matmul_seconds = 0;     // inside oneDNN matmul primitives
  double attention_seconds = 0;  // KV append + per-row attention
};

// Hugging Face MarianMTModel (transformers 4.57 modeling_marian.py): post-LN
// encoder and decoder, scaled embeddings + static sinusoidal positions, tied LM
// head plus final_logits_bias. The decoder runs one step for many independent
// rows at once (different sentences, source lengths and decoded lengths):
// projections, FFN and logits are batched matmuls over all rows; attention runs
// per row over its own cache. Thread-safe (calls are serialised: the oneDNN
// context and scratch buffers are shared).
class MarianModel {
 public:
  // config.json + model.safetensors of a Hugging Face folder.
  // options: threads and dtype are honoured (weights are converted once here;
  // bfloat16 needs BFloat16MatmulSupported(), FailedPrecondition otherwise).
  static absl::StatusOr<std::unique_ptr<MarianModel>> Load(
      const std::string& folder, const LoadOptions& options = {});
  // Accepts keys with or without the "model." prefix; lm_head.weight,
  // embed_tokens and embed_positions are used when present, else tied to shared
  // / computed as HF does.
  static absl::StatusOr<std::unique_ptr<MarianModel>> Create(
      const MarianConfig& config, const WeightSource& weights,
      const LoadOptions& options = {});
  // As above with an explicit precision plan (measurements of what may stay
  // f32); options.dtype is ignored.
  static absl::StatusOr<std::unique_ptr<MarianModel>> Create(
      const MarianConfig& config, const WeightSource& weights,
      const LoadOptions& options, const MarianPrecisionPlan& plan);

  const MarianConfig& config() const { return config_; }
  const MarianPrecisionPlan& precision() const { return plan_; }
  // Bytes of weights a decoder step reads, in their stored precision (decoder
  // layers minus cross K/V, plus the LM head; int8 includes the per-channel
  // scales).
  int64_t decoder_step_weight_bytes() const;

  // Decoder step profiling (benchmarks); adds a clock read per op when on.
  void EnableProfiling(bool on);
  DecoderProfile profile();
  void ResetProfile();

  // Encoder over a right-padded batch: ids [batch, len], lengths[b] real tokens
  // (>= 1). out: [batch·len, d_model], zeros at padding. hidden_states
  // (optional): HF encoder_hidden_states (embeddings, then each layer's
  // output), each [batch·len, d_model], zeros at padding. Runs packed (real
  // tokens only, see PackedLayout) inside.
  absl::Status Encode(absl::Span<const int32_t> ids,
                      absl::Span<const int> lengths, int len, Tensor* out,
                      std::vector<Tensor>* hidden_states = nullptr);

  // Cross-attention keys|values of one source sentence: per decoder layer
  // [length, 2·d_model].
  struct CrossKv {
    std::vector<Tensor> layers;
    int length = 0;
  };
  // For each sentence b of an encoded batch (out of Encode), its CrossKv over
  // lengths[b] rows.
  void ComputeCrossKv(const Tensor& encoded, absl::Span<const int> lengths,
                      int len, std::vector<CrossKv>* out);

  // A new self-attention cache pool shaped for this decoder.
  std::unique_ptr<KvCachePool> NewCachePool() const;

  struct DecoderRow {
    int32_t token = 0;   // input token (decoder start at position 0)
    int position = 0;    // = tokens already in the row's cache
    int cache_slot = 0;  // slot in the pool; capacity > position
    const CrossKv* cross = nullptr;
  };
  // One decoder step: appends each row's self K/V at `position` and writes raw
  // logits (incl. final_logits_bias) to logits [rows, decoder_vocab_size].
  void DecoderStep(absl::Span<const DecoderRow> rows, KvCachePool* cache,
                   Tensor* logits);

 private:
  struct DecoderLayer {
    std::unique_ptr<Linear> self_qkv, self_out;
    std::unique_ptr<LayerNorm> self_ln;
    std::unique_ptr<Linear> cross_q, cross_kv, cross_out;
    std::unique_ptr<LayerNorm> cross_ln;
    std::unique_ptr<Linear> fc1, fc2;
    std::unique_ptr<LayerNorm> ffn_ln;
  };
  struct DecoderScratch {
    Tensor x, tmp, qkv, q, ctx, ffn;
    std::vector<float> probs;
  };

  MarianModel(const MarianConfig& config, int threads,
              const MarianPrecisionPlan& plan)
      : config_(config), plan_(plan), ctx_(threads) {}
  // Linear options of a projection in this model's plan.
  Linear::Options LinearOptions(Activation act, bool residual,
                                bool reduced) const;
  absl::Status Build(const WeightSource& weights);
  absl::Status BuildEncoderLayer(const WeightReader& r);
  absl::Status BuildDecoderLayer(const WeightSource& w,
                                 const std::string& prefix,
                                 DecoderLayer* layer);
  void EmbedDecoderRows(absl::Span<const DecoderRow> rows, float* x) const;

  MarianConfig config_;
  MarianPrecisionPlan plan_;
  float embed_scale_ = 1.0f;
  DnnlContext ctx_;
  std::shared_ptr<const Tensor> encoder_embed_, decoder_embed_;
  Tensor encoder_positions_, decoder_positions_;
  std::vector<std::unique_ptr<PostLnEncoderLayer>> encoder_layers_;
  std::vector<DecoderLayer> decoder_layers_;
  std::unique_ptr<Linear> lm_head_;

  absl::Mutex mu_;
  PackedLayout encoder_layout_ ABSL_GUARDED_BY(mu_);
  EncoderScratch encoder_scratch_ ABSL_GUARDED_BY(mu_);
  Tensor encoder_packed_ ABSL_GUARDED_BY(mu_), cross_tmp_ ABSL_GUARDED_BY(mu_);
  DecoderScratch dec_ ABSL_GUARDED_BY(mu_);
  bool profiling_ ABSL_GUARDED_BY(mu_) = false;
  DecoderProfile profile_ ABSL_GUARDED_BY(mu_);
};

// Row count the decoder's matmuls run at for `rows` real rows: 1, 2, 4, then
// multiples of 8.
int64_t BucketRows(int64_t rows);

}  // namespace attnserve

#endif  // ATTNSERVE_CORE_MODELS_MARIAN_H_

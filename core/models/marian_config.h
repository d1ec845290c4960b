#ifndef ATTNSERVE_CORE_MODELS_MARIAN_CONFIG_H_
#define ATTNSERVE_CORE_MODELS_MARIAN_CONFIG_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/ops/activation.h"

namespace attnserve {

class JsonFile;

// Architecture of a Hugging Face MarianMTModel (config.json, model_type
// "marian").
struct MarianConfig {
  int d_model = 512;
  int encoder_layers = 6;
  int decoder_layers = 6;
  int encoder_heads = 8;
  int decoder_heads = 8;
  int encoder_ffn_dim = 2048;
  int decoder_ffn_dim = 2048;
  Activation activation = Activation::kSwish;
  int max_position_embeddings = 512;
  bool scale_embedding = true;
  int vocab_size = 0;          // encoder (source) vocabulary
  int decoder_vocab_size = 0;  // decoder vocabulary = logits width
  bool share_encoder_decoder_embeddings = true;
  int pad_token_id = 0;
  int eos_token_id = 0;
  int decoder_start_token_id = 0;
  float layer_norm_eps =
      1e-5f;  // nn.LayerNorm default, not configurable in MarianConfig
};

// Parses config.json; rejects non-Marian models and pre-LN (normalize_before)
// variants.
absl::StatusOr<MarianConfig> ParseMarianConfig(const JsonFile& config);

// Bytes one source text of `input_tokens` holds while it is translated with
// `beams` beams and up to `new_tokens` new tokens (an upper estimate;
// Translator::EstimateTranslateBytes).
int64_t EstimateMarianTextBytes(const MarianConfig& config, int input_tokens,
                                int beams, int new_tokens);
// Parameters of the model, whatever dtype they are stored in.
int64_t MarianParameterCount(const MarianConfig& config);

// The generate() defaults that matter for Marian (generation_config.json, or
// config.json when the folder has no generation_config.json, as transformers'
// GenerationConfig.from_model_config).
struct MarianGenerationConfig {
  int num_beams = 1;
  int max_length = 20;     // incl. the decoder start token
  int max_new_tokens = 0;  // 0 = unset (then max_length - 1)
  std::vector<std::vector<int32_t>> bad_words_ids;
  int forced_eos_token_id = -1;  // -1 = none
  int decoder_start_token_id = 0;
  std::vector<int32_t> eos_token_ids;
  int pad_token_id = 0;
  float length_penalty = 1.0f;
  bool early_stopping = false;
  int num_return_sequences = 1;
};

// `generation` may be null (no generation_config.json): the keys are then read
// from `config`.
absl::StatusOr<MarianGenerationConfig> ParseMarianGenerationConfig(
    const JsonFile* generation, const JsonFile& config,
    const MarianConfig& model);

}  // namespace attnserve

#endif  // ATTNSERVE_CORE_MODELS_MARIAN_CONFIG_H_

#ifndef ATTNSERVE_CORE_MODELS_ENCODER_CONFIG_H_
#define ATTNSERVE_CORE_MODELS_ENCODER_CONFIG_H_

#include <string>

#include "core/ops/activation.h"

namespace attnserve {

// How a token's position id is formed (it indexes position_embeddings).
enum class PositionScheme {
  kFromZero,  // BERT, DistilBERT: 0, 1, 2, ...
  // RoBERTa, XLM-R, CamemBERT, MPNet (create_position_ids_from_input_ids):
  // padding_idx + 1, + 2, ... counting only tokens that are not padding_idx;
  // a padding_idx token (the pad literal inside a text) gets padding_idx.
  kAfterPadding,
};

// What the forward pass of a Transformer encoder depends on, whatever the
// architecture (read from config.json by the architecture's registry entry,
// core/models/encoder_architecture.h). Every layer is post-LayerNorm: a =
// LN(x + SelfAttn(x)); x' = LN(a + FFN(a)); the embeddings are word +
// token type (when the model has them) + position, then a LayerNorm.
struct EncoderConfig {
  std::string model_type = "bert";  // config.json model_type
  int vocab_size = 0;
  int hidden_size = 0;
  int num_layers = 0;
  int num_heads = 0;
  int intermediate_size = 0;
  int max_position_embeddings = 0;
  int type_vocab_size = 2;  // 0: no token-type embeddings
  float layer_norm_eps = 1e-12f;
  Activation activation = Activation::kGeluErf;
  PositionScheme positions = PositionScheme::kFromZero;
  int padding_idx = 0;  // kAfterPadding: config.json pad_token_id
  // > 0: MPNet's relative-position bias, shared by every layer, added to the
  // scaled attention scores: a [buckets, heads] table indexed by the T5-style
  // bidirectional bucket of (key position - query position).
  int relative_attention_buckets = 0;

  // Longest sequence the position table allows, special tokens included.
  int max_tokens() const {
    return positions == PositionScheme::kAfterPadding
               ? max_position_embeddings - padding_idx - 1
               : max_position_embeddings;
  }
};

}  // namespace attnserve

#endif  // ATTNSERVE_CORE_MODELS_ENCODER_CONFIG_H_

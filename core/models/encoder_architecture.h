#ifndef ATTNSERVE_CORE_MODELS_ENCODER_ARCHITECTURE_H_
#define ATTNSERVE_CORE_MODELS_ENCODER_ARCHITECTURE_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "core/models/encoder_config.h"
#include "core/models/hf_config.h"
#include "core/models/transformer_encoder.h"
#include "core/models/weight_reader.h"

namespace attnserve {

// Names of one post-LN encoder layer's tensors, relative to the layer's
// scope ("<layers_scope>.<i>."): Linear q, k, v, o, ffn_in, ffn_out
// ("<name>.weight", "<name>.bias") and LayerNorm attn_ln, ffn_ln.
struct EncoderLayerNames {
  std::string q, k, v, o, attn_ln, ffn_in, ffn_out, ffn_ln;
};

// The `*ForSequenceClassification` head of an architecture: on the first
// token's final hidden state, x = activation(dense(x)), logits = out(x).
// Names are full checkpoint keys of nn.Linear layers ("<name>.weight",
// "<name>.bias"): dense is [hidden, hidden], out [num_labels, hidden].
struct ClassificationHeadNames {
  std::string dense;  // "bert.pooler.dense", "classifier.dense", ...
  Activation activation = Activation::kTanh;  // kTanh or kRelu
  std::string out;  // "classifier", "classifier.out_proj"
};

// One encoder architecture of the registry, keyed by config.json model_type:
// how its config.json maps to EncoderConfig and how its checkpoint names the
// tensors. Each lives in its own file (core/models/bert.cc, roberta.cc,
// distilbert.cc, mpnet.cc); EncoderArchitectures() lists them. Every
// architecture has BERT's embeddings ("embeddings.word_embeddings",
// "embeddings.position_embeddings", "embeddings.token_type_embeddings" when
// it has token types, "embeddings.LayerNorm").
struct EncoderArchitecture {
  std::vector<std::string_view> model_types;  // e.g. {"roberta"}
  // The base model's tensors inside a task model's checkpoint
  // (BertForSequenceClassification: "bert."); tried when the bare names are
  // absent.
  std::string base_prefix;
  // config.json -> EncoderConfig (model_type already matched); errors name
  // the file and the key.
  absl::StatusOr<EncoderConfig> (*read_config)(const JsonFile& config);
  std::string layers_scope;  // "encoder.layer": layer i is "<scope>.<i>."
  EncoderLayerNames layer_names;
  // Tensors beyond the embeddings and layers (MPNet's relative-position
  // bias), read through the base model's reader; null: none.
  absl::Status (*read_extra)(const WeightReader& r, const EncoderConfig& c,
                             EncoderWeights* w) = nullptr;
  // The sequence-classification head ("<Arch>ForSequenceClassification").
  ClassificationHeadNames classifier;
  // The architecture's fast tokenizer returns token_type_ids (its
  // model_input_names has them: BERT), so a pair's second text is type 1;
  // the others (RoBERTa, XLM-R, CamemBERT, DistilBERT, MPNet) pass none and
  // every token is type 0.
  bool pair_token_types = false;
};

// Every registered architecture.
const std::vector<EncoderArchitecture>& EncoderArchitectures();
// The supported model_type values, comma separated (for messages).
std::string SupportedEncoderTypes();
// The architecture of a model_type; null when none is registered.
const EncoderArchitecture* FindEncoderArchitecture(std::string_view model_type);

// <folder>/config.json -> EncoderConfig through the architecture its
// model_type names; an unknown model_type is InvalidArgument listing the
// supported ones.
absl::StatusOr<EncoderConfig> ReadEncoderConfig(const std::string& folder);
// The encoder's weights from a checkpoint (bare names or under the
// architecture's base prefix).
absl::StatusOr<EncoderWeights> ReadEncoderWeights(const WeightSource& source,
                                                  const EncoderConfig& config);

// Helpers for the architecture files.
// config[key] as an int in (0, 2^30]; error names the file and key.
absl::StatusOr<int> PositiveConfigInt(const JsonFile& f,
                                      const std::string& key);
// config[key] (an HF activation name such as "gelu") as an Activation.
absl::StatusOr<Activation> ConfigActivation(const JsonFile& f,
                                            const std::string& key);
// The keys BERT's config.json and its descendants (RoBERTa, XLM-R,
// CamemBERT, MPNet) share: vocab_size, hidden_size, num_hidden_layers,
// num_attention_heads, intermediate_size, max_position_embeddings,
// hidden_act, layer_norm_eps, type_vocab_size (when `token_types`) and
// position_embedding_type (only "absolute").
absl::StatusOr<EncoderConfig> ReadBertStyleConfig(const JsonFile& f,
                                                  bool token_types);
// BERT's layer names (attention.self.query ... output.LayerNorm): BERT,
// RoBERTa, XLM-R, CamemBERT.
EncoderLayerNames BertLayerNames();
// positions = kAfterPadding with padding_idx = config pad_token_id (default
// 1, as RobertaConfig); checks it leaves room in the position table and the
// vocabulary.
absl::Status SetPositionsAfterPadding(const JsonFile& f, EncoderConfig* c);
// Checks hidden % heads == 0 (error names the file).
absl::Status CheckHeads(const JsonFile& f, const EncoderConfig& c);
}  // namespace attnserve

#endif  // ATTNSERVE_CORE_MODELS_ENCODER_ARCHITECTURE_H_

// BERT (model_type "bert"): post-LN layers, absolute positions from 0, token
// types. The reference other encoders of the registry derive from.
#include "absl/strings/str_cat.h"
#include "core/models/encoder_architecture.h"
#include "core/status_macros.h"

namespace attnserve {

EncoderLayerNames BertLayerNames() {
  return {"attention.self.query",
          "attention.self.key",
          "attention.self.value",
          "attention.output.dense",
          "attention.output.LayerNorm",
          "intermediate.dense",
          "output.dense",
          "output.LayerNorm"};
}

absl::StatusOr<EncoderConfig> ReadBertStyleConfig(const JsonFile& f,
                                                  bool token_types) {
  ASSIGN_OR_RETURN(std::string pos,
                   f.GetString("position_embedding_type", "absolute"));
  if (pos != "absolute") {
    return absl::InvalidArgumentError(
        absl::StrCat(f.path(), ": position_embedding_type \"", pos,
                     "\" is not supported (only \"absolute\")"));
  }
  EncoderConfig c;
  ASSIGN_OR_RETURN(c.activation, ConfigActivation(f, "hidden_act"));
  ASSIGN_OR_RETURN(c.vocab_size, PositiveConfigInt(f, "vocab_size"));
  ASSIGN_OR_RETURN(c.hidden_size, PositiveConfigInt(f, "hidden_size"));
  ASSIGN_OR_RETURN(c.num_layers, PositiveConfigInt(f, "num_hidden_layers"));
  ASSIGN_OR_RETURN(c.num_heads, PositiveConfigInt(f, "num_attention_heads"));
  ASSIGN_OR_RETURN(c.intermediate_size,
                   PositiveConfigInt(f, "intermediate_size"));
  ASSIGN_OR_RETURN(c.max_position_embeddings,
                   PositiveConfigInt(f, "max_position_embeddings"));
  ASSIGN_OR_RETURN(double eps, f.GetDouble("layer_norm_eps", 1e-12));
  c.layer_norm_eps = static_cast<float>(eps);
  c.type_vocab_size = 0;
  if (token_types) {
    ASSIGN_OR_RETURN(int64_t types, f.GetInt("type_vocab_size", 2));
    if (types < 1 || types > (1 << 20)) {
      return absl::InvalidArgumentError(
          absl::StrCat(f.path(), ": \"type_vocab_size\" must be >= 1"));
    }
    c.type_vocab_size = static_cast<int>(types);
  }
  RETURN_IF_ERROR(CheckHeads(f, c));
  return c;
}

namespace {

absl::StatusOr<EncoderConfig> ReadBertConfig(const JsonFile& f) {
  return ReadBertStyleConfig(f, /*token_types=*/true);
}

}  // namespace

const EncoderArchitecture& BertArchitecture() {
  // BertForSequenceClassification: the pooler (dense + tanh on [CLS]), then
  // `classifier`.
  static const EncoderArchitecture arch{
      {"bert"},
      "bert.",
      ReadBertConfig,
      "encoder.layer",
      BertLayerNames(),
      nullptr,
      {"bert.pooler.dense", Activation::kTanh, "classifier"},
      /*pair_token_types=*/true};
  return arch;
}

}  // namespace attnserve

// DistilBERT (model_type "distilbert"): BERT's layer with other names
// (transformer.layer.<i>.attention.q_lin ... sa_layer_norm, ffn.lin1/lin2,
// output_layer_norm), other config keys (dim, n_layers, n_heads, hidden_dim,
// activation), no token types, LayerNorm eps fixed at 1e-12, base model under
// "distilbert.". Its attention divides q by √head_dim before q·kᵀ where BERT
// scales the product: equal up to rounding (differential test: ≤ 1e-5).
#include "absl/strings/str_cat.h"
#include "core/models/encoder_architecture.h"
#include "core/status_macros.h"

namespace attnserve {
namespace {

absl::StatusOr<EncoderConfig> ReadDistilBertConfig(const JsonFile& f) {
  EncoderConfig c;
  ASSIGN_OR_RETURN(c.activation, ConfigActivation(f, "activation"));
  ASSIGN_OR_RETURN(c.vocab_size, PositiveConfigInt(f, "vocab_size"));
  ASSIGN_OR_RETURN(c.hidden_size, PositiveConfigInt(f, "dim"));
  ASSIGN_OR_RETURN(c.num_layers, PositiveConfigInt(f, "n_layers"));
  ASSIGN_OR_RETURN(c.num_heads, PositiveConfigInt(f, "n_heads"));
  ASSIGN_OR_RETURN(c.intermediate_size, PositiveConfigInt(f, "hidden_dim"));
  ASSIGN_OR_RETURN(c.max_position_embeddings,
                   PositiveConfigInt(f, "max_position_embeddings"));
  c.type_vocab_size = 0;
  c.layer_norm_eps = 1e-12f;  // nn.LayerNorm(dim, eps=1e-12) in the model
  RETURN_IF_ERROR(CheckHeads(f, c));
  return c;
}

}  // namespace

const EncoderArchitecture& DistilBertArchitecture() {
  static const EncoderArchitecture arch{
      {"distilbert"},
      "distilbert.",
      ReadDistilBertConfig,
      "transformer.layer",
      {"attention.q_lin", "attention.k_lin", "attention.v_lin",
       "attention.out_lin", "sa_layer_norm", "ffn.lin1", "ffn.lin2",
       "output_layer_norm"},
      nullptr,
      // DistilBertForSequenceClassification: pre_classifier + ReLU.
      {"pre_classifier", Activation::kRelu, "classifier"}};
  return arch;
}

}  // namespace attnserve

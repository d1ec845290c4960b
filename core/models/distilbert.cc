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

absl::Status ReadDistilBertLayer(const WeightReader& r, const EncoderConfig& c,
                                 EncoderLayerWeights* L) {
  const int64_t h = c.hidden_size, ffn = c.intermediate_size;
  AttentionWeights& A = L->attention;
  const WeightReader a = r.Scope("attention");
  RETURN_IF_ERROR(a.ReadLinear("q_lin", h, h, &A.q_w, &A.q_b));
  RETURN_IF_ERROR(a.ReadLinear("k_lin", h, h, &A.k_w, &A.k_b));
  RETURN_IF_ERROR(a.ReadLinear("v_lin", h, h, &A.v_w, &A.v_b));
  RETURN_IF_ERROR(a.ReadLinear("out_lin", h, h, &A.o_w, &A.o_b));
  RETURN_IF_ERROR(
      r.ReadLayerNorm("sa_layer_norm", h, &L->attn_ln_g, &L->attn_ln_b));
  RETURN_IF_ERROR(r.ReadLinear("ffn.lin1", ffn, h, &L->ffn_in_w, &L->ffn_in_b));
  RETURN_IF_ERROR(
      r.ReadLinear("ffn.lin2", h, ffn, &L->ffn_out_w, &L->ffn_out_b));
  return r.ReadLayerNorm("output_layer_norm", h, &L->ffn_ln_g, &L->ffn_ln_b);
}

absl::Status ReadDistilBertWeights(const WeightReader& r,
                                   const EncoderConfig& c, EncoderWeights* w) {
  RETURN_IF_ERROR(ReadBertStyleEmbeddings(r, c, w));
  return ReadLayers(r, "transformer.layer", c, ReadDistilBertLayer, w);
}

}  // namespace

const EncoderArchitecture& DistilBertArchitecture() {
  static const EncoderArchitecture arch{{"distilbert"},
                                        "distilbert.",
                                        ReadDistilBertConfig,
                                        ReadDistilBertWeights};
  return arch;
}

}  // namespace attnserve

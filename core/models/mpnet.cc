// MPNet (model_type "mpnet"): BERT's post-LN layer with other tensor names
// (attention.attn.q/k/v/o, attention.LayerNorm), no token types, RoBERTa's
// positions after the padding index, and a relative-position bias
// (encoder.relative_attention_bias, [buckets, heads]) added to the scaled
// scores of every layer (TransformerEncoder::BuildPositionBias).
#include "absl/strings/str_cat.h"
#include "core/models/encoder_architecture.h"
#include "core/status_macros.h"

namespace attnserve {
namespace {

// MPNetEncoder.compute_position_bias buckets with its default num_buckets=32
// whatever the config says; the config only sizes the table.
constexpr int kMpnetBuckets = 32;

absl::StatusOr<EncoderConfig> ReadMpnetConfig(const JsonFile& f) {
  ASSIGN_OR_RETURN(EncoderConfig c,
                   ReadBertStyleConfig(f, /*token_types=*/false));
  RETURN_IF_ERROR(SetPositionsAfterPadding(f, &c));
  ASSIGN_OR_RETURN(int64_t buckets,
                   f.GetInt("relative_attention_num_buckets", 32));
  if (buckets < kMpnetBuckets || buckets > (1 << 20)) {
    return absl::InvalidArgumentError(absl::StrCat(
        f.path(), ": \"relative_attention_num_buckets\" is ", buckets,
        "; MPNet's bias uses buckets 0..31, so it must be >= 32"));
  }
  c.relative_attention_buckets = static_cast<int>(buckets);
  return c;
}

absl::Status ReadMpnetLayer(const WeightReader& r, const EncoderConfig& c,
                            EncoderLayerWeights* L) {
  const int64_t h = c.hidden_size, ffn = c.intermediate_size;
  AttentionWeights& A = L->attention;
  const WeightReader a = r.Scope("attention.attn");
  RETURN_IF_ERROR(a.ReadLinear("q", h, h, &A.q_w, &A.q_b));
  RETURN_IF_ERROR(a.ReadLinear("k", h, h, &A.k_w, &A.k_b));
  RETURN_IF_ERROR(a.ReadLinear("v", h, h, &A.v_w, &A.v_b));
  RETURN_IF_ERROR(a.ReadLinear("o", h, h, &A.o_w, &A.o_b));
  RETURN_IF_ERROR(
      r.ReadLayerNorm("attention.LayerNorm", h, &L->attn_ln_g, &L->attn_ln_b));
  RETURN_IF_ERROR(
      r.ReadLinear("intermediate.dense", ffn, h, &L->ffn_in_w, &L->ffn_in_b));
  RETURN_IF_ERROR(
      r.ReadLinear("output.dense", h, ffn, &L->ffn_out_w, &L->ffn_out_b));
  return r.ReadLayerNorm("output.LayerNorm", h, &L->ffn_ln_g, &L->ffn_ln_b);
}

absl::Status ReadMpnetWeights(const WeightReader& r, const EncoderConfig& c,
                              EncoderWeights* w) {
  RETURN_IF_ERROR(ReadBertStyleEmbeddings(r, c, w));
  RETURN_IF_ERROR(ReadLayers(r, "encoder.layer", c, ReadMpnetLayer, w));
  return r.Read("encoder.relative_attention_bias.weight",
                {c.relative_attention_buckets, c.num_heads},
                &w->relative_attention_bias);
}

}  // namespace

const EncoderArchitecture& MpnetArchitecture() {
  static const EncoderArchitecture arch{
      {"mpnet"}, "mpnet.", ReadMpnetConfig, ReadMpnetWeights};
  return arch;
}

}  // namespace attnserve

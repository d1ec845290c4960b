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

absl::Status ReadRelativeAttentionBias(const WeightReader& r,
                                       const EncoderConfig& c,
                                       EncoderWeights* w) {
  return r.Read("encoder.relative_attention_bias.weight",
                {c.relative_attention_buckets, c.num_heads},
                &w->relative_attention_bias);
}

}  // namespace

const EncoderArchitecture& MpnetArchitecture() {
  static const EncoderArchitecture arch{
      {"mpnet"},
      "mpnet.",
      ReadMpnetConfig,
      "encoder.layer",
      {"attention.attn.q", "attention.attn.k", "attention.attn.v",
       "attention.attn.o", "attention.LayerNorm", "intermediate.dense",
       "output.dense", "output.LayerNorm"},
      ReadRelativeAttentionBias,
      // MPNetClassificationHead: RoBERTa's.
      {"classifier.dense", Activation::kTanh, "classifier.out_proj"}};
  return arch;
}

}  // namespace attnserve

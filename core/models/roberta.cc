// RoBERTa, XLM-RoBERTa and CamemBERT (model_type "roberta", "xlm-roberta",
// "camembert"): BERT's layers and tensor names under "roberta.", one token
// type, and positions that start after the padding index
// (create_position_ids_from_input_ids): max_position_embeddings 514 holds 512
// tokens.
#include "absl/strings/str_cat.h"
#include "core/models/encoder_architecture.h"
#include "core/status_macros.h"

namespace attnserve {
namespace {

absl::StatusOr<EncoderConfig> ReadRobertaConfig(const JsonFile& f) {
  ASSIGN_OR_RETURN(EncoderConfig c,
                   ReadBertStyleConfig(f, /*token_types=*/true));
  RETURN_IF_ERROR(SetPositionsAfterPadding(f, &c));
  return c;
}

}  // namespace

const EncoderArchitecture& RobertaArchitecture() {
  static const EncoderArchitecture arch{
      {"roberta", "xlm-roberta", "camembert"},
      "roberta.",
      ReadRobertaConfig,
      "encoder.layer",
      BertLayerNames(),
      nullptr,
      // RobertaClassificationHead (XLM-R's and CamemBERT's are the same).
      {"classifier.dense", Activation::kTanh, "classifier.out_proj"}};
  return arch;
}

}  // namespace attnserve

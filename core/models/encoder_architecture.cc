#include "core/models/encoder_architecture.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/status_macros.h"

namespace attnserve {

// Defined in the architecture files, one each.
const EncoderArchitecture& BertArchitecture();
const EncoderArchitecture& RobertaArchitecture();
const EncoderArchitecture& DistilBertArchitecture();
const EncoderArchitecture& MpnetArchitecture();

const std::vector<EncoderArchitecture>& EncoderArchitectures() {
  static const auto* all = new std::vector<EncoderArchitecture>{
      BertArchitecture(), RobertaArchitecture(), DistilBertArchitecture(),
      MpnetArchitecture()};
  return *all;
}

std::string SupportedEncoderTypes() {
  std::vector<std::string> types;
  for (const EncoderArchitecture& a : EncoderArchitectures())
    for (std::string_view t : a.model_types) types.emplace_back(t);
  return absl::StrJoin(types, ", ");
}

const EncoderArchitecture* FindEncoderArchitecture(
    std::string_view model_type) {
  for (const EncoderArchitecture& a : EncoderArchitectures()) {
    if (std::find(a.model_types.begin(), a.model_types.end(), model_type) !=
        a.model_types.end()) {
      return &a;
    }
  }
  return nullptr;
}

absl::StatusOr<EncoderConfig> ReadEncoderConfig(const std::string& folder) {
  ASSIGN_OR_RETURN(JsonFile f, JsonFile::Read(JoinPath(folder, "config.json")));
  ASSIGN_OR_RETURN(std::string type, f.GetString("model_type"));
  const EncoderArchitecture* arch = FindEncoderArchitecture(type);
  if (arch == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        f.path(), ": model_type \"", type,
        "\" is not a supported encoder (supported: ", SupportedEncoderTypes(),
        ")"));
  }
  ASSIGN_OR_RETURN(EncoderConfig c, arch->read_config(f));
  c.model_type = type;
  return c;
}

namespace {

absl::Status ReadLayer(const WeightReader& r, const EncoderConfig& c,
                       const EncoderLayerNames& n, EncoderLayerWeights* L) {
  const int64_t h = c.hidden_size, ffn = c.intermediate_size;
  AttentionWeights& A = L->attention;
  RETURN_IF_ERROR(r.ReadLinear(n.q, h, h, &A.q_w, &A.q_b));
  RETURN_IF_ERROR(r.ReadLinear(n.k, h, h, &A.k_w, &A.k_b));
  RETURN_IF_ERROR(r.ReadLinear(n.v, h, h, &A.v_w, &A.v_b));
  RETURN_IF_ERROR(r.ReadLinear(n.o, h, h, &A.o_w, &A.o_b));
  RETURN_IF_ERROR(r.ReadLayerNorm(n.attn_ln, h, &L->attn_ln_g, &L->attn_ln_b));
  RETURN_IF_ERROR(r.ReadLinear(n.ffn_in, ffn, h, &L->ffn_in_w, &L->ffn_in_b));
  RETURN_IF_ERROR(
      r.ReadLinear(n.ffn_out, h, ffn, &L->ffn_out_w, &L->ffn_out_b));
  return r.ReadLayerNorm(n.ffn_ln, h, &L->ffn_ln_g, &L->ffn_ln_b);
}

absl::Status ReadEmbeddings(const WeightReader& r, const EncoderConfig& c,
                            EncoderWeights* w) {
  const int64_t h = c.hidden_size;
  const WeightReader e = r.Scope("embeddings");
  RETURN_IF_ERROR(
      e.Read("word_embeddings.weight", {c.vocab_size, h}, &w->word_embeddings));
  RETURN_IF_ERROR(e.Read("position_embeddings.weight",
                         {c.max_position_embeddings, h},
                         &w->position_embeddings));
  if (c.type_vocab_size > 0) {
    RETURN_IF_ERROR(e.Read("token_type_embeddings.weight",
                           {c.type_vocab_size, h}, &w->token_type_embeddings));
  }
  return e.ReadLayerNorm("LayerNorm", h, &w->embeddings_ln_g,
                         &w->embeddings_ln_b);
}

absl::Status ReadWeights(const EncoderArchitecture& arch, const WeightReader& r,
                         const EncoderConfig& c, EncoderWeights* w) {
  RETURN_IF_ERROR(ReadEmbeddings(r, c, w));
  w->layers.resize(c.num_layers);
  for (int i = 0; i < c.num_layers; ++i) {
    RETURN_IF_ERROR(ReadLayer(r.Scope(absl::StrCat(arch.layers_scope, ".", i)),
                              c, arch.layer_names, &w->layers[i]));
  }
  if (arch.read_extra != nullptr) RETURN_IF_ERROR(arch.read_extra(r, c, w));
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<EncoderWeights> ReadEncoderWeights(const WeightSource& source,
                                                  const EncoderConfig& config) {
  const EncoderArchitecture* arch = FindEncoderArchitecture(config.model_type);
  if (arch == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        "model_type \"", config.model_type,
        "\" is not a supported encoder (supported: ", SupportedEncoderTypes(),
        ")"));
  }
  WeightReader r(&source);
  const WeightReader prefixed(&source, std::string(arch->base_prefix));
  if (!r.Has("embeddings.word_embeddings.weight") &&
      prefixed.Has("embeddings.word_embeddings.weight")) {
    r = prefixed;
  }
  EncoderWeights w;
  RETURN_IF_ERROR(ReadWeights(*arch, r, config, &w));
  return w;
}

absl::StatusOr<int> PositiveConfigInt(const JsonFile& f,
                                      const std::string& key) {
  ASSIGN_OR_RETURN(int64_t v, f.GetInt(key));
  if (v <= 0 || v > (1 << 30)) {
    return absl::InvalidArgumentError(
        absl::StrCat(f.path(), ": \"", key, "\" must be > 0"));
  }
  return static_cast<int>(v);
}

absl::StatusOr<Activation> ConfigActivation(const JsonFile& f,
                                            const std::string& key) {
  ASSIGN_OR_RETURN(std::string name, f.GetString(key));
  absl::StatusOr<Activation> parsed = ParseHfActivation(name);
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(f.path(), ": ", key, ": ", parsed.status().message()));
  }
  return *parsed;
}

absl::Status SetPositionsAfterPadding(const JsonFile& f, EncoderConfig* c) {
  ASSIGN_OR_RETURN(int64_t pad, f.GetInt("pad_token_id", 1));
  if (pad < 0 || pad >= c->vocab_size ||
      pad + 1 >= c->max_position_embeddings) {
    return absl::InvalidArgumentError(absl::StrCat(
        f.path(), ": \"pad_token_id\" ", pad, " must be a token id (< ",
        c->vocab_size, ") and leave positions below max_position_embeddings ",
        c->max_position_embeddings, " (positions start at pad_token_id + 1)"));
  }
  c->positions = PositionScheme::kAfterPadding;
  c->padding_idx = static_cast<int>(pad);
  return absl::OkStatus();
}

absl::Status CheckHeads(const JsonFile& f, const EncoderConfig& c) {
  if (c.hidden_size % c.num_heads == 0) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      f.path(), ": hidden size ", c.hidden_size,
      " is not a multiple of the number of attention heads ", c.num_heads));
}

}  // namespace attnserve

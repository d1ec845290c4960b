#include "core/models/marian_config.h"

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "core/models/hf_config.h"
#include "core/status_macros.h"

namespace attnserve {
namespace {

absl::Status Positive(const JsonFile& f, const char* key, int value) {
  if (value > 0) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat(f.path(), ": \"", key, "\" must be > 0, got ", value));
}

// An int or a list of ints (HF accepts both for eos_token_id).
absl::StatusOr<std::vector<int32_t>> IntOrList(const JsonFile& f,
                                               const std::string& key) {
  std::vector<int32_t> out;
  if (!f.Has(key)) return out;
  const nlohmann::json& v = f.json()[key];
  if (v.is_number_integer()) {
    out.push_back(v.get<int32_t>());
    return out;
  }
  if (v.is_array()) {
    for (const auto& e : v) {
      if (!e.is_number_integer()) break;
      out.push_back(e.get<int32_t>());
    }
    if (out.size() == v.size()) return out;
  }
  return absl::InvalidArgumentError(absl::StrCat(
      f.path(), ": \"", key, "\" must be an integer or a list of integers"));
}

absl::StatusOr<std::vector<std::vector<int32_t>>> BadWords(const JsonFile& f) {
  std::vector<std::vector<int32_t>> out;
  if (!f.Has("bad_words_ids")) return out;
  const nlohmann::json& v = f.json()["bad_words_ids"];
  const auto error = absl::InvalidArgumentError(absl::StrCat(
      f.path(),
      ": \"bad_words_ids\" must be a list of non-empty lists of token ids"));
  if (!v.is_array()) return error;
  for (const auto& seq : v) {
    if (!seq.is_array() || seq.empty()) return error;
    std::vector<int32_t> ids;
    for (const auto& id : seq) {
      if (!id.is_number_integer()) return error;
      ids.push_back(id.get<int32_t>());
    }
    out.push_back(std::move(ids));
  }
  return out;
}

}  // namespace

absl::StatusOr<MarianConfig> ParseMarianConfig(const JsonFile& f) {
  auto model_type = f.GetString("model_type");
  if (!model_type.ok()) return model_type.status();
  if (*model_type != "marian") {
    return absl::InvalidArgumentError(
        absl::StrCat(f.path(), ": model_type is \"", *model_type,
                     "\", expected \"marian\""));
  }
  auto normalize_before = f.GetBool("normalize_before", false);
  if (!normalize_before.ok()) return normalize_before.status();
  if (*normalize_before) {
    return absl::UnimplementedError(
        absl::StrCat(f.path(),
                     ": normalize_before=true (pre-LayerNorm Marian) is not "
                     "supported; only the "
                     "post-LayerNorm opus-mt architecture is"));
  }
  MarianConfig c;
  ASSIGN_OR_RETURN(c.d_model, f.GetInt("d_model"));
  ASSIGN_OR_RETURN(c.encoder_layers, f.GetInt("encoder_layers"));
  ASSIGN_OR_RETURN(c.decoder_layers, f.GetInt("decoder_layers"));
  ASSIGN_OR_RETURN(c.encoder_heads, f.GetInt("encoder_attention_heads"));
  ASSIGN_OR_RETURN(c.decoder_heads, f.GetInt("decoder_attention_heads"));
  ASSIGN_OR_RETURN(c.encoder_ffn_dim, f.GetInt("encoder_ffn_dim"));
  ASSIGN_OR_RETURN(c.decoder_ffn_dim, f.GetInt("decoder_ffn_dim"));
  ASSIGN_OR_RETURN(c.max_position_embeddings,
                   f.GetInt("max_position_embeddings"));
  ASSIGN_OR_RETURN(c.vocab_size, f.GetInt("vocab_size"));
  ASSIGN_OR_RETURN(c.decoder_vocab_size,
                   f.GetInt("decoder_vocab_size", c.vocab_size));
  ASSIGN_OR_RETURN(c.pad_token_id, f.GetInt("pad_token_id"));
  ASSIGN_OR_RETURN(c.eos_token_id, f.GetInt("eos_token_id"));
  ASSIGN_OR_RETURN(c.decoder_start_token_id,
                   f.GetInt("decoder_start_token_id", c.pad_token_id));
  auto scale = f.GetBool("scale_embedding", false);
  if (!scale.ok()) return scale.status();
  c.scale_embedding = *scale;
  auto share = f.GetBool("share_encoder_decoder_embeddings", true);
  if (!share.ok()) return share.status();
  c.share_encoder_decoder_embeddings = *share;
  auto act_name = f.GetString("activation_function", "gelu");
  if (!act_name.ok()) return act_name.status();
  auto act = ParseHfActivation(*act_name);
  if (!act.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(f.path(), ": ", act.status().message()));
  }
  c.activation = *act;
  for (auto [key, value] :
       {std::pair{"d_model", c.d_model},
        {"encoder_layers", c.encoder_layers},
        {"decoder_layers", c.decoder_layers},
        {"encoder_attention_heads", c.encoder_heads},
        {"decoder_attention_heads", c.decoder_heads},
        {"encoder_ffn_dim", c.encoder_ffn_dim},
        {"decoder_ffn_dim", c.decoder_ffn_dim},
        {"max_position_embeddings", c.max_position_embeddings},
        {"vocab_size", c.vocab_size},
        {"decoder_vocab_size", c.decoder_vocab_size}}) {
    if (auto s = Positive(f, key, value); !s.ok()) return s;
  }
  if (c.d_model % c.encoder_heads != 0 || c.d_model % c.decoder_heads != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(f.path(), ": d_model ", c.d_model,
                     " is not divisible by the attention head counts"));
  }
  if (c.share_encoder_decoder_embeddings &&
      c.vocab_size != c.decoder_vocab_size) {
    return absl::InvalidArgumentError(
        absl::StrCat(f.path(),
                     ": share_encoder_decoder_embeddings needs vocab_size == "
                     "decoder_vocab_size (",
                     c.vocab_size, " vs ", c.decoder_vocab_size, ")"));
  }
  for (int id : {c.pad_token_id, c.eos_token_id, c.decoder_start_token_id}) {
    if (id < 0 || id >= c.decoder_vocab_size) {
      return absl::InvalidArgumentError(
          absl::StrCat(f.path(), ": special token id ", id,
                       " is outside the decoder vocabulary [0, ",
                       c.decoder_vocab_size, ")"));
    }
  }
  return c;
}

absl::StatusOr<MarianGenerationConfig> ParseMarianGenerationConfig(
    const JsonFile* generation, const JsonFile& config,
    const MarianConfig& model) {
  const JsonFile& f = generation != nullptr ? *generation : config;
  MarianGenerationConfig g;
  ASSIGN_OR_RETURN(g.num_beams, f.GetInt("num_beams", 1));
  ASSIGN_OR_RETURN(g.max_length, f.GetInt("max_length", 20));
  ASSIGN_OR_RETURN(g.max_new_tokens, f.GetInt("max_new_tokens", 0));
  ASSIGN_OR_RETURN(g.forced_eos_token_id, f.GetInt("forced_eos_token_id", -1));
  ASSIGN_OR_RETURN(
      g.decoder_start_token_id,
      f.GetInt("decoder_start_token_id", model.decoder_start_token_id));
  ASSIGN_OR_RETURN(g.pad_token_id,
                   f.GetInt("pad_token_id", model.pad_token_id));
  ASSIGN_OR_RETURN(g.length_penalty, f.GetDouble("length_penalty", 1.0));
  ASSIGN_OR_RETURN(g.num_return_sequences, f.GetInt("num_return_sequences", 1));
  auto eos = IntOrList(f, "eos_token_id");
  if (!eos.ok()) return eos.status();
  g.eos_token_ids =
      eos->empty() ? std::vector<int32_t>{model.eos_token_id} : *eos;
  auto bad = BadWords(f);
  if (!bad.ok()) return bad.status();
  g.bad_words_ids = *std::move(bad);
  if (f.Has("early_stopping")) {
    const nlohmann::json& v = f.json()["early_stopping"];
    if (v.is_boolean()) {
      g.early_stopping = v.get<bool>();
    } else {
      return absl::UnimplementedError(
          absl::StrCat(f.path(),
                       ": early_stopping must be true or false (\"never\" is "
                       "not supported)"));
    }
  }
  if (g.num_beams < 1 || g.max_length < 2) {
    return absl::InvalidArgumentError(absl::StrCat(
        f.path(), ": num_beams must be >= 1 and max_length >= 2 (got ",
        g.num_beams, ", ", g.max_length, ")"));
  }
  auto check_id = [&](int id, const char* what) -> absl::Status {
    if (id >= 0 && id < model.decoder_vocab_size) return absl::OkStatus();
    return absl::InvalidArgumentError(absl::StrCat(
        f.path(), ": ", what, " ", id, " is outside the decoder vocabulary"));
  };
  if (auto s = check_id(g.decoder_start_token_id, "decoder_start_token_id");
      !s.ok())
    return s;
  for (int id : g.eos_token_ids) {
    if (auto s = check_id(id, "eos_token_id"); !s.ok()) return s;
  }
  if (g.forced_eos_token_id != -1) {
    if (auto s = check_id(g.forced_eos_token_id, "forced_eos_token_id");
        !s.ok())
      return s;
  }
  for (const auto& seq : g.bad_words_ids) {
    for (int id : seq) {
      if (auto s = check_id(id, "bad_words_ids entry"); !s.ok()) return s;
    }
  }
  return g;
}

#undef ASSIGN_OR_RETURN_INT

// Floats one text holds: its share of the encoder pass (padded to a multiple
// of 8, as MarianDecodeBatch::Add does; per layer input, QKV, context,
// attention output, FFN, output, reduced-precision copies, every head's
// probabilities, and a growing scratch buffer briefly copied), its
// cross-attention keys/values, each beam's self-attention KV cache
// (preallocated for new_tokens), and per decoder row the step activations,
// logits + log-softmax + beam candidates over the vocabulary, and the self
// and cross attention probabilities of every head.
int64_t EstimateMarianTextBytes(const MarianConfig& c, int input_tokens,
                                int beams, int new_tokens) {
  const int64_t d = c.d_model;
  const int64_t len = input_tokens;
  const int64_t padded =
      std::min<int64_t>((len + 7) / 8 * 8, c.max_position_embeddings);
  const int64_t enc_probs = c.encoder_heads * padded * padded;
  const int64_t encoder = padded * (9 * d + c.encoder_ffn_dim) +
                          padded * (d + c.encoder_ffn_dim) / 2 + enc_probs +
                          std::max(enc_probs, padded * c.encoder_ffn_dim);
  const int64_t cross_kv = c.decoder_layers * len * 2 * d + padded * 2 * d;
  const int64_t rows = std::max(1, beams);
  const int64_t self_kv =
      rows * c.decoder_layers * 2 * static_cast<int64_t>(new_tokens) * d;
  const int64_t per_row = 7 * d + c.decoder_ffn_dim +
                          3 * static_cast<int64_t>(c.decoder_vocab_size) +
                          c.decoder_heads * (new_tokens + len);
  const int64_t floats = encoder + cross_kv + self_kv + rows * per_row;
  return floats * static_cast<int64_t>(sizeof(float));
}

int64_t MarianParameterCount(const MarianConfig& c) {
  const int64_t d = c.d_model;
  // Attention: 4 projections with biases; FFN in/out with biases; layer
  // norms. The decoder adds cross attention; the output projection has the
  // decoder vocabulary.
  const int64_t attention = 4 * d * d + 4 * d;
  const int64_t encoder_layer =
      attention + 2 * d * c.encoder_ffn_dim + c.encoder_ffn_dim + 5 * d;
  const int64_t decoder_layer =
      2 * attention + 2 * d * c.decoder_ffn_dim + c.decoder_ffn_dim + 7 * d;
  return static_cast<int64_t>(c.vocab_size) * d +
         c.encoder_layers * encoder_layer + c.decoder_layers * decoder_layer +
         static_cast<int64_t>(c.decoder_vocab_size) * (d + 1);
}

}  // namespace attnserve

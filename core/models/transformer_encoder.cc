#include "core/models/transformer_encoder.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/models/encoder_architecture.h"
#include "core/models/hf_config.h"
#include "core/ops/compute_threads.h"
#include "core/ops/quantize.h"
#include "core/status_macros.h"

namespace attnserve {

absl::Status ValidateEncoderWeights(const EncoderWeights& w,
                                    const EncoderConfig& c) {
  const int64_t h = c.hidden_size, ffn = c.intermediate_size;
  auto check = [&c](const Tensor& t, std::vector<int64_t> shape,
                    const std::string& what) {
    if (t.shape() == shape || (shape[0] == 0 && t.numel() == 0))
      return absl::OkStatus();
    return absl::InvalidArgumentError(
        absl::StrCat(c.model_type, " weight ", what, " has shape ",
                     t.ShapeString(), ", expected ", ShapeToString(shape)));
  };
  std::vector<absl::Status> r = {
      check(w.word_embeddings, {c.vocab_size, h}, "word_embeddings"),
      check(w.position_embeddings, {c.max_position_embeddings, h},
            "position_embeddings"),
      check(w.token_type_embeddings, {c.type_vocab_size, h},
            "token_type_embeddings"),
      check(w.embeddings_ln_g, {h}, "embeddings.LayerNorm.weight"),
      check(w.embeddings_ln_b, {h}, "embeddings.LayerNorm.bias"),
      check(w.relative_attention_bias,
            {c.relative_attention_buckets, c.num_heads},
            "relative_attention_bias")};
  if (static_cast<int>(w.layers.size()) != c.num_layers) {
    return absl::InvalidArgumentError(
        absl::StrCat(c.model_type, " weights have ", w.layers.size(),
                     " layers, config says ", c.num_layers));
  }
  for (const auto& L : w.layers) {
    const AttentionWeights& A = L.attention;
    for (const Tensor* t : {&A.q_w, &A.k_w, &A.v_w, &A.o_w})
      r.push_back(check(*t, {h, h}, "attention weight"));
    for (const Tensor* t :
         {&A.q_b, &A.k_b, &A.v_b, &A.o_b, &L.attn_ln_g, &L.attn_ln_b,
          &L.ffn_out_b, &L.ffn_ln_g, &L.ffn_ln_b}) {
      r.push_back(check(*t, {h}, "layer bias / LayerNorm"));
    }
    r.push_back(check(L.ffn_in_w, {ffn, h}, "intermediate.dense.weight"));
    r.push_back(check(L.ffn_in_b, {ffn}, "intermediate.dense.bias"));
    r.push_back(check(L.ffn_out_w, {h, ffn}, "output.dense.weight"));
  }
  for (const auto& s : r) {
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<TransformerEncoder>> TransformerEncoder::Load(
    const std::string& folder, const LoadOptions& options) {
  if (options.dtype == DType::kBFloat16) {
    absl::Status bf16 = BFloat16MatmulSupported();
    if (!bf16.ok()) {  // before reading 100s of MB of weights
      return absl::FailedPreconditionError(
          absl::StrCat(folder, ": ", bf16.message()));
    }
  }
  ASSIGN_OR_RETURN(EncoderConfig config, ReadEncoderConfig(folder));
  ASSIGN_OR_RETURN(WeightSource source, FolderWeightSource(folder));
  ASSIGN_OR_RETURN(EncoderWeights weights, ReadEncoderWeights(source, config));
  return Create(config, std::move(weights), options);
}

absl::StatusOr<std::unique_ptr<TransformerEncoder>> TransformerEncoder::Create(
    const EncoderConfig& config, EncoderWeights weights,
    const LoadOptions& options) {
  absl::Status s = ValidateEncoderWeights(weights, config);
  if (!s.ok()) return s;
  if (options.dtype == DType::kBFloat16) {
    s = BFloat16MatmulSupported();
    if (!s.ok()) return s;
  }
  return std::unique_ptr<TransformerEncoder>(
      new TransformerEncoder(config, std::move(weights), options));
}

TransformerEncoder::TransformerEncoder(const EncoderConfig& config,
                                       EncoderWeights w,
                                       const LoadOptions& options)
    : config_(config),
      options_(options),
      ctx_(std::make_unique<DnnlContext>(options.threads)) {
  word_ = std::move(w.word_embeddings);
  position_ = std::move(w.position_embeddings);
  token_type_ = std::move(w.token_type_embeddings);
  relative_bias_ = std::move(w.relative_attention_bias);
  embeddings_ln_ = std::make_unique<LayerNorm>(
      ctx_.get(), std::move(w.embeddings_ln_g), std::move(w.embeddings_ln_b),
      config.layer_norm_eps);
  for (auto& layer : w.layers) {
    layers_.push_back(std::make_unique<PostLnEncoderLayer>(
        ctx_.get(), config.hidden_size, config.num_heads, config.activation,
        config.layer_norm_eps, std::move(layer), options.dtype));
  }
}

absl::Status TransformerEncoder::CheckIds(absl::Span<const int32_t> ids) const {
  if (ids.size() > static_cast<size_t>(config_.max_tokens())) {
    return absl::InvalidArgumentError(absl::StrCat(
        config_.model_type, " input: ", ids.size(),
        " tokens exceed the position table's ", config_.max_tokens(),
        " (max_position_embeddings ", config_.max_position_embeddings, ")"));
  }
  for (int32_t id : ids) {
    if (id < 0 || id >= config_.vocab_size) {
      return absl::InvalidArgumentError(absl::StrCat(
          config_.model_type, " input: token id ", id,
          " outside the vocabulary [0, ", config_.vocab_size, ")"));
    }
  }
  return absl::OkStatus();
}

absl::Status TransformerEncoder::CheckTypes(
    absl::Span<const absl::Span<const int32_t>> seqs,
    absl::Span<const absl::Span<const int32_t>> types) const {
  if (types.empty()) return absl::OkStatus();
  if (types.size() != seqs.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat(config_.model_type, " input: token types for ",
                     types.size(), " sequences, ids for ", seqs.size()));
  }
  // A model without token-type embeddings adds nothing: only type 0 is valid.
  const int32_t limit = std::max(config_.type_vocab_size, 1);
  for (size_t i = 0; i < seqs.size(); ++i) {
    if (types[i].size() != seqs[i].size()) {
      return absl::InvalidArgumentError(absl::StrCat(
          config_.model_type, " input: sequence ", i, " has ", seqs[i].size(),
          " ids but ", types[i].size(), " token types"));
    }
    for (int32_t t : types[i]) {
      if (t < 0 || t >= limit) {
        return absl::InvalidArgumentError(absl::StrCat(
            config_.model_type, " input: token type ", t, " of sequence ", i,
            " outside [0, ", limit, ") (config.json type_vocab_size)"));
      }
    }
  }
  return absl::OkStatus();
}

// out[row of (i, t)] = (word[id] + token_type[type]) + position[p(t)], the sum
// order of HF BertEmbeddings / RobertaEmbeddings (no token type: DistilBERT,
// MPNet). p(t) = t, or for kAfterPadding padding_idx + (non-pad tokens up to
// and including t), padding_idx for a pad token
// (create_position_ids_from_input_ids).
void TransformerEncoder::Embed(
    absl::Span<const absl::Span<const int32_t>> seqs,
    absl::Span<const absl::Span<const int32_t>> types,
    const PackedLayout& layout, float* out) const {
  const int64_t h = config_.hidden_size;
  const bool has_types = config_.type_vocab_size > 0;
  const bool after_padding = config_.positions == PositionScheme::kAfterPadding;
  const int32_t pad = config_.padding_idx;
  for (int i = 0; i < layout.sequences(); ++i) {
    float* o = out + layout.first_row(i) * h;
    int64_t counted = 0;
    for (size_t t = 0; t < seqs[i].size(); ++t, o += h) {
      const int32_t id = seqs[i][t];
      int64_t pos = static_cast<int64_t>(t);
      if (after_padding) pos = id == pad ? pad : pad + (++counted);
      const float* w = word_.data() + id * h;
      const float* p = position_.data() + pos * h;
      if (has_types) {
        const float* tt =
            token_type_.data() + (types.empty() ? 0 : types[i][t] * h);
        for (int64_t j = 0; j < h; ++j) o[j] = (w[j] + tt[j]) + p[j];
      } else {
        for (int64_t j = 0; j < h; ++j) o[j] = w[j] + p[j];
      }
    }
  }
}

namespace {

// MPNetEncoder.relative_position_bucket(memory - context, num_buckets=32,
// max_distance=128), in float32 as PyTorch computes it: 16 buckets per
// direction (keys after the query in the upper half), exact up to distance 7,
// logarithmic up to 128, then the last bucket.
int RelativePositionBucket(int relative_position) {
  constexpr int kHalf = 16, kMaxExact = 8, kMaxDistance = 128;
  int bucket = relative_position > 0 ? kHalf : 0;  // n = -relative < 0
  const int n = std::abs(relative_position);
  if (n < kMaxExact) return bucket + n;
  const float scaled =
      std::log(static_cast<float>(n) / static_cast<float>(kMaxExact)) /
      static_cast<float>(
          std::log(static_cast<double>(kMaxDistance) / kMaxExact)) *
      static_cast<float>(kHalf - kMaxExact);
  const int large = kMaxExact + static_cast<int>(scaled);
  return bucket + std::min(large, kHalf - 1);
}

}  // namespace

void TransformerEncoder::BuildPositionBias(const PackedLayout& layout) {
  const int heads = config_.num_heads;
  const std::vector<LengthGroup>& groups = layout.groups();
  group_bias_.resize(groups.size());
  for (size_t g = 0; g < groups.size(); ++g) {
    const int64_t len = groups[g].len, count = groups[g].count;
    Tensor& bias = group_bias_[g];
    bias.Resize({count, heads, len, len});
    float* first = bias.data();  // [heads, len, len] of one sequence
    for (int64_t q = 0; q < len; ++q) {
      for (int64_t k = 0; k < len; ++k) {
        const float* row =
            relative_bias_.data() + static_cast<int64_t>(RelativePositionBucket(
                                        static_cast<int>(k - q))) *
                                        heads;
        for (int n = 0; n < heads; ++n) first[(n * len + q) * len + k] = row[n];
      }
    }
    const int64_t block = heads * len * len;
    for (int64_t b = 1; b < count; ++b)
      std::copy_n(first, block, first + b * block);
  }
}

absl::Status TransformerEncoder::ForwardPacked(
    absl::Span<const absl::Span<const int32_t>> seqs,
    absl::Span<const absl::Span<const int32_t>> token_types,
    PackedLayout* layout, Tensor* hidden, std::vector<Tensor>* hidden_states) {
  // oneDNN fixes a primitive's thread split when it is created (first use of
  // a shape, inside this call): the model's thread count must already hold.
  SetComputeThreadsOfThisThread(ctx_->threads());
  lengths_.clear();
  for (const auto& ids : seqs) {
    absl::Status s = CheckIds(ids);
    if (!s.ok()) return s;
    lengths_.push_back(static_cast<int>(ids.size()));
  }
  if (absl::Status s = CheckTypes(seqs, token_types); !s.ok()) return s;
  layout->Build(lengths_);
  const int64_t rows = layout->rows();
  hidden->Resize({rows, config_.hidden_size});
  float* x = hidden->data();
  Embed(seqs, token_types, *layout, x);
  embeddings_ln_->Forward(x, rows, x);
  if (hidden_states) hidden_states->assign(1, *hidden);
  const bool relative = config_.relative_attention_buckets > 0;
  if (relative) BuildPositionBias(*layout);
  for (auto& layer : layers_) {
    layer->Forward(x, *layout, &scratch_, relative ? &group_bias_ : nullptr);
    if (hidden_states) hidden_states->push_back(*hidden);
  }
  return absl::OkStatus();
}

absl::Status TransformerEncoder::ReadLengths(absl::Span<const int32_t> ids,
                                             absl::Span<const int32_t> mask,
                                             int batch, int len) {
  const size_t n = static_cast<size_t>(batch) * len;
  if (batch < 0 || len < 0 || ids.size() != n || mask.size() != n) {
    return absl::InvalidArgumentError(
        absl::StrCat(config_.model_type, " input: ids/mask sizes ", ids.size(),
                     "/", mask.size(), " != batch ", batch, " x len ", len));
  }
  seqs_.clear();
  for (int b = 0; b < batch; ++b) {
    const int32_t* m = mask.data() + static_cast<size_t>(b) * len;
    const int n_real = static_cast<int>(std::find(m, m + len, 0) - m);
    if (std::any_of(m + n_real, m + len, [](int32_t v) { return v != 0; })) {
      return absl::InvalidArgumentError(absl::StrCat(
          config_.model_type, " input: attention mask row ", b,
          " is not right-padded (need 1s for the tokens, then 0s)"));
    }
    seqs_.push_back(ids.subspan(static_cast<size_t>(b) * len, n_real));
  }
  return absl::OkStatus();
}

namespace {

// dst [batch, len, hidden] (zero at padding) from packed rows.
void Unpack(const Tensor& packed, const PackedLayout& layout, int len,
            Tensor* dst) {
  const int64_t h = packed.dim(1);
  dst->Resize({layout.sequences(), len, h});
  UnpackRows(packed.data(), h, layout, len, dst->data());
}

}  // namespace

absl::Status TransformerEncoder::Forward(absl::Span<const int32_t> ids,
                                         absl::Span<const int32_t> mask,
                                         int batch, int len,
                                         Tensor* last_hidden,
                                         std::vector<Tensor>* hidden_states) {
  SetComputeThreadsOfThisThread(ctx_->threads());  // as in ForwardPacked
  absl::Status s = ReadLengths(ids, mask, batch, len);
  if (s.ok() && len > config_.max_tokens()) {
    s = absl::InvalidArgumentError(absl::StrCat(
        config_.model_type, " input: ", len,
        " tokens exceed the position table's ", config_.max_tokens()));
  }
  if (s.ok()) {
    s = ForwardPacked(seqs_, &layout_, &packed_,
                      hidden_states ? &packed_states_ : nullptr);
  }
  if (!s.ok()) return s;
  Unpack(packed_, layout_, len, last_hidden);
  if (hidden_states) {
    hidden_states->resize(packed_states_.size());
    for (size_t i = 0; i < packed_states_.size(); ++i)
      Unpack(packed_states_[i], layout_, len, &(*hidden_states)[i]);
  }
  return absl::OkStatus();
}

// Floats live at once in ForwardPacked (unpadded rows): per layer its input,
// QKV, context, attention output, FFN intermediate and output, plus the
// embeddings and the final hidden rows; int8/bf16 copies of the matmul inputs
// (counted as half a float each); every head's probabilities for each text
// (len x len); the pooled rows; and a scratch buffer that grows is copied, so
// its largest one (probabilities or FFN) briefly lives twice. A relative-
// position bias (MPNet) holds one more probabilities-sized buffer.
int64_t EstimateEncoderForwardBytes(const EncoderConfig& c,
                                    absl::Span<const int> lengths) {
  const int64_t h = c.hidden_size, ffn = c.intermediate_size;
  int64_t rows = 0, squares = 0;
  for (int len : lengths) {
    rows += len;
    squares += static_cast<int64_t>(len) * len;
  }
  const int64_t probs = c.num_heads * squares;
  const int64_t bias = c.relative_attention_buckets > 0 ? probs : 0;
  const int64_t floats = bias + rows * (9 * h + ffn) + rows * (h + ffn) / 2 +
                         probs + static_cast<int64_t>(lengths.size()) * h +
                         std::max(probs, rows * ffn);
  return floats * static_cast<int64_t>(sizeof(float));
}

int64_t EncoderParameterCount(const EncoderConfig& c) {
  const int64_t h = c.hidden_size, ffn = c.intermediate_size;
  const int64_t embeddings =
      (static_cast<int64_t>(c.vocab_size) + c.max_position_embeddings +
       c.type_vocab_size + 2) *
      h;
  // QKV + output projections with biases, FFN in/out with biases, two layer
  // norms.
  const int64_t layer = 4 * h * h + 4 * h + 2 * h * ffn + ffn + h + 4 * h;
  return embeddings + c.num_layers * layer +
         static_cast<int64_t>(c.relative_attention_buckets) * c.num_heads;
}

}  // namespace attnserve

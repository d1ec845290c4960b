#include "core/models/bert.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/models/hf_config.h"
#include "core/ops/compute_threads.h"
#include "core/ops/quantize.h"

namespace attnserve {
namespace {

absl::StatusOr<int> PositiveInt(const JsonFile& f, const std::string& key) {
  auto v = f.GetInt(key);
  if (!v.ok()) return v.status();
  if (*v <= 0 || *v > (1 << 30)) {
    return absl::InvalidArgumentError(
        absl::StrCat(f.path(), ": \"", key, "\" must be > 0"));
  }
  return static_cast<int>(*v);
}

#define ASSIGN_OR_RETURN_IMPL(lhs, expr, tmp) \
  auto tmp = (expr);                          \
  if (!tmp.ok()) return tmp.status();         \
  lhs = std::move(*tmp)
#define ATTN_CONCAT2(a, b) a##b
#define ATTN_CONCAT(a, b) ATTN_CONCAT2(a, b)
#define ASSIGN_OR_RETURN(lhs, expr) \
  ASSIGN_OR_RETURN_IMPL(lhs, expr, ATTN_CONCAT(status_or_, __LINE__))

}  // namespace

absl::StatusOr<BertConfig> ReadBertConfig(const std::string& folder) {
  ASSIGN_OR_RETURN(JsonFile f, JsonFile::Read(JoinPath(folder, "config.json")));
  ASSIGN_OR_RETURN(std::string type, f.GetString("model_type"));
  if (type != "bert") {
    return absl::InvalidArgumentError(absl::StrCat(
        f.path(), ": model_type \"", type,
        "\" is not supported by the BERT encoder (need \"bert\")"));
  }
  ASSIGN_OR_RETURN(std::string pos,
                   f.GetString("position_embedding_type", "absolute"));
  if (pos != "absolute") {
    return absl::InvalidArgumentError(
        absl::StrCat(f.path(), ": position_embedding_type \"", pos,
                     "\" is not supported (only \"absolute\")"));
  }
  BertConfig c;
  ASSIGN_OR_RETURN(std::string act, f.GetString("hidden_act"));
  auto parsed = ParseHfActivation(act);
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(f.path(), ": hidden_act: ", parsed.status().message()));
  }
  c.activation = *parsed;
  ASSIGN_OR_RETURN(c.vocab_size, PositiveInt(f, "vocab_size"));
  ASSIGN_OR_RETURN(c.hidden_size, PositiveInt(f, "hidden_size"));
  ASSIGN_OR_RETURN(c.num_layers, PositiveInt(f, "num_hidden_layers"));
  ASSIGN_OR_RETURN(c.num_heads, PositiveInt(f, "num_attention_heads"));
  ASSIGN_OR_RETURN(c.intermediate_size, PositiveInt(f, "intermediate_size"));
  ASSIGN_OR_RETURN(c.max_position_embeddings,
                   PositiveInt(f, "max_position_embeddings"));
  ASSIGN_OR_RETURN(int64_t types, f.GetInt("type_vocab_size", 2));
  c.type_vocab_size = static_cast<int>(types);
  ASSIGN_OR_RETURN(double eps, f.GetDouble("layer_norm_eps", 1e-12));
  c.layer_norm_eps = static_cast<float>(eps);
  if (c.hidden_size % c.num_heads != 0 || c.type_vocab_size < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat(f.path(), ": hidden_size ", c.hidden_size,
                     " is not a multiple of num_attention_heads ", c.num_heads,
                     " or type_vocab_size < 1"));
  }
  return c;
}

absl::StatusOr<BertWeights> LoadBertWeights(const SafetensorsFile& file,
                                            const BertConfig& c) {
  std::string
      p;  // "" (sentence-transformers) or "bert." (BertForMaskedLM etc.)
  if (!file.Has("embeddings.word_embeddings.weight") &&
      file.Has("bert.embeddings.word_embeddings.weight")) {
    p = "bert.";
  }
  const int64_t h = c.hidden_size, ffn = c.intermediate_size;
  BertWeights w;
  auto read = [&](const std::string& name, std::vector<int64_t> shape,
                  Tensor* out) {
    auto t = file.ReadFloat(p + name, shape);
    if (!t.ok()) return t.status();
    *out = std::move(*t);
    return absl::OkStatus();
  };
  std::vector<std::tuple<std::string, std::vector<int64_t>, Tensor*>> specs = {
      {"embeddings.word_embeddings.weight",
       {c.vocab_size, h},
       &w.word_embeddings},
      {"embeddings.position_embeddings.weight",
       {c.max_position_embeddings, h},
       &w.position_embeddings},
      {"embeddings.token_type_embeddings.weight",
       {c.type_vocab_size, h},
       &w.token_type_embeddings},
      {"embeddings.LayerNorm.weight", {h}, &w.embeddings_ln_g},
      {"embeddings.LayerNorm.bias", {h}, &w.embeddings_ln_b}};
  w.layers.resize(c.num_layers);
  for (int i = 0; i < c.num_layers; ++i) {
    const std::string l = absl::StrCat("encoder.layer.", i, ".");
    EncoderLayerWeights& L = w.layers[i];
    AttentionWeights& A = L.attention;
    std::vector<std::tuple<std::string, std::vector<int64_t>, Tensor*>> more = {
        {l + "attention.self.query.weight", {h, h}, &A.q_w},
        {l + "attention.self.query.bias", {h}, &A.q_b},
        {l + "attention.self.key.weight", {h, h}, &A.k_w},
        {l + "attention.self.key.bias", {h}, &A.k_b},
        {l + "attention.self.value.weight", {h, h}, &A.v_w},
        {l + "attention.self.value.bias", {h}, &A.v_b},
        {l + "attention.output.dense.weight", {h, h}, &A.o_w},
        {l + "attention.output.dense.bias", {h}, &A.o_b},
        {l + "attention.output.LayerNorm.weight", {h}, &L.attn_ln_g},
        {l + "attention.output.LayerNorm.bias", {h}, &L.attn_ln_b},
        {l + "intermediate.dense.weight", {ffn, h}, &L.ffn_in_w},
        {l + "intermediate.dense.bias", {ffn}, &L.ffn_in_b},
        {l + "output.dense.weight", {h, ffn}, &L.ffn_out_w},
        {l + "output.dense.bias", {h}, &L.ffn_out_b},
        {l + "output.LayerNorm.weight", {h}, &L.ffn_ln_g},
        {l + "output.LayerNorm.bias", {h}, &L.ffn_ln_b}};
    specs.insert(specs.end(), more.begin(), more.end());
  }
  for (auto& [name, shape, out] : specs) {
    absl::Status s = read(name, shape, out);
    if (!s.ok()) return s;
  }
  return w;
}

absl::Status ValidateBertWeights(const BertWeights& w, const BertConfig& c) {
  const int64_t h = c.hidden_size, ffn = c.intermediate_size;
  auto check = [](const Tensor& t, std::vector<int64_t> shape,
                  const std::string& what) {
    if (t.shape() == shape) return absl::OkStatus();
    return absl::InvalidArgumentError(
        absl::StrCat("BERT weight ", what, " has shape ", t.ShapeString(),
                     ", expected ", ShapeToString(shape)));
  };
  std::vector<absl::Status> r = {
      check(w.word_embeddings, {c.vocab_size, h}, "word_embeddings"),
      check(w.position_embeddings, {c.max_position_embeddings, h},
            "position_embeddings"),
      check(w.token_type_embeddings, {c.type_vocab_size, h},
            "token_type_embeddings"),
      check(w.embeddings_ln_g, {h}, "embeddings.LayerNorm.weight"),
      check(w.embeddings_ln_b, {h}, "embeddings.LayerNorm.bias")};
  if (static_cast<int>(w.layers.size()) != c.num_layers) {
    return absl::InvalidArgumentError(
        absl::StrCat("BERT weights have ", w.layers.size(),
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

}  // namespace attnserve

namespace attnserve {

absl::StatusOr<std::unique_ptr<BertModel>> BertModel::Load(
    const std::string& folder, const LoadOptions& options) {
  if (options.dtype == DType::kBFloat16) {
    absl::Status bf16 = BFloat16MatmulSupported();
    if (!bf16.ok()) {  // before reading 100s of MB of weights
      return absl::FailedPreconditionError(
          absl::StrCat(folder, ": ", bf16.message()));
    }
  }
  ASSIGN_OR_RETURN(BertConfig config, ReadBertConfig(folder));
  const std::string path = JoinPath(folder, "model.safetensors");
  if (!FileExists(path)) {
    return absl::NotFoundError(absl::StrCat(
        path,
        ": not found (only safetensors checkpoints are supported; convert "
        "pytorch_model.bin with transformers' "
        "save_pretrained(safe_serialization=True))"));
  }
  ASSIGN_OR_RETURN(std::unique_ptr<SafetensorsFile> file,
                   SafetensorsFile::Open(path));
  ASSIGN_OR_RETURN(BertWeights weights, LoadBertWeights(*file, config));
  return Create(config, std::move(weights), options);
}

absl::StatusOr<std::unique_ptr<BertModel>> BertModel::Create(
    const BertConfig& config, BertWeights weights, const LoadOptions& options) {
  absl::Status s = ValidateBertWeights(weights, config);
  if (!s.ok()) return s;
  if (options.dtype == DType::kBFloat16) {
    s = BFloat16MatmulSupported();
    if (!s.ok()) return s;
  }
  return std::unique_ptr<BertModel>(
      new BertModel(config, std::move(weights), options));
}

BertModel::BertModel(const BertConfig& config, BertWeights w,
                     const LoadOptions& options)
    : config_(config),
      options_(options),
      ctx_(std::make_unique<DnnlContext>(options.threads)) {
  word_ = std::move(w.word_embeddings);
  position_ = std::move(w.position_embeddings);
  token_type_ = std::move(w.token_type_embeddings);
  embeddings_ln_ = std::make_unique<LayerNorm>(
      ctx_.get(), std::move(w.embeddings_ln_g), std::move(w.embeddings_ln_b),
      config.layer_norm_eps);
  for (auto& layer : w.layers) {
    layers_.push_back(std::make_unique<PostLnEncoderLayer>(
        ctx_.get(), config.hidden_size, config.num_heads, config.activation,
        config.layer_norm_eps, std::move(layer), options.dtype));
  }
}

absl::Status BertModel::CheckIds(absl::Span<const int32_t> ids) const {
  if (ids.size() > static_cast<size_t>(config_.max_position_embeddings)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "BERT input: ", ids.size(), " tokens exceed max_position_embeddings ",
        config_.max_position_embeddings));
  }
  for (int32_t id : ids) {
    if (id < 0 || id >= config_.vocab_size) {
      return absl::InvalidArgumentError(absl::StrCat(
          "BERT input: token id ", id, " outside the vocabulary [0, ",
          config_.vocab_size, ")"));
    }
  }
  return absl::OkStatus();
}

// out[row of (i, t)] = word[id] + position[t] + token_type[0] (the sum order
// of HF BertEmbeddings).
void BertModel::Embed(absl::Span<const absl::Span<const int32_t>> seqs,
                      const PackedLayout& layout, float* out) const {
  const int64_t h = config_.hidden_size;
  const float* tt = token_type_.data();
  for (int i = 0; i < layout.sequences(); ++i) {
    float* o = out + layout.first_row(i) * h;
    for (size_t t = 0; t < seqs[i].size(); ++t, o += h) {
      const float* w = word_.data() + seqs[i][t] * h;
      const float* p = position_.data() + t * h;
      for (int64_t j = 0; j < h; ++j) o[j] = (w[j] + tt[j]) + p[j];
    }
  }
}

absl::Status BertModel::ForwardPacked(
    absl::Span<const absl::Span<const int32_t>> seqs, PackedLayout* layout,
    Tensor* hidden, std::vector<Tensor>* hidden_states) {
  // oneDNN fixes a primitive's thread split when it is created (first use of
  // a shape, inside this call): the model's thread count must already hold.
  SetComputeThreadsOfThisThread(ctx_->threads());
  lengths_.clear();
  for (const auto& ids : seqs) {
    absl::Status s = CheckIds(ids);
    if (!s.ok()) return s;
    lengths_.push_back(static_cast<int>(ids.size()));
  }
  layout->Build(lengths_);
  const int64_t rows = layout->rows();
  hidden->Resize({rows, config_.hidden_size});
  float* x = hidden->data();
  Embed(seqs, *layout, x);
  embeddings_ln_->Forward(x, rows, x);
  if (hidden_states) hidden_states->assign(1, *hidden);
  for (auto& layer : layers_) {
    layer->Forward(x, *layout, &scratch_);
    if (hidden_states) hidden_states->push_back(*hidden);
  }
  return absl::OkStatus();
}

absl::Status BertModel::ReadLengths(absl::Span<const int32_t> ids,
                                    absl::Span<const int32_t> mask, int batch,
                                    int len) {
  const size_t n = static_cast<size_t>(batch) * len;
  if (batch < 0 || len < 0 || ids.size() != n || mask.size() != n) {
    return absl::InvalidArgumentError(
        absl::StrCat("BERT input: ids/mask sizes ", ids.size(), "/",
                     mask.size(), " != batch ", batch, " x len ", len));
  }
  seqs_.clear();
  for (int b = 0; b < batch; ++b) {
    const int32_t* m = mask.data() + static_cast<size_t>(b) * len;
    const int n_real = static_cast<int>(std::find(m, m + len, 0) - m);
    if (std::any_of(m + n_real, m + len, [](int32_t v) { return v != 0; })) {
      return absl::InvalidArgumentError(absl::StrCat(
          "BERT input: attention mask row ", b,
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
  const int64_t h = packed.dim(1), batch = layout.sequences();
  dst->Resize({batch, len, h});
  std::fill_n(dst->data(), dst->numel(), 0.f);
  for (int b = 0; b < batch; ++b) {
    std::copy_n(packed.data() + layout.first_row(b) * h, layout.length(b) * h,
                dst->data() + b * len * h);
  }
}

}  // namespace

absl::Status BertModel::Forward(absl::Span<const int32_t> ids,
                                absl::Span<const int32_t> mask, int batch,
                                int len, Tensor* last_hidden,
                                std::vector<Tensor>* hidden_states) {
  SetComputeThreadsOfThisThread(ctx_->threads());  // as in ForwardPacked
  absl::Status s = ReadLengths(ids, mask, batch, len);
  if (s.ok() && len > config_.max_position_embeddings) {
    s = absl::InvalidArgumentError(absl::StrCat(
        "BERT input: ", len, " tokens exceed max_position_embeddings ",
        config_.max_position_embeddings));
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
// its largest one (probabilities or FFN) briefly lives twice.
int64_t EstimateBertForwardBytes(const BertConfig& c,
                                 absl::Span<const int> lengths) {
  const int64_t h = c.hidden_size, ffn = c.intermediate_size;
  int64_t rows = 0, squares = 0;
  for (int len : lengths) {
    rows += len;
    squares += static_cast<int64_t>(len) * len;
  }
  const int64_t probs = c.num_heads * squares;
  const int64_t floats = rows * (9 * h + ffn) + rows * (h + ffn) / 2 + probs +
                         static_cast<int64_t>(lengths.size()) * h +
                         std::max(probs, rows * ffn);
  return floats * static_cast<int64_t>(sizeof(float));
}

int64_t BertParameterCount(const BertConfig& c) {
  const int64_t h = c.hidden_size, ffn = c.intermediate_size;
  const int64_t embeddings =
      (static_cast<int64_t>(c.vocab_size) + c.max_position_embeddings +
       c.type_vocab_size + 2) *
      h;
  // QKV + output projections with biases, FFN in/out with biases, two layer
  // norms.
  const int64_t layer = 4 * h * h + 4 * h + 2 * h * ffn + ffn + h + 4 * h;
  return embeddings + c.num_layers * layer;
}

}  // namespace attnserve

#include "core/models/marian.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "core/layers/decoder_attention.h"
#include "core/layers/positions.h"
#include "core/models/hf_config.h"
#include "core/models/safetensors.h"
#include "core/ops/compute_threads.h"
#include "core/ops/quantize.h"
#include "core/status_macros.h"

namespace attnserve {
namespace {

// Rows of several [n_i, cols] tensors stacked into one [Σ n_i, cols] tensor.
Tensor ConcatRows(const std::vector<const Tensor*>& parts) {
  int64_t rows = 0;
  const int64_t cols = parts[0]->rank() == 1 ? 1 : parts[0]->dim(1);
  for (const Tensor* p : parts) rows += p->numel() / cols;
  Tensor out(cols == 1 && parts[0]->rank() == 1
                 ? std::vector<int64_t>{rows}
                 : std::vector<int64_t>{rows, cols});
  float* dst = out.data();
  for (const Tensor* p : parts) {
    std::memcpy(dst, p->data(), p->numel() * sizeof(float));
    dst += p->numel();
  }
  return out;
}

struct Projection {
  Tensor w, b;
};

absl::StatusOr<Projection> ReadProjection(const WeightReader& r,
                                          const std::string& name, int64_t out,
                                          int64_t in) {
  Projection p;
  RETURN_IF_ERROR(r.ReadLinear(name, out, in, &p.w, &p.b));
  return p;
}

// Adds the wall time of its scope to *sum when sum is non-null (profiling).
class ScopedTimer {
 public:
  explicit ScopedTimer(double* sum)
      : sum_(sum),
        start_(sum ? std::chrono::steady_clock::now()
                   : std::chrono::steady_clock::time_point()) {}
  ~ScopedTimer() {
    if (sum_ == nullptr) return;
    *sum_ +=
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start_)
            .count();
  }

 private:
  double* sum_;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace

MarianPrecisionPlan MarianPrecisionPlan::For(DType dtype) {
  MarianPrecisionPlan plan;
  plan.dtype = dtype;
  return plan;
}

int64_t BucketRows(int64_t rows) {
  if (rows <= 2) return rows;
  if (rows <= 4) return 4;
  return (rows + 7) / 8 * 8;
}

absl::StatusOr<std::unique_ptr<MarianModel>> MarianModel::Load(
    const std::string& folder, const LoadOptions& options) {
  if (options.dtype == DType::kBFloat16) {
    absl::Status bf16 = BFloat16MatmulSupported();
    if (!bf16.ok()) {  // before reading the weights
      return absl::FailedPreconditionError(
          absl::StrCat(folder, ": ", bf16.message()));
    }
  }
  auto config_json = JsonFile::Read(JoinPath(folder, "config.json"));
  if (!config_json.ok()) return config_json.status();
  auto config = ParseMarianConfig(*config_json);
  if (!config.ok()) return config.status();
  auto source = FolderWeightSource(folder);
  if (!source.ok()) return source.status();
  return Create(*config, *source, options);
}

absl::StatusOr<std::unique_ptr<MarianModel>> MarianModel::Create(
    const MarianConfig& config, const WeightSource& weights,
    const LoadOptions& options) {
  return Create(config, weights, options,
                MarianPrecisionPlan::For(options.dtype));
}

absl::StatusOr<std::unique_ptr<MarianModel>> MarianModel::Create(
    const MarianConfig& config, const WeightSource& weights,
    const LoadOptions& options, const MarianPrecisionPlan& plan) {
  if (plan.dtype == DType::kBFloat16)
    RETURN_IF_ERROR(BFloat16MatmulSupported());
  std::unique_ptr<MarianModel> model(
      new MarianModel(config, options.threads, plan));
  RETURN_IF_ERROR(model->Build(weights));
  return model;
}

Linear::Options MarianModel::LinearOptions(Activation act, bool residual,
                                           bool reduced) const {
  return Linear::Options{act, residual,
                         reduced ? plan_.dtype : DType::kFloat32};
}

absl::Status MarianModel::Build(const WeightSource& weights) {
  const MarianConfig& c = config_;
  const int64_t d = c.d_model;
  const std::string prefix =
      weights.has("model.encoder.layers.0.self_attn.q_proj.weight") ? "model."
                                                                    : "";
  // "model." for MarianMTModel, "" for MarianModel.
  WeightReader r(&weights, prefix);
  embed_scale_ = c.scale_embedding
                     ? static_cast<float>(std::sqrt(static_cast<double>(d)))
                     : 1.0f;

  // Embeddings: explicit per-side tables when stored (older checkpoints, or
  // unshared vocabs), else the shared matrix.
  auto read_embedding =
      [&](const std::string& own, int64_t vocab,
          std::shared_ptr<const Tensor>* out) -> absl::Status {
    Tensor t;
    if (r.Has(own)) {
      ASSIGN_OR_RETURN(t, r.Read(own, {vocab, d}));
    } else if (r.Has("shared.weight")) {
      ASSIGN_OR_RETURN(t, r.Read("shared.weight", {vocab, d}));
    } else {
      return absl::NotFoundError(absl::StrCat("Marian checkpoint has neither ",
                                              prefix, own, " nor ", prefix,
                                              "shared.weight"));
    }
    *out = std::make_shared<const Tensor>(std::move(t));
    return absl::OkStatus();
  };
  RETURN_IF_ERROR(read_embedding("encoder.embed_tokens.weight", c.vocab_size,
                                 &encoder_embed_));
  if (c.share_encoder_decoder_embeddings &&
      !r.Has("decoder.embed_tokens.weight")) {
    decoder_embed_ = encoder_embed_;
  } else {
    RETURN_IF_ERROR(read_embedding("decoder.embed_tokens.weight",
                                   c.decoder_vocab_size, &decoder_embed_));
  }
  auto read_positions = [&](const std::string& name,
                            Tensor* out) -> absl::Status {
    if (r.Has(name)) {
      ASSIGN_OR_RETURN(*out, r.Read(name, {c.max_position_embeddings, d}));
    } else {
      *out = SinusoidalPositions(c.max_position_embeddings, c.d_model);
    }
    return absl::OkStatus();
  };
  RETURN_IF_ERROR(
      read_positions("encoder.embed_positions.weight", &encoder_positions_));
  RETURN_IF_ERROR(
      read_positions("decoder.embed_positions.weight", &decoder_positions_));

  for (int i = 0; i < c.encoder_layers; ++i) {
    RETURN_IF_ERROR(
        BuildEncoderLayer(r.Scope("encoder.layers." + std::to_string(i))));
  }
  decoder_layers_.resize(c.decoder_layers);
  for (int i = 0; i < c.decoder_layers; ++i) {
    RETURN_IF_ERROR(BuildDecoderLayer(
        weights, prefix + "decoder.layers." + std::to_string(i) + ".",
        &decoder_layers_[i]));
  }

  std::shared_ptr<const Tensor> lm_weight = decoder_embed_;
  if (weights.has("lm_head.weight")) {
    auto w = weights.read("lm_head.weight", {c.decoder_vocab_size, d});
    if (!w.ok()) return w.status();
    lm_weight = std::make_shared<const Tensor>(*std::move(w));
  }
  Tensor bias({c.decoder_vocab_size});
  if (weights.has("final_logits_bias")) {
    auto b = weights.read("final_logits_bias", {1, c.decoder_vocab_size});
    if (!b.ok()) return b.status();
    std::memcpy(bias.data(), b->data(), bias.numel() * sizeof(float));
  } else {
    std::fill(bias.data(), bias.data() + bias.numel(), 0.0f);
  }
  lm_head_ = std::make_unique<Linear>(
      &ctx_, lm_weight, std::make_shared<const Tensor>(std::move(bias)),
      LinearOptions(Activation::kNone, false, plan_.lm_head));
  return absl::OkStatus();
}

absl::Status MarianModel::BuildEncoderLayer(const WeightReader& r) {
  const MarianConfig& c = config_;
  const int64_t d = c.d_model, f = c.encoder_ffn_dim;
  EncoderLayerWeights w;
  AttentionWeights& a = w.attention;
  RETURN_IF_ERROR(r.ReadLinear("self_attn.q_proj", d, d, &a.q_w, &a.q_b));
  RETURN_IF_ERROR(r.ReadLinear("self_attn.k_proj", d, d, &a.k_w, &a.k_b));
  RETURN_IF_ERROR(r.ReadLinear("self_attn.v_proj", d, d, &a.v_w, &a.v_b));
  RETURN_IF_ERROR(r.ReadLinear("self_attn.out_proj", d, d, &a.o_w, &a.o_b));
  RETURN_IF_ERROR(
      r.ReadLayerNorm("self_attn_layer_norm", d, &w.attn_ln_g, &w.attn_ln_b));
  RETURN_IF_ERROR(r.ReadLinear("fc1", f, d, &w.ffn_in_w, &w.ffn_in_b));
  RETURN_IF_ERROR(r.ReadLinear("fc2", d, f, &w.ffn_out_w, &w.ffn_out_b));
  RETURN_IF_ERROR(
      r.ReadLayerNorm("final_layer_norm", d, &w.ffn_ln_g, &w.ffn_ln_b));
  // The model's plan, not the sentence encoders' choice
  // (PostLnEncoderLayer::Precision::For runs an int8 fc2 in bf16): Marian's
  // numbers, hence its translations, stay those of its plan.
  PostLnEncoderLayer::Precision precision;
  precision.projections = plan_.encoder ? plan_.dtype : DType::kFloat32;
  precision.ffn_output =
      plan_.encoder && plan_.ffn_output ? plan_.dtype : DType::kFloat32;
  encoder_layers_.push_back(std::make_unique<PostLnEncoderLayer>(
      &ctx_, c.d_model, c.encoder_heads, c.activation, c.layer_norm_eps,
      std::move(w), precision));
  return absl::OkStatus();
}

absl::Status MarianModel::BuildDecoderLayer(const WeightSource& w,
                                            const std::string& p,
                                            DecoderLayer* layer) {
  const MarianConfig& c = config_;
  const int64_t d = c.d_model, f = c.decoder_ffn_dim;
  WeightReader r(&w, p);
  Projection q, k, v, o, cq, ck, cv, co, fc1, fc2;
  ASSIGN_OR_RETURN(q, ReadProjection(r, "self_attn.q_proj", d, d));
  ASSIGN_OR_RETURN(k, ReadProjection(r, "self_attn.k_proj", d, d));
  ASSIGN_OR_RETURN(v, ReadProjection(r, "self_attn.v_proj", d, d));
  ASSIGN_OR_RETURN(o, ReadProjection(r, "self_attn.out_proj", d, d));
  ASSIGN_OR_RETURN(cq, ReadProjection(r, "encoder_attn.q_proj", d, d));
  ASSIGN_OR_RETURN(ck, ReadProjection(r, "encoder_attn.k_proj", d, d));
  ASSIGN_OR_RETURN(cv, ReadProjection(r, "encoder_attn.v_proj", d, d));
  ASSIGN_OR_RETURN(co, ReadProjection(r, "encoder_attn.out_proj", d, d));
  ASSIGN_OR_RETURN(fc1, ReadProjection(r, "fc1", f, d));
  ASSIGN_OR_RETURN(fc2, ReadProjection(r, "fc2", d, f));
  Projection ln[3];
  const char* ln_names[3] = {"self_attn_layer_norm", "encoder_attn_layer_norm",
                             "final_layer_norm"};
  for (int i = 0; i < 3; ++i) {
    RETURN_IF_ERROR(r.ReadLayerNorm(ln_names[i], d, &ln[i].w, &ln[i].b));
  }
  const Linear::Options plain = LinearOptions(Activation::kNone, false, true);
  const Linear::Options with_residual =
      LinearOptions(Activation::kNone, true, true);
  layer->self_qkv =
      std::make_unique<Linear>(&ctx_, ConcatRows({&q.w, &k.w, &v.w}),
                               ConcatRows({&q.b, &k.b, &v.b}), plain);
  layer->self_out = std::make_unique<Linear>(&ctx_, std::move(o.w),
                                             std::move(o.b), with_residual);
  layer->cross_q =
      std::make_unique<Linear>(&ctx_, std::move(cq.w), std::move(cq.b), plain);
  layer->cross_kv = std::make_unique<Linear>(
      &ctx_, ConcatRows({&ck.w, &cv.w}), ConcatRows({&ck.b, &cv.b}),
      LinearOptions(Activation::kNone, false, plan_.cross_kv));
  layer->cross_out = std::make_unique<Linear>(&ctx_, std::move(co.w),
                                              std::move(co.b), with_residual);
  layer->fc1 =
      std::make_unique<Linear>(&ctx_, std::move(fc1.w), std::move(fc1.b),
                               LinearOptions(c.activation, false, true));
  layer->fc2 = std::make_unique<Linear>(
      &ctx_, std::move(fc2.w), std::move(fc2.b),
      LinearOptions(Activation::kNone, true, plan_.ffn_output));
  std::unique_ptr<LayerNorm>* lns[3] = {&layer->self_ln, &layer->cross_ln,
                                        &layer->ffn_ln};
  for (int i = 0; i < 3; ++i) {
    *lns[i] = std::make_unique<LayerNorm>(&ctx_, std::move(ln[i].w),
                                          std::move(ln[i].b), c.layer_norm_eps);
  }
  return absl::OkStatus();
}

int64_t MarianModel::decoder_step_weight_bytes() const {
  const int64_t layer_norms = 3 * 2 * config_.d_model * sizeof(float);
  int64_t bytes = lm_head_->parameter_bytes();
  for (const DecoderLayer& l : decoder_layers_) {
    bytes += l.self_qkv->parameter_bytes() + l.self_out->parameter_bytes() +
             l.cross_q->parameter_bytes() + l.cross_out->parameter_bytes() +
             l.fc1->parameter_bytes() + l.fc2->parameter_bytes() + layer_norms;
  }
  return bytes;
}

void MarianModel::EnableProfiling(bool on) {
  absl::MutexLock lock(&mu_);
  profiling_ = on;
  ctx_.EnableProfiling(on);
}

DecoderProfile MarianModel::profile() {
  absl::MutexLock lock(&mu_);
  return profile_;
}

void MarianModel::ResetProfile() {
  absl::MutexLock lock(&mu_);
  profile_ = DecoderProfile();
  ctx_.ResetProfile();
}

absl::Status MarianModel::Encode(absl::Span<const int32_t> ids,
                                 absl::Span<const int> lengths, int len,
                                 Tensor* out,
                                 std::vector<Tensor>* hidden_states) {
  // oneDNN fixes a primitive's thread split when it is created (first use of
  // a shape, inside this call): the model's thread count must already hold.
  SetComputeThreadsOfThisThread(ctx_.threads());
  const MarianConfig& c = config_;
  const int batch = static_cast<int>(lengths.size());
  const int64_t d = c.d_model, rows = static_cast<int64_t>(batch) * len;
  if (static_cast<int64_t>(ids.size()) != rows) {
    return absl::InvalidArgumentError(
        absl::StrCat("Encode: ", ids.size(), " ids for ", batch, " x ", len));
  }
  if (len > c.max_position_embeddings) {
    return absl::InvalidArgumentError(absl::StrCat(
        "source of ", len, " tokens exceeds max_position_embeddings ",
        c.max_position_embeddings));
  }
  for (int b = 0; b < batch; ++b) {
    if (lengths[b] < 1 || lengths[b] > len) {
      return absl::InvalidArgumentError(
          absl::StrCat("source length ", lengths[b], " not in [1, ", len, "]"));
    }
  }
  for (int32_t id : ids) {
    if (id < 0 || id >= c.vocab_size) {
      return absl::InvalidArgumentError(
          absl::StrCat("source token id ", id, " outside the vocabulary [0, ",
                       c.vocab_size, ")"));
    }
  }
  absl::MutexLock lock(&mu_);
  // Packed: the layers run over the real tokens only (no padded rows, no
  // mask), then rows are scattered to the padded layout the callers index.
  PackedLayout& layout = encoder_layout_;
  layout.Build(lengths);
  encoder_packed_.Resize({layout.rows(), d});
  float* x = encoder_packed_.data();
  for (int b = 0; b < batch; ++b) {
    for (int t = 0; t < lengths[b]; ++t) {
      const int32_t id = ids[static_cast<int64_t>(b) * len + t];
      const float* e = encoder_embed_->data() + static_cast<int64_t>(id) * d;
      const float* p = encoder_positions_.data() + static_cast<int64_t>(t) * d;
      float* row = x + (layout.first_row(b) + t) * d;
      for (int64_t j = 0; j < d; ++j) row[j] = e[j] * embed_scale_ + p[j];
    }
  }
  if (hidden_states != nullptr) hidden_states->clear();
  auto record = [&] {
    if (hidden_states == nullptr) return;
    hidden_states->emplace_back();
    Tensor& state = hidden_states->back();
    state.Resize({rows, d});
    UnpackRows(encoder_packed_.data(), d, layout, len, state.data());
  };
  record();
  for (auto& layer : encoder_layers_) {
    layer->Forward(x, layout, &encoder_scratch_);
    record();
  }
  out->Resize({rows, d});
  UnpackRows(encoder_packed_.data(), d, layout, len, out->data());
  return absl::OkStatus();
}

void MarianModel::ComputeCrossKv(const Tensor& encoded,
                                 absl::Span<const int> lengths, int len,
                                 std::vector<CrossKv>* out) {
  const int batch = static_cast<int>(lengths.size());
  const int64_t d = config_.d_model, rows = static_cast<int64_t>(batch) * len;
  absl::MutexLock lock(&mu_);
  out->assign(batch, CrossKv{});
  for (int b = 0; b < batch; ++b) {
    (*out)[b].length = lengths[b];
    (*out)[b].layers.resize(decoder_layers_.size());
  }
  cross_tmp_.Resize({rows, 2 * d});
  for (size_t l = 0; l < decoder_layers_.size(); ++l) {
    decoder_layers_[l].cross_kv->Forward(encoded.data(), rows,
                                         cross_tmp_.data());
    for (int b = 0; b < batch; ++b) {
      Tensor& kv = (*out)[b].layers[l];
      kv.Resize({lengths[b], 2 * d});
      std::memcpy(kv.data(),
                  cross_tmp_.data() + static_cast<int64_t>(b) * len * 2 * d,
                  kv.numel() * sizeof(float));
    }
  }
}

std::unique_ptr<KvCachePool> MarianModel::NewCachePool() const {
  return std::make_unique<KvCachePool>(config_.decoder_layers, config_.d_model);
}

void MarianModel::EmbedDecoderRows(absl::Span<const DecoderRow> rows,
                                   float* x) const {
  const int64_t d = config_.d_model;
  for (size_t r = 0; r < rows.size(); ++r) {
    const float* e =
        decoder_embed_->data() + static_cast<int64_t>(rows[r].token) * d;
    const float* p =
        decoder_positions_.data() + static_cast<int64_t>(rows[r].position) * d;
    for (int64_t j = 0; j < d; ++j) x[r * d + j] = e[j] * embed_scale_ + p[j];
  }
}

void MarianModel::DecoderStep(absl::Span<const DecoderRow> rows,
                              KvCachePool* cache, Tensor* logits) {
  SetComputeThreadsOfThisThread(ctx_.threads());  // as in Encode
  const MarianConfig& c = config_;
  const int64_t n = static_cast<int64_t>(rows.size());
  // Matmuls run over a bucketed row count (zero rows appended) so that a server
  // cycling through every batch size creates a bounded number of oneDNN
  // primitives.
  const int64_t m = BucketRows(n);
  const int64_t d = c.d_model;
  const int heads = c.decoder_heads, head_dim = c.d_model / c.decoder_heads;
  const float scale =
      static_cast<float>(1.0 / std::sqrt(static_cast<double>(head_dim)));
  absl::MutexLock lock(&mu_);
  DecoderProfile& prof = profile_;
  const double matmul_before = ctx_.profile().matmul_seconds;
  ScopedTimer step_timer(profiling_ ? &prof.step_seconds : nullptr);
  double* linear_time = profiling_ ? &prof.linear_seconds : nullptr;
  double* attention_time = profiling_ ? &prof.attention_seconds : nullptr;
  DecoderScratch& s = dec_;
  s.x.Resize({m, d});
  s.tmp.Resize({m, d});
  s.qkv.Resize({m, 3 * d});
  s.q.Resize({m, d});
  s.ctx.Resize({m, d});
  s.ffn.Resize({m, static_cast<int64_t>(c.decoder_ffn_dim)});
  int max_len = 1;
  for (const DecoderRow& row : rows)
    max_len = std::max({max_len, row.position + 1, row.cross->length});
  // One attention-probability row per decoder row: rows attend in parallel.
  const int64_t probs = static_cast<int64_t>(n) * max_len;
  if (static_cast<int64_t>(s.probs.size()) < probs) s.probs.resize(probs);
  logits->Resize({m, static_cast<int64_t>(c.decoder_vocab_size)});
  if (n == 0) return;
  // Padding rows: zero inputs and attention outputs (LayerNorm of zeros stays
  // finite).
  std::fill(s.x.data() + n * d, s.x.data() + m * d, 0.0f);
  std::fill(s.ctx.data() + n * d, s.ctx.data() + m * d, 0.0f);

  float* x = s.x.data();
  EmbedDecoderRows(rows, x);
  for (size_t l = 0; l < decoder_layers_.size(); ++l) {
    DecoderLayer& layer = decoder_layers_[l];
    // Causal self-attention: append this step's K/V, attend over positions [0,
    // position].
    {
      ScopedTimer t(linear_time);
      layer.self_qkv->Forward(x, m, s.qkv.data());
    }
    {
      ScopedTimer t(attention_time);
      // Rows are independent (each its own cache slot): shared among the
      // model's OpenMP threads (marian.cc is compiled with OpenMP, see
      // core/CMakeLists.txt).
#pragma omp parallel for schedule(static) if (n > 1)
      for (int64_t r = 0; r < n; ++r) {
        const DecoderRow& row = rows[r];
        const float* qkv = s.qkv.data() + r * 3 * d;
        float* keys = cache->keys(row.cache_slot, static_cast<int>(l));
        float* values = cache->values(row.cache_slot, static_cast<int>(l));
        std::memcpy(keys + row.position * d, qkv + d, d * sizeof(float));
        std::memcpy(values + row.position * d, qkv + 2 * d, d * sizeof(float));
        AttendRow(qkv, keys, values, d, row.position + 1, heads, head_dim,
                  scale, s.probs.data() + r * max_len, s.ctx.data() + r * d);
      }
    }
    {
      ScopedTimer t(linear_time);
      layer.self_out->Forward(s.ctx.data(), m, s.tmp.data(), x);
    }
    layer.self_ln->Forward(s.tmp.data(), m, x);
    // Cross-attention over the row's source sentence.
    {
      ScopedTimer t(linear_time);
      layer.cross_q->Forward(x, m, s.q.data());
    }
    {
      ScopedTimer t(attention_time);
#pragma omp parallel for schedule(static) if (n > 1)
      for (int64_t r = 0; r < n; ++r) {
        const Tensor& kv = rows[r].cross->layers[l];
        AttendRow(s.q.data() + r * d, kv.data(), kv.data() + d, 2 * d,
                  rows[r].cross->length, heads, head_dim, scale,
                  s.probs.data() + r * max_len, s.ctx.data() + r * d);
      }
    }
    {
      ScopedTimer t(linear_time);
      layer.cross_out->Forward(s.ctx.data(), m, s.tmp.data(), x);
    }
    layer.cross_ln->Forward(s.tmp.data(), m, x);
    // Feed-forward.
    {
      ScopedTimer t(linear_time);
      layer.fc1->Forward(x, m, s.ffn.data());
      layer.fc2->Forward(s.ffn.data(), m, s.tmp.data(), x);
    }
    layer.ffn_ln->Forward(s.tmp.data(), m, x);
  }
  {
    ScopedTimer t(linear_time);
    lm_head_->Forward(x, m, logits->data());
  }
  if (profiling_) {
    ++prof.steps;
    prof.matmul_seconds += ctx_.profile().matmul_seconds - matmul_before;
  }
}

}  // namespace attnserve

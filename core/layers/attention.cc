#include "core/layers/attention.h"

#include <cmath>
#include <cstring>
#include <utility>

namespace attnserve {
namespace {

// Rows of `parts` stacked into one [sum rows, ...] tensor (fusing projections
// at load).
Tensor Stack(std::initializer_list<const Tensor*> parts) {
  int64_t rows = 0;
  for (const Tensor* p : parts) rows += p->dim(0);
  std::vector<int64_t> shape = parts.begin()[0]->shape();
  shape[0] = rows;
  Tensor out(shape);
  float* dst = out.data();
  for (const Tensor* p : parts) {
    std::memcpy(dst, p->data(), p->numel() * sizeof(float));
    dst += p->numel();
  }
  return out;
}

}  // namespace

MultiHeadAttention::MultiHeadAttention(DnnlContext* ctx, int hidden, int heads,
                                       AttentionWeights w, Options opt)
    : ctx_(ctx),
      hidden_(hidden),
      heads_(heads),
      head_dim_(hidden / heads),
      opt_(opt),
      scores_mm_(ctx, /*transpose_b=*/true,
                 1.0f / std::sqrt(static_cast<float>(hidden / heads))),
      values_mm_(ctx, /*transpose_b=*/false),
      fused_scores_mm_(ctx,
                       1.0f / std::sqrt(static_cast<float>(hidden / heads))),
      fused_values_mm_(ctx, 1.0f),
      mask_add_(ctx),
      softmax_(ctx),
      copy_(ctx) {
  Linear::Options proj;
  proj.precision = opt.precision;
  if (opt.fusion == Fusion::kQkv) {
    qkv_ = std::make_unique<Linear>(ctx, Stack({&w.q_w, &w.k_w, &w.v_w}),
                                    Stack({&w.q_b, &w.k_b, &w.v_b}), proj);
  } else {
    q_ =
        std::make_unique<Linear>(ctx, std::move(w.q_w), std::move(w.q_b), proj);
    kv_ = std::make_unique<Linear>(ctx, Stack({&w.k_w, &w.v_w}),
                                   Stack({&w.k_b, &w.v_b}), proj);
  }
  Linear::Options out_opt = proj;
  out_opt.residual = opt.residual;
  out_ = std::make_unique<Linear>(ctx, std::move(w.o_w), std::move(w.o_b),
                                  out_opt);
}

void MultiHeadAttention::ProjectQkv(const float* x, int64_t rows, float* qkv) {
  qkv_->Forward(x, rows, qkv);
}
void MultiHeadAttention::ProjectQ(const float* x, int64_t rows, float* q) {
  q_->Forward(x, rows, q);
}
void MultiHeadAttention::ProjectKv(const float* memory, int64_t rows,
                                   float* kv) {
  kv_->Forward(memory, rows, kv);
}

void MultiHeadAttention::SplitHeads(const float* src, int64_t row_stride,
                                    int batch, int len, float* dst, int dst_len,
                                    int dst_offset) {
  const int64_t dl = dst_len > 0 ? dst_len : len, dk = head_dim_;
  copy_.Forward(src, {len * row_stride, dk, row_stride, 1},
                dst + dst_offset * dk, {heads_ * dl * dk, dl * dk, dk, 1},
                {batch, heads_, len, dk});
}

void MultiHeadAttention::AttentionProbs(const float* q, const float* k,
                                        const float* mask, int mask_rows,
                                        int batch, int tq, int tk, float* probs,
                                        int k_len) {
  const int64_t bh = static_cast<int64_t>(batch) * heads_;
  const int64_t kl = k_len > 0 ? k_len : tk;
  scores_mm_.Forward(q, k, probs, {bh, tq, head_dim_, tk, kl * head_dim_});
  if (mask != nullptr)
    mask_add_.Forward(probs, {batch, heads_, tq, tk}, mask,
                      {batch, 1, mask_rows, tk});
  softmax_.Forward(probs, bh * tq, tk);
}

void MultiHeadAttention::ApplyToValues(const float* probs, const float* v,
                                       int batch, int tq, int tk,
                                       float* ctx_heads, int v_len) {
  const int64_t vl = v_len > 0 ? v_len : tk;
  values_mm_.Forward(probs, v, ctx_heads,
                     {static_cast<int64_t>(batch) * heads_, tq, tk, head_dim_,
                      vl * head_dim_});
}

void MultiHeadAttention::MergeHeads(const float* ctx_heads, int batch, int tq,
                                    float* ctx) {
  const int64_t dk = head_dim_, h = hidden_;
  copy_.Forward(ctx_heads, {heads_ * tq * dk, tq * dk, dk, 1}, ctx,
                {tq * h, dk, h, 1}, {batch, heads_, tq, dk});
}

void MultiHeadAttention::ProjectOutput(const float* ctx, int64_t rows,
                                       float* out, const float* residual) {
  out_->Forward(ctx, rows, out, residual);
}

void MultiHeadAttention::AttendUniform(const float* qkv, int batch, int len,
                                       const float* bias, float* ctx,
                                       AttentionScratch* s) {
  const int64_t h = hidden_, b = batch, t = len, nh = heads_, dk = head_dim_;
  s->probs.Resize({b, nh, t, t});
  // Head n of sequence b: Q at qkv[(b·t + i)·3h + n·dk + j], K at +h, V at
  // +2h.
  const HeadView q{{b, nh, t, dk}, {t * 3 * h, dk, 3 * h, 1}};
  const HeadView k_t{{b, nh, dk, t}, {t * 3 * h, dk, 1, 3 * h}};  // Kᵀ
  const HeadView probs{{b, nh, t, t}, {nh * t * t, t * t, t, 1}};
  const HeadView ctx_view{{b, nh, t, dk}, {t * h, dk, h, 1}};  // [rows, h]
  HeadAddend addend;
  // The bias is given per sequence (not broadcast over the batch): oneDNN
  // 2.6's fast matmul kernels take a full-size addend, and a broadcast one
  // may fall back to the reference kernel.
  if (bias != nullptr) addend = {bias, {b, nh, t, t}};
  fused_scores_mm_.Forward(qkv, q, qkv + h, k_t, s->probs.data(), probs,
                           addend);
  softmax_.Forward(s->probs.data(), b * nh * t, t);
  fused_values_mm_.Forward(s->probs.data(), probs, qkv + 2 * h, q, ctx,
                           ctx_view);
}

void MultiHeadAttention::SelfAttention(const float* x,
                                       const PackedLayout& layout, float* out,
                                       AttentionScratch* s,
                                       const std::vector<Tensor>* group_bias) {
  const int64_t rows = layout.rows(), h = hidden_;
  s->qkv.Resize({rows, 3 * h});
  s->ctx.Resize({rows, h});
  ProjectQkv(x, rows, s->qkv.data());
  const std::vector<LengthGroup>& groups = layout.groups();
  for (size_t i = 0; i < groups.size(); ++i) {
    const LengthGroup& g = groups[i];
    AttendUniform(s->qkv.data() + g.first_row * 3 * h, g.count, g.len,
                  group_bias != nullptr ? (*group_bias)[i].data() : nullptr,
                  s->ctx.data() + g.first_row * h, s);
  }
  ProjectOutput(s->ctx.data(), rows, out, opt_.residual ? x : nullptr);
}

}  // namespace attnserve

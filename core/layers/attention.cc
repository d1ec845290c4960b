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
    : hidden_(hidden),
      heads_(heads),
      head_dim_(hidden / heads),
      opt_(opt),
      fused_scores_mm_(
          ctx,
          1.0f / std::sqrt(static_cast<float>(hidden / heads))),  // head_dim
      fused_values_mm_(ctx, 1.0f),
      softmax_(ctx) {
  Linear::Options proj;
  proj.precision = opt.precision;
  qkv_ = std::make_unique<Linear>(ctx, Stack({&w.q_w, &w.k_w, &w.v_w}),
                                  Stack({&w.q_b, &w.k_b, &w.v_b}), proj);
  Linear::Options out_opt = proj;
  out_opt.residual = opt.residual;
  out_ = std::make_unique<Linear>(ctx, std::move(w.o_w), std::move(w.o_b),
                                  out_opt);
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
  qkv_->Forward(x, rows, s->qkv.data());
  const std::vector<LengthGroup>& groups = layout.groups();
  for (size_t i = 0; i < groups.size(); ++i) {
    const LengthGroup& g = groups[i];
    AttendUniform(s->qkv.data() + g.first_row * 3 * h, g.count, g.len,
                  group_bias != nullptr ? (*group_bias)[i].data() : nullptr,
                  s->ctx.data() + g.first_row * h, s);
  }
  out_->Forward(s->ctx.data(), rows, out, opt_.residual ? x : nullptr);
}

}  // namespace attnserve

#ifndef ATTNSERVE_CORE_LAYERS_ATTENTION_H_
#define ATTNSERVE_CORE_LAYERS_ATTENTION_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "core/layers/packed_layout.h"
#include "core/ops/batched_matmul.h"
#include "core/ops/dnnl_context.h"
#include "core/ops/head_matmul.h"
#include "core/ops/linear.h"
#include "core/ops/softmax.h"
#include "core/ops/tensor_ops.h"
#include "core/tensor.h"

namespace attnserve {

// PyTorch-layout weights of one multi-head attention block ([out,in] matrices,
// [out] biases).
struct AttentionWeights {
  Tensor q_w, q_b, k_w, k_b, v_w, v_b, o_w, o_b;
};

// Buffers of one attention call, owned by the caller and reused (grow-only, see
// Tensor).
struct AttentionScratch {
  Tensor qkv, q, k, v, probs, ctx_heads, ctx;
};

// Multi-head scaled dot-product attention ("Attention Is All You Need"),
// batched over a padded batch: scores for all (sequence, head) pairs are one
// batched matmul. The steps are public so decoders can compose them (causal
// mask = a [B,1,Tq,Tk] mask; KV cache = SplitHeads into a larger buffer +
// k/v_batch_stride; cross-attention = kQSeparateKv). Layout conventions:
// activations [rows = batch·len, hidden]; per-head tensors [batch, heads, len,
// head_dim].
class MultiHeadAttention {
 public:
  enum class Fusion {
    kQkv,  // self-attention: one Linear producing [rows, 3·hidden] = q|k|v
    kQSeparateKv  // cross-attention: Linear q [rows, hidden], Linear kv [rows,
                  // 2·hidden] = k|v
  };
  struct Options {
    Fusion fusion = Fusion::kQkv;
    bool residual = true;  // ProjectOutput adds a residual (post-LN blocks)
    DType precision = DType::kFloat32;  // of the projections (Linear); the
                                        // scores / softmax stay f32
  };

  MultiHeadAttention(DnnlContext* ctx, int hidden, int heads,
                     AttentionWeights w, Options opt);

  int hidden() const { return hidden_; }
  int heads() const { return heads_; }
  int head_dim() const { return head_dim_; }

  // 1a (kQkv). qkv[rows, 3·hidden] = x·[Wq;Wk;Wv]ᵀ + [bq;bk;bv].
  void ProjectQkv(const float* x, int64_t rows, float* qkv);
  // 1b (kQSeparateKv). q[rows, hidden]; kv[rows, 2·hidden] from the memory
  // (encoder output).
  void ProjectQ(const float* x, int64_t rows, float* q);
  void ProjectKv(const float* memory, int64_t rows, float* kv);
  // 2. dst[b, h, t, :] = src[(b·len + t)·row_stride + h·head_dim + :]. src
  // points at the first column of the block (e.g. qkv + hidden for K). dst_len
  // >= len rows per head (KV cache capacity); dst_offset is the first row
  // written (cache position).
  void SplitHeads(const float* src, int64_t row_stride, int batch, int len,
                  float* dst, int dst_len = 0, int dst_offset = 0);
  // 3. probs[b,h,tq,tk] = softmax(q·kᵀ/√head_dim + mask). q: [b,h,tq,dk]; k:
  // [b,h,·,dk] with k_len >= tk rows per head (0: tk); mask: additive, [batch,
  // 1, mask_rows, tk] with mask_rows = 1 (padding mask) or tq (e.g. causal +
  // padding); null = no mask.
  void AttentionProbs(const float* q, const float* k, const float* mask,
                      int mask_rows, int batch, int tq, int tk, float* probs,
                      int k_len = 0);
  // 4. ctx_heads[b,h,tq,dk] = probs · v (v: [b,h,·,dk] with v_len >= tk rows
  // per head).
  void ApplyToValues(const float* probs, const float* v, int batch, int tq,
                     int tk, float* ctx_heads, int v_len = 0);
  // 5. ctx[(b·tq + t), h·dk + :] = ctx_heads[b,h,t,:].
  void MergeHeads(const float* ctx_heads, int batch, int tq, float* ctx);
  // 6. out = ctx·Woᵀ + bo (+ residual when Options::residual; must not alias
  // out).
  void ProjectOutput(const float* ctx, int64_t rows, float* out,
                     const float* residual);

  // Whole encoder self-attention over a packed ragged batch (x, out:
  // [layout.rows(), hidden], see PackedLayout): out = x + Attn(x) (residual
  // mode; out must not alias x). One QKV and one output projection over all
  // rows; attention per LengthGroup (a uniform batch: no padding, no mask) as
  // scores (strided heads, scale fused), softmax, values (written straight
  // into [rows, hidden]). group_bias (optional): per LengthGroup of the
  // layout, a [count, heads, len, len] bias added to the scaled scores
  // (MPNet's relative-position bias).
  void SelfAttention(const float* x, const PackedLayout& layout, float* out,
                     AttentionScratch* s,
                     const std::vector<Tensor>* group_bias = nullptr);

 private:
  // Scores, softmax and values of `batch` sequences of `len` rows each whose
  // fused q|k|v rows start at qkv ([rows, 3·hidden]); writes ctx [rows,
  // hidden]. bias: null or additive [batch, heads, len, len].
  void AttendUniform(const float* qkv, int batch, int len, const float* bias,
                     float* ctx, AttentionScratch* s);

  DnnlContext* ctx_;
  int hidden_, heads_, head_dim_;
  Options opt_;
  std::unique_ptr<Linear> qkv_, q_, kv_, out_;
  BatchedMatMul scores_mm_, values_mm_;
  HeadMatMul fused_scores_mm_, fused_values_mm_;
  BroadcastAdd mask_add_;
  Softmax softmax_;
  StridedCopy copy_;
};

}  // namespace attnserve

#endif  // ATTNSERVE_CORE_LAYERS_ATTENTION_H_

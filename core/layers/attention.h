#ifndef ATTNSERVE_CORE_LAYERS_ATTENTION_H_
#define ATTNSERVE_CORE_LAYERS_ATTENTION_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "core/layers/packed_layout.h"
#include "core/ops/dnnl_context.h"
#include "core/ops/head_matmul.h"
#include "core/ops/linear.h"
#include "core/ops/softmax.h"
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
  Tensor qkv, probs, ctx;
};

// Multi-head scaled dot-product self-attention ("Attention Is All You Need")
// of an encoder layer over a packed ragged batch (see PackedLayout): one fused
// Q|K|V projection, then per LengthGroup the scores of every (sequence, head)
// as one strided matmul, softmax, and the values written straight into
// [rows, hidden]; then the output projection. (The decoder's attention, with
// its KV cache and cross-attention, is core/layers/decoder_attention.h.)
class MultiHeadAttention {
 public:
  struct Options {
    bool residual = true;  // the output projection adds x (post-LN blocks)
    DType precision = DType::kFloat32;  // of the projections (Linear); the
                                        // scores / softmax stay f32
  };

  MultiHeadAttention(DnnlContext* ctx, int hidden, int heads,
                     AttentionWeights w, Options opt);

  int hidden() const { return hidden_; }
  int heads() const { return heads_; }
  int head_dim() const { return head_dim_; }

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

  int hidden_, heads_, head_dim_;
  Options opt_;
  std::unique_ptr<Linear> qkv_, out_;
  HeadMatMul fused_scores_mm_, fused_values_mm_;
  Softmax softmax_;
};

}  // namespace attnserve

#endif  // ATTNSERVE_CORE_LAYERS_ATTENTION_H_

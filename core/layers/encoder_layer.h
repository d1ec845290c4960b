#ifndef ATTNSERVE_CORE_LAYERS_ENCODER_LAYER_H_
#define ATTNSERVE_CORE_LAYERS_ENCODER_LAYER_H_

#include <memory>
#include <utility>
#include <vector>

#include "core/layers/attention.h"
#include "core/layers/packed_layout.h"
#include "core/ops/layer_norm.h"
#include "core/ops/linear.h"

namespace attnserve {

// Weights of one post-LayerNorm Transformer encoder layer (BERT, RoBERTa,
// XLM-R, DistilBERT, MPNet, Marian): PyTorch layouts.
struct EncoderLayerWeights {
  AttentionWeights attention;
  Tensor attn_ln_g, attn_ln_b;  // LayerNorm after attention + residual
  Tensor ffn_in_w, ffn_in_b;    // [ffn, hidden], [ffn]
  Tensor ffn_out_w, ffn_out_b;  // [hidden, ffn], [hidden]
  Tensor ffn_ln_g, ffn_ln_b;    // LayerNorm after FFN + residual
};

// Activation buffers shared by all layers of a model (grow-only).
struct EncoderScratch {
  AttentionScratch attention;
  Tensor attn_out, ffn;
};

// Post-LN layer: a = LN(x + SelfAttn(x)); x' = LN(a + W2·act(W1·a)). The
// residual adds are fused into the preceding matmuls (binary post-op).
class PostLnEncoderLayer {
 public:
  // Precision of the layer's matmuls (scores, softmax and LayerNorm stay
  // f32). Models choose per projection: the FFN output projection's input is
  // the activation output, the hardest to quantize.
  struct Precision {
    DType projections = DType::kFloat32;  // Q|K|V, attention output, FFN in
    DType ffn_output = DType::kFloat32;   // FFN out (W2)
    // The encoders' choice for a model dtype: int8 runs the FFN output in
    // bf16 where the CPU has a bf16 matmul, else f32 (see encoder_layer.cc);
    // other dtypes run everything in that dtype.
    static Precision For(DType dtype);
  };

  PostLnEncoderLayer(DnnlContext* ctx, int hidden, int heads, Activation act,
                     float eps, EncoderLayerWeights w, Precision precision);
  PostLnEncoderLayer(DnnlContext* ctx, int hidden, int heads, Activation act,
                     float eps, EncoderLayerWeights w,
                     DType dtype = DType::kFloat32)
      : PostLnEncoderLayer(ctx, hidden, heads, act, eps, std::move(w),
                           Precision::For(dtype)) {}

  // x: packed rows [layout.rows(), hidden] (see PackedLayout), updated in
  // place. group_bias: optional scores bias per LengthGroup (see
  // MultiHeadAttention::SelfAttention).
  void Forward(float* x, const PackedLayout& layout, EncoderScratch* s,
               const std::vector<Tensor>* group_bias = nullptr);

 private:
  MultiHeadAttention attention_;
  LayerNorm attn_ln_;
  Linear ffn_in_, ffn_out_;
  LayerNorm ffn_ln_;
};

}  // namespace attnserve

#endif  // ATTNSERVE_CORE_LAYERS_ENCODER_LAYER_H_

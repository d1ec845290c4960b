#include "core/layers/encoder_layer.h"

#include <utility>

namespace attnserve {

PostLnEncoderLayer::PostLnEncoderLayer(DnnlContext* ctx, int hidden, int heads,
                                       Activation act, float eps,
                                       EncoderLayerWeights w)
    : attention_(ctx, hidden, heads, std::move(w.attention), {}),
      attn_ln_(ctx, std::move(w.attn_ln_g), std::move(w.attn_ln_b), eps),
      ffn_in_(ctx, std::move(w.ffn_in_w), std::move(w.ffn_in_b), {act, false}),
      ffn_out_(ctx, std::move(w.ffn_out_w), std::move(w.ffn_out_b),
               {Activation::kNone, true}),
      ffn_ln_(ctx, std::move(w.ffn_ln_g), std::move(w.ffn_ln_b), eps) {}

void PostLnEncoderLayer::Forward(float* x, int batch, int len,
                                 const float* mask, EncoderScratch* s) {
  const int64_t rows = static_cast<int64_t>(batch) * len;
  s->attn_out.Resize({rows, attention_.hidden()});
  s->ffn.Resize({rows, ffn_in_.out_features()});
  attention_.SelfAttention(x, batch, len, mask, s->attn_out.data(),
                           &s->attention);
  attn_ln_.Forward(s->attn_out.data(), rows, s->attn_out.data());
  ffn_in_.Forward(s->attn_out.data(), rows, s->ffn.data());
  ffn_out_.Forward(s->ffn.data(), rows, x, s->attn_out.data());
  ffn_ln_.Forward(x, rows, x);
}

}  // namespace attnserve

#include "core/ops/layer_norm.h"

#include <utility>

namespace attnserve {

LayerNorm::LayerNorm(DnnlContext* ctx, Tensor gamma, Tensor beta, float eps)
    : ctx_(ctx), gamma_(std::move(gamma)), beta_(std::move(beta)), eps_(eps) {
  n_ = gamma_.numel();
  gamma_mem_ = ctx_->Wrap(PlainDesc({n_}), gamma_.data());
  beta_mem_ = ctx_->Wrap(PlainDesc({n_}), beta_.data());
}

void LayerNorm::Forward(const float* x, int64_t rows, float* y) {
  if (rows == 0) return;
  Entry& e = cache_.GetOrCreate({rows}, [&] {
    Entry n;
    n.data = PlainDesc({rows, n_});
    using F = dnnl::normalization_flags;
    dnnl::layer_normalization_forward::desc desc(
        dnnl::prop_kind::forward_inference, n.data, eps_,
        F::use_scale | F::use_shift);
    n.prim = dnnl::layer_normalization_forward(
        dnnl::layer_normalization_forward::primitive_desc(desc,
                                                          ctx_->engine()));
    return n;
  });
  e.prim.execute(ctx_->stream(), {{DNNL_ARG_SRC, ctx_->Wrap(e.data, x)},
                                  {DNNL_ARG_DST, ctx_->Wrap(e.data, y)},
                                  {DNNL_ARG_SCALE, gamma_mem_},
                                  {DNNL_ARG_SHIFT, beta_mem_}});
  ctx_->stream().wait();
}

}  // namespace attnserve

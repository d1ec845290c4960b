#include "core/ops/layer_norm.h"

#include <utility>

namespace attnserve {

LayerNorm::LayerNorm(DnnlContext* ctx, Tensor gamma, Tensor beta, float eps)
    : ctx_(ctx), gamma_(std::move(gamma)), beta_(std::move(beta)), eps_(eps) {
  n_ = gamma_.numel();
}

void LayerNorm::Forward(const float* x, int64_t rows, float* y) {
  if (rows == 0) return;
  Entry& e = cache_.GetOrCreate({rows}, [&] {
    Entry n;
    const dnnl::memory::desc data = PlainDesc({rows, n_});
    using F = dnnl::normalization_flags;
    dnnl::layer_normalization_forward::desc desc(
        dnnl::prop_kind::forward_inference, data, eps_,
        F::use_scale | F::use_shift);
    n.prim = dnnl::layer_normalization_forward(
        dnnl::layer_normalization_forward::primitive_desc(desc,
                                                          ctx_->engine()));
    n.args.Add(*ctx_, DNNL_ARG_SRC, data);
    n.args.Add(*ctx_, DNNL_ARG_DST, data);
    n.args.Add(*ctx_, DNNL_ARG_SCALE, PlainDesc({n_}), gamma_.data());
    n.args.Add(*ctx_, DNNL_ARG_SHIFT, PlainDesc({n_}), beta_.data());
    return n;
  });
  e.args.Set(DNNL_ARG_SRC, x);
  e.args.Set(DNNL_ARG_DST, y);
  e.args.Execute(e.prim, ctx_);
}

}  // namespace attnserve

#include "core/ops/linear.h"

#include <utility>

namespace attnserve {

Linear::Linear(DnnlContext* ctx, Tensor weight, Tensor bias, Options options)
    : Linear(ctx, std::make_shared<const Tensor>(std::move(weight)),
             bias.empty() ? nullptr
                          : std::make_shared<const Tensor>(std::move(bias)),
             options) {}

Linear::Linear(DnnlContext* ctx, std::shared_ptr<const Tensor> weight,
               std::shared_ptr<const Tensor> bias, Options options)
    : ctx_(ctx),
      weight_(std::move(weight)),
      bias_(std::move(bias)),
      options_(options) {
  out_ = weight_->dim(0);
  in_ = weight_->dim(1);
  // W[out,in] row-major is Wᵀ[in,out] with strides {1, in}: no copy, no
  // transpose.
  weight_md_ = StridedDesc({in_, out_}, {1, in_});
}

int Linear::ResidualArg() const {
  // The residual is the binary post-op, after the activation's eltwise post-op
  // if any.
  const int index = options_.activation == Activation::kNone ? 0 : 1;
  return DNNL_ARG_ATTR_MULTIPLE_POST_OP(index) | DNNL_ARG_SRC_1;
}

Linear::Entry& Linear::Get(int64_t rows) {
  return cache_.GetOrCreate({rows}, [&] {
    Entry e;
    const dnnl::memory::desc src = PlainDesc({rows, in_}),
                             dst = PlainDesc({rows, out_});
    dnnl::post_ops ops;
    AppendActivation(options_.activation, &ops);
    if (options_.residual) ops.append_binary(dnnl::algorithm::binary_add, dst);
    dnnl::primitive_attr attr;
    attr.set_post_ops(ops);
    const dnnl::memory::desc bias_md =
        bias_ ? PlainDesc({1, out_}) : dnnl::memory::desc();
    dnnl::matmul::desc desc(src, weight_md_, bias_md, dst);
    dnnl::matmul::primitive_desc pd(desc, attr, ctx_->engine());
    e.impl = pd.impl_info_str();
    e.prim = dnnl::matmul(pd);
    e.args.Add(*ctx_, DNNL_ARG_SRC, src);
    e.args.Add(*ctx_, DNNL_ARG_DST, dst);
    e.args.Add(*ctx_, DNNL_ARG_WEIGHTS, weight_md_, weight_->data());
    if (bias_) e.args.Add(*ctx_, DNNL_ARG_BIAS, bias_md, bias_->data());
    if (options_.residual) e.args.Add(*ctx_, ResidualArg(), dst);
    return e;
  });
}

void Linear::Forward(const float* x, int64_t rows, float* y,
                     const float* residual) {
  if (rows == 0) return;
  Entry& e = Get(rows);
  e.args.Set(DNNL_ARG_SRC, x);
  e.args.Set(DNNL_ARG_DST, y);
  if (options_.residual) e.args.Set(ResidualArg(), residual);
  e.args.Execute(e.prim, ctx_);
}

std::string Linear::ImplInfo(int64_t rows) { return Get(rows).impl; }

}  // namespace attnserve

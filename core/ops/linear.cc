#include "core/ops/linear.h"

#include <unordered_map>
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
  weight_mem_ = ctx_->Wrap(StridedDesc({in_, out_}, {1, in_}), weight_->data());
  if (bias_) bias_mem_ = ctx_->Wrap(PlainDesc({1, out_}), bias_->data());
}

Linear::Entry& Linear::Get(int64_t rows) {
  return cache_.GetOrCreate({rows}, [&] {
    Entry e;
    e.src = PlainDesc({rows, in_});
    e.dst = PlainDesc({rows, out_});
    dnnl::post_ops ops;
    AppendActivation(options_.activation, &ops);
    if (options_.residual)
      ops.append_binary(dnnl::algorithm::binary_add, e.dst);
    dnnl::primitive_attr attr;
    attr.set_post_ops(ops);
    dnnl::memory::desc bias_md =
        bias_ ? PlainDesc({1, out_}) : dnnl::memory::desc();
    dnnl::matmul::desc desc(e.src, weight_mem_.get_desc(), bias_md, e.dst);
    dnnl::matmul::primitive_desc pd(desc, attr, ctx_->engine());
    e.impl = pd.impl_info_str();
    e.prim = dnnl::matmul(pd);
    return e;
  });
}

void Linear::Forward(const float* x, int64_t rows, float* y,
                     const float* residual) {
  if (rows == 0) return;
  Entry& e = Get(rows);
  std::unordered_map<int, dnnl::memory> args = {
      {DNNL_ARG_SRC, ctx_->Wrap(e.src, x)},
      {DNNL_ARG_WEIGHTS, weight_mem_},
      {DNNL_ARG_DST, ctx_->Wrap(e.dst, y)}};
  if (bias_) args[DNNL_ARG_BIAS] = bias_mem_;
  if (options_.residual) {
    const int index = options_.activation == Activation::kNone ? 0 : 1;
    args[DNNL_ARG_ATTR_MULTIPLE_POST_OP(index) | DNNL_ARG_SRC_1] =
        ctx_->Wrap(e.dst, residual);
  }
  e.prim.execute(ctx_->stream(), args);
  ctx_->stream().wait();
}

std::string Linear::ImplInfo(int64_t rows) { return Get(rows).impl; }

}  // namespace attnserve

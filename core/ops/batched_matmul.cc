#include "core/ops/batched_matmul.h"

namespace attnserve {

BatchedMatMul::Entry& BatchedMatMul::Get(const Dims& d) {
  const int64_t bstride = d.b_batch_stride > 0 ? d.b_batch_stride : d.k * d.n;
  return cache_.GetOrCreate({d.batch, d.m, d.k, d.n, bstride}, [&] {
    Entry e;
    const dnnl::memory::desc a = PlainDesc({d.batch, d.m, d.k});
    const dnnl::memory::desc c = PlainDesc({d.batch, d.m, d.n});
    // transpose_b: b is stored [n,k] per batch, viewed as [k,n] with strides
    // {1,k}.
    const dnnl::memory::desc b =
        transpose_b_ ? StridedDesc({d.batch, d.k, d.n}, {bstride, 1, d.k})
                     : StridedDesc({d.batch, d.k, d.n}, {bstride, d.n, 1});
    dnnl::primitive_attr attr;
    if (scale_ != 1.0f) {
      dnnl::post_ops ops;
      ops.append_eltwise(1.f, dnnl::algorithm::eltwise_linear, scale_, 0.f);
      attr.set_post_ops(ops);
    }
    dnnl::matmul::desc desc(a, b, c);
    dnnl::matmul::primitive_desc pd(desc, attr, ctx_->engine());
    e.impl = pd.impl_info_str();
    e.prim = dnnl::matmul(pd);
    e.args.Add(*ctx_, DNNL_ARG_SRC, a);
    e.args.Add(*ctx_, DNNL_ARG_WEIGHTS, b);
    e.args.Add(*ctx_, DNNL_ARG_DST, c);
    return e;
  });
}

void BatchedMatMul::Forward(const float* a, const float* b, float* c,
                            const Dims& dims) {
  if (dims.batch == 0 || dims.m == 0 || dims.n == 0) return;
  Entry& e = Get(dims);
  e.args.Set(DNNL_ARG_SRC, a);
  e.args.Set(DNNL_ARG_WEIGHTS, b);
  e.args.Set(DNNL_ARG_DST, c);
  e.args.Execute(e.prim, ctx_);
}

std::string BatchedMatMul::ImplInfo(const Dims& dims) { return Get(dims).impl; }

}  // namespace attnserve

#include "core/ops/softmax.h"

namespace attnserve {

void Softmax::Forward(float* data, int64_t rows, int64_t cols) {
  if (rows == 0 || cols == 0) return;
  Entry& e = cache_.GetOrCreate({rows, cols}, [&] {
    Entry n;
    n.data = PlainDesc({rows, cols});
    dnnl::softmax_forward::desc desc(dnnl::prop_kind::forward_inference, n.data,
                                     1);
    n.prim = dnnl::softmax_forward(
        dnnl::softmax_forward::primitive_desc(desc, ctx_->engine()));
    return n;
  });
  dnnl::memory m = ctx_->Wrap(e.data, data);
  e.prim.execute(ctx_->stream(), {{DNNL_ARG_SRC, m}, {DNNL_ARG_DST, m}});
  ctx_->stream().wait();
}

}  // namespace attnserve

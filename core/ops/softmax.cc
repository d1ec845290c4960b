#include "core/ops/softmax.h"

namespace attnserve {

void Softmax::Forward(float* data, int64_t rows, int64_t cols) {
  if (rows == 0 || cols == 0) return;
  Entry& e = cache_.GetOrCreate({rows, cols}, [&] {
    Entry n;
    const dnnl::memory::desc md = PlainDesc({rows, cols});
    dnnl::softmax_forward::desc desc(dnnl::prop_kind::forward_inference, md, 1);
    n.prim = dnnl::softmax_forward(
        dnnl::softmax_forward::primitive_desc(desc, ctx_->engine()));
    n.args.Add(*ctx_, DNNL_ARG_SRC, md);
    n.args.Add(*ctx_, DNNL_ARG_DST, md);
    return n;
  });
  e.args.Set(DNNL_ARG_SRC, data);
  e.args.Set(DNNL_ARG_DST, data);
  e.args.Execute(e.prim, ctx_);
}

}  // namespace attnserve

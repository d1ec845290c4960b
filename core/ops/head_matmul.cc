#include "core/ops/head_matmul.h"

#include <vector>

namespace attnserve {

void HeadMatMul::Forward(const float* a, const HeadView& a_view, const float* w,
                         const HeadView& w_view, float* c,
                         const HeadView& c_view, const HeadAddend& addend) {
  for (auto d : c_view.dims) {
    if (d == 0) return;
  }
  const float* mask = addend.data;
  std::vector<int64_t> key = {mask != nullptr ? 1 : 0};
  if (mask != nullptr)
    key.insert(key.end(), addend.dims.begin(), addend.dims.end());
  for (const HeadView* v : {&a_view, &w_view, &c_view}) {
    key.insert(key.end(), v->dims.begin(), v->dims.end());
    key.insert(key.end(), v->strides.begin(), v->strides.end());
  }
  Entry& e = cache_.GetOrCreate(key, [&] {
    Entry n;
    const auto ad = StridedDesc(a_view.dims, a_view.strides),
               wd = StridedDesc(w_view.dims, w_view.strides),
               cd = StridedDesc(c_view.dims, c_view.strides);
    const auto md = PlainDesc(mask != nullptr ? addend.dims
                                              : dnnl::memory::dims{1, 1, 1, 1});
    dnnl::post_ops ops;
    if (scale_ != 1.f)
      ops.append_eltwise(1.f, dnnl::algorithm::eltwise_linear, scale_, 0.f);
    if (mask != nullptr) ops.append_binary(dnnl::algorithm::binary_add, md);
    dnnl::primitive_attr attr;
    attr.set_post_ops(ops);
    n.prim = dnnl::matmul(dnnl::matmul::primitive_desc(
        dnnl::matmul::desc(ad, wd, cd), attr, ctx_->engine()));
    n.args.Add(*ctx_, DNNL_ARG_SRC, ad);
    n.args.Add(*ctx_, DNNL_ARG_WEIGHTS, wd);
    n.args.Add(*ctx_, DNNL_ARG_DST, cd);
    if (mask != nullptr) {
      const int index = scale_ != 1.f ? 1 : 0;
      n.args.Add(*ctx_, DNNL_ARG_ATTR_MULTIPLE_POST_OP(index) | DNNL_ARG_SRC_1,
                 md);
    }
    return n;
  });
  e.args.Set(DNNL_ARG_SRC, a);
  e.args.Set(DNNL_ARG_WEIGHTS, w);
  e.args.Set(DNNL_ARG_DST, c);
  if (mask != nullptr) {
    const int index = scale_ != 1.f ? 1 : 0;
    e.args.Set(DNNL_ARG_ATTR_MULTIPLE_POST_OP(index) | DNNL_ARG_SRC_1, mask);
  }
  e.args.Execute(e.prim, ctx_);
}

}  // namespace attnserve

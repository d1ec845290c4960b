#include "core/ops/tensor_ops.h"

#include <vector>

namespace attnserve {
namespace {

std::vector<int64_t> Concat(
    std::initializer_list<const dnnl::memory::dims*> parts) {
  std::vector<int64_t> key;
  for (const auto* p : parts) {
    key.push_back(static_cast<int64_t>(p->size()));
    key.insert(key.end(), p->begin(), p->end());
  }
  return key;
}

}  // namespace

void BroadcastAdd::Forward(float* x, const dnnl::memory::dims& x_dims,
                           const float* y, const dnnl::memory::dims& y_dims) {
  for (auto d : x_dims) {
    if (d == 0) return;
  }
  Entry& e = cache_.GetOrCreate(Concat({&x_dims, &y_dims}), [&] {
    Entry n;
    const dnnl::memory::desc xd = PlainDesc(x_dims), yd = PlainDesc(y_dims);
    dnnl::binary::desc desc(dnnl::algorithm::binary_add, xd, yd, xd);
    n.prim = dnnl::binary(dnnl::binary::primitive_desc(desc, ctx_->engine()));
    n.args.Add(*ctx_, DNNL_ARG_SRC_0, xd);
    n.args.Add(*ctx_, DNNL_ARG_SRC_1, yd);
    n.args.Add(*ctx_, DNNL_ARG_DST, xd);
    return n;
  });
  e.args.Set(DNNL_ARG_SRC_0, x);
  e.args.Set(DNNL_ARG_SRC_1, y);
  e.args.Set(DNNL_ARG_DST, x);
  e.args.Execute(e.prim, ctx_);
}

void StridedCopy::Forward(const float* src,
                          const dnnl::memory::dims& src_strides, float* dst,
                          const dnnl::memory::dims& dst_strides,
                          const dnnl::memory::dims& dims) {
  for (auto d : dims) {
    if (d == 0) return;
  }
  Entry& e =
      cache_.GetOrCreate(Concat({&dims, &src_strides, &dst_strides}), [&] {
        Entry n;
        const dnnl::memory::desc sd = StridedDesc(dims, src_strides);
        const dnnl::memory::desc dd = StridedDesc(dims, dst_strides);
        n.prim = dnnl::reorder(dnnl::reorder::primitive_desc(
            ctx_->engine(), sd, ctx_->engine(), dd));
        n.args.Add(*ctx_, DNNL_ARG_FROM, sd);
        n.args.Add(*ctx_, DNNL_ARG_TO, dd);
        return n;
      });
  e.args.Set(DNNL_ARG_FROM, src);
  e.args.Set(DNNL_ARG_TO, dst);
  e.args.Execute(e.prim, ctx_);
}

}  // namespace attnserve

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
  for (auto d : x_dims)
    if (d == 0) return;
  Entry& e = cache_.GetOrCreate(Concat({&x_dims, &y_dims}), [&] {
    Entry n;
    n.x = PlainDesc(x_dims);
    n.y = PlainDesc(y_dims);
    dnnl::binary::desc desc(dnnl::algorithm::binary_add, n.x, n.y, n.x);
    n.prim = dnnl::binary(dnnl::binary::primitive_desc(desc, ctx_->engine()));
    return n;
  });
  dnnl::memory xm = ctx_->Wrap(e.x, x);
  e.prim.execute(ctx_->stream(), {{DNNL_ARG_SRC_0, xm},
                                  {DNNL_ARG_SRC_1, ctx_->Wrap(e.y, y)},
                                  {DNNL_ARG_DST, xm}});
  ctx_->stream().wait();
}

void StridedCopy::Forward(const float* src,
                          const dnnl::memory::dims& src_strides, float* dst,
                          const dnnl::memory::dims& dst_strides,
                          const dnnl::memory::dims& dims) {
  for (auto d : dims)
    if (d == 0) return;
  Entry& e =
      cache_.GetOrCreate(Concat({&dims, &src_strides, &dst_strides}), [&] {
        Entry n;
        n.src = StridedDesc(dims, src_strides);
        n.dst = StridedDesc(dims, dst_strides);
        n.prim = dnnl::reorder(dnnl::reorder::primitive_desc(
            ctx_->engine(), n.src, ctx_->engine(), n.dst));
        return n;
      });
  e.prim.execute(ctx_->stream(), {{DNNL_ARG_FROM, ctx_->Wrap(e.src, src)},
                                  {DNNL_ARG_TO, ctx_->Wrap(e.dst, dst)}});
  ctx_->stream().wait();
}

}  // namespace attnserve

#ifndef ATTNSERVE_CORE_OPS_HEAD_MATMUL_H_
#define ATTNSERVE_CORE_OPS_HEAD_MATMUL_H_

#include <cstdint>

#include "core/ops/dnnl_context.h"
#include "core/ops/primitive_cache.h"

namespace attnserve {

// A [batch, heads, rows, cols] f32 view with arbitrary element strides, e.g.
// the keys of head h inside a fused [batch·len, 3·hidden] QKV buffer.
struct HeadView {
  dnnl::memory::dims dims;     // {batch, heads, rows, cols}
  dnnl::memory::dims strides;  // elements, same order
};

// c[b,h] = scale · a[b,h] · w[b,h] (+ mask[b]) for every (sequence, head) as
// one oneDNN matmul over strided 4-D views: attention reads Q, K, V straight
// out of the QKV projection and writes the context straight into [rows,
// hidden], with the scale and the additive padding mask [batch,1,1,cols] as
// post-ops, so no split/merge copies and no separate mask pass. One primitive
// per (views, mask) shape.
class HeadMatMul {
 public:
  HeadMatMul(DnnlContext* ctx, float scale) : ctx_(ctx), scale_(scale) {}

  // mask: null or [batch, 1, 1, c.cols] additive.
  void Forward(const float* a, const HeadView& a_view, const float* w,
               const HeadView& w_view, float* c, const HeadView& c_view,
               const float* mask);

 private:
  struct Entry {
    dnnl::matmul prim;
    BoundArgs args;
  };
  DnnlContext* ctx_;
  float scale_;
  PrimitiveCache<Entry> cache_;
};

}  // namespace attnserve

#endif  // ATTNSERVE_CORE_OPS_HEAD_MATMUL_H_

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

// A dense f32 tensor added to the product, broadcast over the dims that are 1:
// the padding mask [batch, 1, 1, cols] or a position bias [1, heads, rows,
// cols] (MPNet).
struct HeadAddend {
  const float* data = nullptr;  // null: nothing is added
  dnnl::memory::dims dims;
};

// c[b,h] = scale · a[b,h] · w[b,h] (+ addend) for every (sequence, head) as
// one oneDNN matmul over strided 4-D views: attention reads Q, K, V straight
// out of the QKV projection and writes the context straight into [rows,
// hidden], with the scale and the additive mask or bias as post-ops, so no
// split/merge copies and no separate mask pass. One primitive per (views,
// addend) shape.
class HeadMatMul {
 public:
  HeadMatMul(DnnlContext* ctx, float scale) : ctx_(ctx), scale_(scale) {}

  void Forward(const float* a, const HeadView& a_view, const float* w,
               const HeadView& w_view, float* c, const HeadView& c_view,
               const HeadAddend& addend = {});

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

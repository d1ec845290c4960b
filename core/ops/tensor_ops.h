#ifndef ATTNSERVE_CORE_OPS_TENSOR_OPS_H_
#define ATTNSERVE_CORE_OPS_TENSOR_OPS_H_

#include "core/ops/dnnl_context.h"
#include "core/ops/primitive_cache.h"

namespace attnserve {

// x += broadcast(y) in place (oneDNN binary add). y's dims equal x's or are 1
// where it is broadcast, e.g. an additive attention mask [B,1,1,Tk] (or
// [B,1,Tq,Tk]) onto scores [B,heads,Tq,Tk]. One primitive per (x dims, y dims).
class BroadcastAdd {
 public:
  explicit BroadcastAdd(DnnlContext* ctx) : ctx_(ctx) {}
  void Forward(float* x, const dnnl::memory::dims& x_dims, const float* y,
               const dnnl::memory::dims& y_dims);

 private:
  struct Entry {
    dnnl::binary prim;
    BoundArgs args;
  };
  DnnlContext* ctx_;
  PrimitiveCache<Entry> cache_;
};

// dst = src with arbitrary element strides on both sides (oneDNN reorder): used
// to split / merge attention heads ([B,T,heads,dk] <-> [B,heads,T,dk]) or to
// copy into a KV cache. One primitive per (dims, strides).
class StridedCopy {
 public:
  explicit StridedCopy(DnnlContext* ctx) : ctx_(ctx) {}
  void Forward(const float* src, const dnnl::memory::dims& src_strides,
               float* dst, const dnnl::memory::dims& dst_strides,
               const dnnl::memory::dims& dims);

 private:
  struct Entry {
    dnnl::reorder prim;
    BoundArgs args;
  };
  DnnlContext* ctx_;
  PrimitiveCache<Entry> cache_;
};

}  // namespace attnserve

#endif  // ATTNSERVE_CORE_OPS_TENSOR_OPS_H_

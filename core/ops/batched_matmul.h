#ifndef ATTNSERVE_CORE_OPS_BATCHED_MATMUL_H_
#define ATTNSERVE_CORE_OPS_BATCHED_MATMUL_H_

#include <string>

#include "core/ops/dnnl_context.h"
#include "core/ops/primitive_cache.h"

namespace attnserve {

// c[b] = scale · a[b] · op(b[b]) for b in 0..batch, one oneDNN matmul over the
// whole batch (e.g. batch = sequences × heads in attention). a: [batch,m,k]
// dense; c: [batch,m,n] dense; b: [batch,k,n], or [batch,n,k] when transpose_b
// (q·kᵀ). b_batch_stride (elements between consecutive b matrices) defaults to
// the dense size; a larger stride lets b live in a preallocated buffer with
// spare rows (KV cache of capacity > n or > k rows). One primitive per (batch,
// m, k, n, b_batch_stride); scale and transpose_b are fixed at construction.
class BatchedMatMul {
 public:
  BatchedMatMul(DnnlContext* ctx, bool transpose_b, float scale = 1.0f)
      : ctx_(ctx), transpose_b_(transpose_b), scale_(scale) {}

  struct Dims {
    int64_t batch, m, k, n;
    int64_t b_batch_stride = 0;  // 0: dense (k·n)
  };
  void Forward(const float* a, const float* b, float* c, const Dims& dims);
  std::string ImplInfo(const Dims& dims);

 private:
  struct Entry {
    dnnl::matmul prim;
    BoundArgs args;
    std::string impl;
  };
  Entry& Get(const Dims& dims);

  DnnlContext* ctx_;
  bool transpose_b_;
  float scale_;
  PrimitiveCache<Entry> cache_;
};

}  // namespace attnserve

#endif  // ATTNSERVE_CORE_OPS_BATCHED_MATMUL_H_

#ifndef ATTNSERVE_CORE_OPS_SOFTMAX_H_
#define ATTNSERVE_CORE_OPS_SOFTMAX_H_

#include "core/ops/dnnl_context.h"
#include "core/ops/primitive_cache.h"

namespace attnserve {

// Softmax over the last dimension of a [rows, cols] buffer, in place (oneDNN
// softmax, one primitive per (rows, cols)).
class Softmax {
 public:
  explicit Softmax(DnnlContext* ctx) : ctx_(ctx) {}
  void Forward(float* data, int64_t rows, int64_t cols);

 private:
  struct Entry {
    dnnl::softmax_forward prim;
    BoundArgs args;
  };
  DnnlContext* ctx_;
  PrimitiveCache<Entry> cache_;
};

}  // namespace attnserve

#endif  // ATTNSERVE_CORE_OPS_SOFTMAX_H_

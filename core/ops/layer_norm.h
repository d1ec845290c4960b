#ifndef ATTNSERVE_CORE_OPS_LAYER_NORM_H_
#define ATTNSERVE_CORE_OPS_LAYER_NORM_H_

#include "core/ops/dnnl_context.h"
#include "core/ops/primitive_cache.h"
#include "core/tensor.h"

namespace attnserve {

// y = (x - mean) / sqrt(var + eps) · gamma + beta over the last dimension
// (PyTorch nn.LayerNorm, biased variance), oneDNN layer_normalization, one
// primitive per row count. Fuse a residual add by giving it to the preceding
// Linear (Options::residual).
class LayerNorm {
 public:
  LayerNorm(DnnlContext* ctx, Tensor gamma, Tensor beta, float eps);

  int64_t features() const { return n_; }
  // x, y: [rows, features]; y may alias x (in place).
  void Forward(const float* x, int64_t rows, float* y);

 private:
  struct Entry {
    dnnl::layer_normalization_forward prim;
    BoundArgs args;
  };

  DnnlContext* ctx_;
  Tensor gamma_, beta_;
  float eps_;
  int64_t n_;
  PrimitiveCache<Entry> cache_;
};

}  // namespace attnserve

#endif  // ATTNSERVE_CORE_OPS_LAYER_NORM_H_

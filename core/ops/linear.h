#ifndef ATTNSERVE_CORE_OPS_LINEAR_H_
#define ATTNSERVE_CORE_OPS_LINEAR_H_

#include <memory>
#include <string>

#include "core/ops/activation.h"
#include "core/ops/dnnl_context.h"
#include "core/ops/primitive_cache.h"
#include "core/tensor.h"

namespace attnserve {

// y[M,out] = act(x[M,in] · Wᵀ + b) (+ residual[M,out]) with a PyTorch nn.Linear
// weight W[out,in], as one oneDNN matmul with eltwise / binary-add post-ops.
// One primitive per row count M, created on first use. The weight may be shared
// (e.g. tied embeddings / LM head). Not thread-safe (see DnnlContext).
class Linear {
 public:
  struct Options {
    Activation activation = Activation::kNone;
    bool residual = false;  // Forward() then requires `residual` (added after
                            // the activation)
  };

  // bias may be null (no bias). weight: [out,in]; bias: [out].
  Linear(DnnlContext* ctx, std::shared_ptr<const Tensor> weight,
         std::shared_ptr<const Tensor> bias, Options options);
  Linear(DnnlContext* ctx, Tensor weight, Tensor bias, Options options);

  int64_t in_features() const { return in_; }
  int64_t out_features() const { return out_; }
  const Tensor& weight() const { return *weight_; }

  // x: [rows,in], y: [rows,out], residual: [rows,out]. Neither x nor residual
  // may alias y (the matmul writes y before the residual post-op reads it).
  void Forward(const float* x, int64_t rows, float* y,
               const float* residual = nullptr);
  // The oneDNN implementation chosen for `rows` (creates the primitive if
  // needed).
  std::string ImplInfo(int64_t rows);
  // Number of row counts with a primitive (tests: steady state creates none).
  size_t cached_shapes() const { return cache_.size(); }

 private:
  struct Entry {
    dnnl::matmul prim;
    BoundArgs args;
    std::string impl;
  };
  Entry& Get(int64_t rows);

  DnnlContext* ctx_;
  std::shared_ptr<const Tensor> weight_, bias_;
  Options options_;
  int64_t in_ = 0, out_ = 0;
  dnnl::memory::desc weight_md_;
  int ResidualArg() const;
  PrimitiveCache<Entry> cache_;
};

}  // namespace attnserve

#endif  // ATTNSERVE_CORE_OPS_LINEAR_H_

#ifndef ATTNSERVE_CORE_OPS_LINEAR_H_
#define ATTNSERVE_CORE_OPS_LINEAR_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "core/ops/activation.h"
#include "core/ops/dnnl_context.h"
#include "core/ops/packed_weight.h"
#include "core/ops/primitive_cache.h"
#include "core/ops/quantize.h"
#include "core/tensor.h"

namespace attnserve {

// y[M,out] = act(x[M,in] · Wᵀ + b) (+ residual[M,out]) with a PyTorch nn.Linear
// weight W[out,in], as one oneDNN matmul with eltwise / binary-add post-ops.
// x, y and residual are f32 in every precision:
//   kFloat32: f32 matmul on W as stored (the weight may be shared, e.g. tied
//     embeddings / LM head).
//   kInt8: W quantized once to s8 with one scale per output channel; each call
//     quantizes x to u8 with one (scale, zero point) per row (token: dynamic,
//     per-token — a per-tensor scale loses too much on BERT's outlier
//     activations), the u8 x s8 matmul yields the integer products, and one
//     epilogue pass applies the scales, zero-point correction, bias and
//     residual (oneDNN 2.6 has no per-row scale on optimised int8 matmuls),
//     then the activation runs in place.
//   kBFloat16: W converted once to bf16; each call converts x to bf16 (a
//     oneDNN reorder); f32 accumulation and output. Needs
//     BFloat16MatmulSupported() (checked by the models at load).
// In every precision the weight is re-laid once, at construction, in the
// layout the matmul kernels want (PackedWeight); the f32 weight given is not
// kept. One primitive per row count M, created on first use. Not thread-safe
// (see DnnlContext).
class Linear {
 public:
  struct Options {
    Activation activation = Activation::kNone;
    bool residual = false;  // Forward() then requires `residual` (added after
                            // the activation)
    DType precision = DType::kFloat32;
  };

  // bias may be null (no bias). weight: [out,in]; bias: [out].
  Linear(DnnlContext* ctx, std::shared_ptr<const Tensor> weight,
         std::shared_ptr<const Tensor> bias, Options options);
  Linear(DnnlContext* ctx, Tensor weight, Tensor bias, Options options);

  int64_t in_features() const { return in_; }
  int64_t out_features() const { return out_; }
  DType precision() const { return options_.precision; }
  // Bytes of parameters one Forward reads: the weight in its stored type
  // (int8: plus the per-channel scales and corrections) and the bias.
  int64_t parameter_bytes() const;

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
    dnnl::eltwise_forward activation;  // int8 with an activation only
    BoundArgs activation_args;
    dnnl::reorder to_bf16;  // bf16 only: x -> source_bf16_
    BoundArgs to_bf16_args;
  };
  Entry& Get(int64_t rows);
  dnnl::matmul::primitive_desc PrimitiveDesc(int64_t rows) const;
  dnnl::primitive_attr Attributes(const dnnl::memory::desc& dst) const;
  int ResidualArg() const;
  void ForwardInt8(Entry& e, const float* x, int64_t rows, float* y,
                   const float* residual);
  void PrepareWeights(const Tensor& weight);
  // Converts x for the bf16 matmul; returns the matmul's src pointer.
  const void* PrepareSource(Entry& e, const float* x, int64_t rows);

  DnnlContext* ctx_;
  std::shared_ptr<const Tensor> bias_;
  Options options_;
  int64_t in_ = 0, out_ = 0;
  std::unique_ptr<PackedWeight> weight_;
  // kInt8: per-channel scales and zero-point corrections (see
  // DequantizeRows), the per-call quantized input, and the s8 weight [out,in]
  // row-major where Int8RowsTimesWeights serves few rows (else empty).
  std::vector<int8_t> weight_s8_;
  std::vector<float> weight_scales_, weight_corrections_, row_scales_;
  std::vector<int32_t> row_zero_points_;
  std::vector<uint8_t> source_u8_;
  Int8Levels levels_ = ChooseInt8Levels();
  // kBFloat16: the converted source.
  std::vector<uint16_t> source_bf16_;
  PrimitiveCache<Entry> cache_;
};

}  // namespace attnserve

#endif  // ATTNSERVE_CORE_OPS_LINEAR_H_

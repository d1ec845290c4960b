#include "core/ops/linear.h"

#include <utility>

namespace attnserve {
namespace {

using dt = dnnl::memory::data_type;

dt SourceType(DType p) {
  switch (p) {
    case DType::kInt8:
      return dt::u8;
    case DType::kBFloat16:
      return dt::bf16;
    case DType::kFloat32:
      break;
  }
  return dt::f32;
}

dt WeightType(DType p) { return p == DType::kInt8 ? dt::s8 : SourceType(p); }

}  // namespace

Linear::Linear(DnnlContext* ctx, Tensor weight, Tensor bias, Options options)
    : Linear(ctx, std::make_shared<const Tensor>(std::move(weight)),
             bias.empty() ? nullptr
                          : std::make_shared<const Tensor>(std::move(bias)),
             options) {}

Linear::Linear(DnnlContext* ctx, std::shared_ptr<const Tensor> weight,
               std::shared_ptr<const Tensor> bias, Options options)
    : ctx_(ctx), bias_(std::move(bias)), options_(options) {
  out_ = weight->dim(0);
  in_ = weight->dim(1);
  PrepareWeights(*weight);
}

// Converts the weight once to its precision and packs it; the f32 weight is
// not kept (the caller's reference decides whether it is freed).
void Linear::PrepareWeights(const Tensor& weight) {
  const int64_t n = in_ * out_;
  const void* plain = weight.data();
  std::vector<uint16_t> bf16;
  if (options_.precision == DType::kInt8) {
    weight_s8_.resize(n);
    weight_scales_.resize(out_);
    weight_corrections_.resize(out_);
    QuantizeRowsS8(weight.data(), out_, in_, levels_.weight_max,
                   weight_s8_.data(), weight_scales_.data());
    for (int64_t c = 0; c < out_; ++c) {
      int64_t sum = 0;
      for (int64_t k = 0; k < in_; ++k) sum += weight_s8_[c * in_ + k];
      weight_corrections_[c] = weight_scales_[c] * static_cast<float>(sum);
    }
    plain = weight_s8_.data();
  } else if (options_.precision == DType::kBFloat16) {
    bf16.resize(n);
    ConvertToBf16(weight.data(), n, bf16.data());
    plain = bf16.data();
  }
  // W[out,in] row-major is Wᵀ[in,out] with strides {1, in}.
  const dnnl::memory::desc plain_md({in_, out_}, WeightType(options_.precision),
                                    {1, in_});
  // The layout does not depend on the row count on the CPUs measured; a
  // primitive that wants another gets its own copy (PackedWeight::For).
  constexpr int64_t kProbeRows = 128;
  weight_ = std::make_unique<PackedWeight>(
      ctx_, plain_md, plain, PrimitiveDesc(kProbeRows).weights_desc());
  if (!Int8RowsKernelApplies(levels_)) {
    weight_s8_.clear();
    weight_s8_.shrink_to_fit();
  }
}

// f32 / bf16: bias in the matmul, then [activation] [residual] post-ops.
// int8: none (the matmul yields the raw integer products; see Forward).
dnnl::primitive_attr Linear::Attributes(const dnnl::memory::desc& dst) const {
  dnnl::post_ops ops;
  dnnl::primitive_attr attr;
  if (options_.precision == DType::kInt8) return attr;
  AppendActivation(options_.activation, &ops);
  if (options_.residual) ops.append_binary(dnnl::algorithm::binary_add, dst);
  attr.set_post_ops(ops);
  return attr;
}

int Linear::ResidualArg() const {
  const int index = options_.activation != Activation::kNone ? 1 : 0;
  return DNNL_ARG_ATTR_MULTIPLE_POST_OP(index) | DNNL_ARG_SRC_1;
}

dnnl::matmul::primitive_desc Linear::PrimitiveDesc(int64_t rows) const {
  const DType p = options_.precision;
  const dnnl::memory::desc src({rows, in_}, SourceType(p), {in_, 1}),
      weights({in_, out_}, WeightType(p), dnnl::memory::format_tag::any),
      dst = PlainDesc({rows, out_});
  const bool native_bias = bias_ && p != DType::kInt8;
  const dnnl::memory::desc bias_md =
      native_bias ? PlainDesc({1, out_}) : dnnl::memory::desc();
  return dnnl::matmul::primitive_desc(
      dnnl::matmul::desc(src, weights, bias_md, dst), Attributes(dst),
      ctx_->engine());
}

Linear::Entry& Linear::Get(int64_t rows) {
  return cache_.GetOrCreate({rows}, [&] {
    Entry e;
    const DType p = options_.precision;
    const bool int8 = p == DType::kInt8;
    const dnnl::matmul::primitive_desc pd = PrimitiveDesc(rows);
    e.impl = pd.impl_info_str();
    e.prim = dnnl::matmul(pd);
    e.args.Add(*ctx_, DNNL_ARG_SRC, pd.src_desc());
    e.args.Add(*ctx_, DNNL_ARG_DST, pd.dst_desc());
    e.args.Add(*ctx_, DNNL_ARG_WEIGHTS, pd.weights_desc(),
               weight_->For(pd.weights_desc()));
    const dnnl::memory::desc dst = pd.dst_desc();
    if (bias_ && !int8) {
      e.args.Add(*ctx_, DNNL_ARG_BIAS, pd.bias_desc(), bias_->data());
    }
    if (options_.residual && !int8) e.args.Add(*ctx_, ResidualArg(), dst);
    if (p == DType::kBFloat16) {
      const dnnl::memory::desc x = PlainDesc({rows, in_});
      e.to_bf16 = dnnl::reorder(dnnl::reorder::primitive_desc(
          ctx_->engine(), x, ctx_->engine(), pd.src_desc()));
      e.to_bf16_args.Add(*ctx_, DNNL_ARG_FROM, x);
      e.to_bf16_args.Add(*ctx_, DNNL_ARG_TO, pd.src_desc());
    }
    if (int8 && options_.activation != Activation::kNone) {
      // The activation runs after the dequantization epilogue, in place.
      dnnl::post_ops ops;
      AppendActivation(options_.activation, &ops);
      float scale, alpha, beta;
      dnnl::algorithm alg;
      ops.get_params_eltwise(0, scale, alg, alpha, beta);
      e.activation =
          dnnl::eltwise_forward(dnnl::eltwise_forward::primitive_desc(
              dnnl::eltwise_forward::desc(dnnl::prop_kind::forward_inference,
                                          alg, dst, alpha, beta),
              ctx_->engine()));
      e.activation_args.Add(*ctx_, DNNL_ARG_SRC, dst);
      e.activation_args.Add(*ctx_, DNNL_ARG_DST, dst);
    }
    return e;
  });
}

// int8: x is quantized per row (token): its own scale and zero point; the
// matmul computes the integer products, and DequantizeRows applies both
// scales, the zero-point correction, bias and residual in one pass.
void Linear::ForwardInt8(Entry& e, const float* x, int64_t rows, float* y,
                         const float* residual) {
  const int64_t n = rows * in_;
  if (static_cast<int64_t>(source_u8_.size()) < n) source_u8_.resize(n);
  if (static_cast<int64_t>(row_scales_.size()) < rows) {
    row_scales_.resize(rows);
    row_zero_points_.resize(rows);
  }
  QuantizeRowsU8(x, rows, in_, levels_.activation_max, source_u8_.data(),
                 row_scales_.data(), row_zero_points_.data());
  if (weight_s8_.empty() ||
      !Int8RowsTimesWeights(source_u8_.data(), rows, weight_s8_.data(), out_,
                            in_, levels_, y)) {
    e.args.Set(DNNL_ARG_SRC, source_u8_.data());
    e.args.Set(DNNL_ARG_DST, y);
    e.args.Execute(e.prim, ctx_);
  }
  const bool act = options_.activation != Activation::kNone;
  DequantizeRows(y, rows, out_, row_scales_.data(), row_zero_points_.data(),
                 weight_scales_.data(), weight_corrections_.data(),
                 bias_ ? bias_->data() : nullptr, act ? nullptr : residual);
  if (!act) return;
  e.activation_args.Set(DNNL_ARG_SRC, y);
  e.activation_args.Set(DNNL_ARG_DST, y);
  e.activation_args.Execute(e.activation, ctx_);
  if (residual != nullptr) {
    for (int64_t i = 0; i < rows * out_; ++i) y[i] += residual[i];
  }
}

const void* Linear::PrepareSource(Entry& e, const float* x, int64_t rows) {
  if (options_.precision != DType::kBFloat16) return x;
  const int64_t n = rows * in_;
  if (static_cast<int64_t>(source_bf16_.size()) < n) source_bf16_.resize(n);
  e.to_bf16_args.Set(DNNL_ARG_FROM, x);
  e.to_bf16_args.Set(DNNL_ARG_TO, source_bf16_.data());
  e.to_bf16_args.Execute(e.to_bf16, ctx_);
  return source_bf16_.data();
}

void Linear::Forward(const float* x, int64_t rows, float* y,
                     const float* residual) {
  if (rows == 0) return;
  Entry& e = Get(rows);
  if (options_.precision == DType::kInt8) {
    ForwardInt8(e, x, rows, y, options_.residual ? residual : nullptr);
    return;
  }
  e.args.Set(DNNL_ARG_SRC, PrepareSource(e, x, rows));
  e.args.Set(DNNL_ARG_DST, y);
  if (options_.residual) e.args.Set(ResidualArg(), residual);
  e.args.Execute(e.prim, ctx_);
}

int64_t Linear::parameter_bytes() const {
  const int64_t n = in_ * out_;
  int64_t bytes = bias_ ? out_ * static_cast<int64_t>(sizeof(float)) : 0;
  switch (options_.precision) {
    case DType::kInt8:
      return bytes + n + 2 * out_ * static_cast<int64_t>(sizeof(float));
    case DType::kBFloat16:
      return bytes + 2 * n;
    case DType::kFloat32:
      break;
  }
  return bytes + n * static_cast<int64_t>(sizeof(float));
}

std::string Linear::ImplInfo(int64_t rows) { return Get(rows).impl; }

}  // namespace attnserve

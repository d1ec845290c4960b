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
    : ctx_(ctx),
      weight_(std::move(weight)),
      bias_(std::move(bias)),
      options_(options) {
  out_ = weight_->dim(0);
  in_ = weight_->dim(1);
  // W[out,in] row-major is Wᵀ[in,out] with strides {1, in}: no copy, no
  // transpose.
  weight_md_ =
      dnnl::memory::desc({in_, out_}, WeightType(options.precision), {1, in_});
  PrepareWeights();
}

// Converts the weight once; the f32 copy is released (the model owned it).
void Linear::PrepareWeights() {
  const int64_t n = in_ * out_;
  if (options_.precision == DType::kInt8) {
    weight_s8_.resize(n);
    weight_scales_.resize(out_);
    weight_corrections_.resize(out_);
    QuantizeRowsS8(weight_->data(), out_, in_, levels_.weight_max,
                   weight_s8_.data(), weight_scales_.data());
    for (int64_t c = 0; c < out_; ++c) {
      int64_t sum = 0;
      for (int64_t k = 0; k < in_; ++k) sum += weight_s8_[c * in_ + k];
      weight_corrections_[c] = weight_scales_[c] * static_cast<float>(sum);
    }
    weight_.reset();
  } else if (options_.precision == DType::kBFloat16) {
    weight_bf16_.resize(n);
    ConvertToBf16(weight_->data(), n, weight_bf16_.data());
    weight_.reset();
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

Linear::Entry& Linear::Get(int64_t rows) {
  return cache_.GetOrCreate({rows}, [&] {
    Entry e;
    const DType p = options_.precision;
    const bool int8 = p == DType::kInt8;
    const dnnl::memory::desc src({rows, in_}, SourceType(p), {in_, 1}),
        dst = PlainDesc({rows, out_});
    const bool native_bias = bias_ && !int8;
    const dnnl::memory::desc bias_md =
        native_bias ? PlainDesc({1, out_}) : dnnl::memory::desc();
    dnnl::matmul::desc desc(src, weight_md_, bias_md, dst);
    dnnl::matmul::primitive_desc pd(desc, Attributes(dst), ctx_->engine());
    e.impl = pd.impl_info_str();
    e.prim = dnnl::matmul(pd);
    e.args.Add(*ctx_, DNNL_ARG_SRC, src);
    e.args.Add(*ctx_, DNNL_ARG_DST, dst);
    const void* w = weight_ ? weight_->data() : nullptr;
    if (p == DType::kInt8) w = weight_s8_.data();
    if (p == DType::kBFloat16) w = weight_bf16_.data();
    e.args.Add(*ctx_, DNNL_ARG_WEIGHTS, weight_md_, w);
    if (native_bias) e.args.Add(*ctx_, DNNL_ARG_BIAS, bias_md, bias_->data());
    if (options_.residual && !int8) e.args.Add(*ctx_, ResidualArg(), dst);
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
  if (!Int8RowsTimesWeights(source_u8_.data(), rows, weight_s8_.data(), out_,
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

const void* Linear::PrepareSource(const float* x, int64_t rows) {
  if (options_.precision == DType::kBFloat16) {
    const int64_t n = rows * in_;
    if (static_cast<int64_t>(source_bf16_.size()) < n) source_bf16_.resize(n);
    ConvertToBf16(x, n, source_bf16_.data());
    return source_bf16_.data();
  }
  return x;
}

void Linear::Forward(const float* x, int64_t rows, float* y,
                     const float* residual) {
  if (rows == 0) return;
  Entry& e = Get(rows);
  if (options_.precision == DType::kInt8) {
    ForwardInt8(e, x, rows, y, options_.residual ? residual : nullptr);
    return;
  }
  e.args.Set(DNNL_ARG_SRC, PrepareSource(x, rows));
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

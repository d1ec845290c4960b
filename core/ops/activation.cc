#include "core/ops/activation.h"

#include <cmath>

#include "absl/strings/str_cat.h"

namespace attnserve {

absl::StatusOr<Activation> ParseHfActivation(const std::string& name) {
  if (name == "gelu") return Activation::kGeluErf;
  if (name == "gelu_new" || name == "gelu_pytorch_tanh")
    return Activation::kGeluTanh;
  if (name == "swish" || name == "silu") return Activation::kSwish;
  if (name == "relu") return Activation::kRelu;
  if (name == "tanh") return Activation::kTanh;
  return absl::InvalidArgumentError(
      absl::StrCat("unsupported activation \"", name,
                   "\" (supported: gelu, gelu_new, gelu_pytorch_tanh, swish, "
                   "silu, relu, tanh)"));
}

void AppendActivation(Activation act, dnnl::post_ops* ops) {
  using A = dnnl::algorithm;
  switch (act) {
    case Activation::kNone:
      return;
    case Activation::kGeluErf:
      ops->append_eltwise(1.f, A::eltwise_gelu_erf, 0.f, 0.f);
      return;
    case Activation::kGeluTanh:
      ops->append_eltwise(1.f, A::eltwise_gelu_tanh, 0.f, 0.f);
      return;
    case Activation::kSwish:
      ops->append_eltwise(1.f, A::eltwise_swish, 1.f, 0.f);
      return;
    case Activation::kRelu:
      ops->append_eltwise(1.f, A::eltwise_relu, 0.f, 0.f);
      return;
    case Activation::kTanh:
      ops->append_eltwise(1.f, A::eltwise_tanh, 0.f, 0.f);
      return;
  }
}

float ApplyActivation(Activation act, float x) {
  const double d = x;
  switch (act) {
    case Activation::kNone:
      return x;
    case Activation::kGeluErf:
      return static_cast<float>(0.5 * d * (1.0 + std::erf(d / std::sqrt(2.0))));
    case Activation::kGeluTanh:
      return static_cast<float>(0.5 * d *
                                (1.0 + std::tanh(std::sqrt(2.0 / M_PI) *
                                                 (d + 0.044715 * d * d * d))));
    case Activation::kSwish:
      return static_cast<float>(d / (1.0 + std::exp(-d)));
    case Activation::kRelu:
      return x > 0 ? x : 0.f;
    case Activation::kTanh:
      return std::tanh(x);
  }
  return x;
}

}  // namespace attnserve

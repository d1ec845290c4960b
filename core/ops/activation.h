#ifndef ATTNSERVE_CORE_OPS_ACTIVATION_H_
#define ATTNSERVE_CORE_OPS_ACTIVATION_H_

#include <string>

#include "absl/status/statusor.h"
#include "oneapi/dnnl/dnnl.hpp"

namespace attnserve {

enum class Activation {
  kNone,
  kGeluErf,   // HF "gelu": 0.5·x·(1 + erf(x/√2))
  kGeluTanh,  // HF "gelu_new" / "gelu_pytorch_tanh"
  kSwish,     // HF "swish" / "silu": x·sigmoid(x)
  kRelu,
  kTanh,
};

// Maps a Hugging Face activation name (hidden_act / activation_function) to
// Activation; InvalidArgument listing the supported names otherwise.
absl::StatusOr<Activation> ParseHfActivation(const std::string& name);

// Appends `act` as an eltwise post-op (no-op for kNone).
void AppendActivation(Activation act, dnnl::post_ops* ops);

// Scalar reference of the activation (tests and non-oneDNN paths).
float ApplyActivation(Activation act, float x);

}  // namespace attnserve

#endif  // ATTNSERVE_CORE_OPS_ACTIVATION_H_

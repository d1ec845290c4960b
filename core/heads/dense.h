#ifndef ATTNSERVE_CORE_HEADS_DENSE_H_
#define ATTNSERVE_CORE_HEADS_DENSE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace attnserve {

// sentence-transformers' Dense module (a 2_Dense/ folder: LaBSE, stella, ...):
// y = activation(W x + b) on the pooled vector. W is [out_features,
// in_features] as nn.Linear stores it.
class DenseModule {
 public:
  enum class Activation { kIdentity, kTanh, kReLU, kGelu, kSigmoid };

  // Reads <dir>/config.json (in_features, out_features, bias,
  // activation_function as sentence-transformers writes it:
  // "torch.nn.modules.activation.Tanh", ...) and the weights "linear.weight" /
  // "linear.bias" of <dir>/model.safetensors. An activation outside
  // Identity/Tanh/ReLU/GELU/Sigmoid, missing or mis-shaped weights: an error
  // naming the file.
  static absl::StatusOr<DenseModule> Load(const std::string& dir);
  // From memory (tests): weight [out * in] row-major, bias [out] or empty.
  DenseModule(int in_features, int out_features, Activation activation,
              std::vector<float> weight, std::vector<float> bias);

  int in_features() const { return in_; }
  int out_features() const { return out_; }
  int64_t parameter_count() const {
    return static_cast<int64_t>(weight_.size() + bias_.size());
  }

  // out = activation(W x + b); x has in_features() values.
  void Apply(absl::Span<const float> x, std::vector<float>* out) const;

 private:
  int in_ = 0;
  int out_ = 0;
  Activation activation_ = Activation::kIdentity;
  std::vector<float> weight_;  // [out, in]
  std::vector<float> bias_;    // [out] or empty (bias: false)
};

}  // namespace attnserve

#endif  // ATTNSERVE_CORE_HEADS_DENSE_H_

#include "core/heads/dense.h"

#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/models/hf_config.h"
#include "core/models/weight_reader.h"
#include "core/status_macros.h"

namespace attnserve {
namespace {

// The activation classes sentence-transformers' Dense is saved with
// (util.fullname of the module); each is the default-constructed torch module
// (GELU: the exact erf form).
constexpr std::pair<const char*, DenseModule::Activation> kActivations[] = {
    {"torch.nn.modules.linear.Identity", DenseModule::Activation::kIdentity},
    {"torch.nn.modules.activation.Tanh", DenseModule::Activation::kTanh},
    {"torch.nn.modules.activation.ReLU", DenseModule::Activation::kReLU},
    {"torch.nn.modules.activation.GELU", DenseModule::Activation::kGelu},
    {"torch.nn.modules.activation.Sigmoid", DenseModule::Activation::kSigmoid},
};

absl::StatusOr<DenseModule::Activation> ParseActivation(
    const std::string& name, const std::string& path) {
  for (const auto& [known, activation] : kActivations) {
    if (name == known) return activation;
  }
  std::vector<std::string> names;
  for (const auto& [known, unused] : kActivations) names.push_back(known);
  return absl::UnimplementedError(absl::StrCat(
      path, ": activation_function \"", name,
      "\" is not supported (supported: ", absl::StrJoin(names, ", "), ")"));
}

float Activate(DenseModule::Activation activation, double x) {
  switch (activation) {
    case DenseModule::Activation::kIdentity:
      return static_cast<float>(x);
    case DenseModule::Activation::kTanh:
      return static_cast<float>(std::tanh(x));
    case DenseModule::Activation::kReLU:
      return static_cast<float>(x > 0 ? x : 0);
    case DenseModule::Activation::kGelu:
      return static_cast<float>(0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0))));
    case DenseModule::Activation::kSigmoid:
      return static_cast<float>(1.0 / (1.0 + std::exp(-x)));
  }
  return static_cast<float>(x);
}

absl::StatusOr<int> ReadFeatures(const JsonFile& config, const char* key) {
  ASSIGN_OR_RETURN(int64_t n, config.GetInt(key));
  if (n < 1 || n > (1 << 20)) {
    return absl::InvalidArgumentError(absl::StrCat(
        config.path(), ": ", key, " is ", n, "; expected 1..", 1 << 20));
  }
  return static_cast<int>(n);
}

}  // namespace

DenseModule::DenseModule(int in_features, int out_features,
                         Activation activation, std::vector<float> weight,
                         std::vector<float> bias)
    : in_(in_features),
      out_(out_features),
      activation_(activation),
      weight_(std::move(weight)),
      bias_(std::move(bias)) {}

absl::StatusOr<DenseModule> DenseModule::Load(const std::string& dir) {
  ASSIGN_OR_RETURN(JsonFile config,
                   JsonFile::Read(JoinPath(dir, "config.json")));
  ASSIGN_OR_RETURN(int in, ReadFeatures(config, "in_features"));
  ASSIGN_OR_RETURN(int out, ReadFeatures(config, "out_features"));
  ASSIGN_OR_RETURN(bool has_bias, config.GetBool("bias", true));
  ASSIGN_OR_RETURN(std::string activation_name,
                   config.GetString("activation_function",
                                    "torch.nn.modules.activation.Tanh"));
  ASSIGN_OR_RETURN(Activation activation,
                   ParseActivation(activation_name, config.path()));
  // Its own folder's weights, in any format FolderWeightSource reads:
  // sentence-transformers writes pytorch_model.bin under
  // safe_serialization=False.
  ASSIGN_OR_RETURN(WeightSource source, FolderWeightSource(dir));
  WeightReader reader(&source);
  ASSIGN_OR_RETURN(Tensor w, reader.Read("linear.weight", {out, in}));
  std::vector<float> bias;
  if (has_bias) {
    ASSIGN_OR_RETURN(Tensor b, reader.Read("linear.bias", {out}));
    bias.assign(b.data(), b.data() + b.numel());
  }
  return DenseModule(in, out, activation,
                     std::vector<float>(w.data(), w.data() + w.numel()),
                     std::move(bias));
}

// A matrix-vector product per text: at most a few million multiply-adds (LaBSE:
// 768x768), small next to the encoder forward that produced x. Accumulated in
// double, so the only rounding against PyTorch's f32 GEMM is theirs.
void DenseModule::Apply(absl::Span<const float> x,
                        std::vector<float>* out) const {
  out->resize(out_);
  for (int o = 0; o < out_; ++o) {
    const float* row = weight_.data() + static_cast<size_t>(o) * in_;
    double sum = bias_.empty() ? 0.0 : bias_[o];
    for (int i = 0; i < in_; ++i) sum += static_cast<double>(row[i]) * x[i];
    (*out)[o] = Activate(activation_, sum);
  }
}

}  // namespace attnserve

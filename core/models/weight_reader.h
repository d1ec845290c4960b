#ifndef ATTNSERVE_CORE_MODELS_WEIGHT_READER_H_
#define ATTNSERVE_CORE_MODELS_WEIGHT_READER_H_

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "core/tensor.h"

namespace attnserve {

// Where a model's weights come from: a checkpoint (safetensors) or memory
// (tests, benches). Names are Hugging Face state-dict keys.
struct WeightSource {
  std::function<bool(const std::string& name)> has;
  // Reads a tensor and checks its shape (error names the tensor, expected and
  // found shape).
  std::function<absl::StatusOr<Tensor>(const std::string& name,
                                       const std::vector<int64_t>& shape)>
      read;
};

// A WeightSource over a safetensors file (kept open by the returned source).
absl::StatusOr<WeightSource> SafetensorsWeightSource(const std::string& path);
// A WeightSource over a sharded safetensors checkpoint: `index_path` is a
// model.safetensors.index.json whose "weight_map" maps each tensor name to a
// shard file in the same folder. Every shard is opened and validated here, and
// each mapped tensor must be in its shard; errors name the index file and the
// shard or tensor.
absl::StatusOr<WeightSource> ShardedSafetensorsWeightSource(
    const std::string& index_path);

// A WeightSource over a PyTorch checkpoint (pytorch_model.bin, torch.save's
// zip format), read without running pickle code (core/models/torch_pickle.h).
absl::StatusOr<WeightSource> TorchCheckpointWeightSource(
    const std::string& path);

// The weights of a Hugging Face model folder, from the first of these files
// that exists (transformers' order): model.safetensors,
// model.safetensors.index.json (sharded), pytorch_model.bin,
// pytorch_model.bin.index.json (sharded). None: NotFound naming the folder
// and the four files.
absl::StatusOr<WeightSource> FolderWeightSource(const std::string& folder);

// Reads tensors of a WeightSource by scope: Scope("encoder.layer.0") then
// Read("attention.self.query.weight") reads
// "<prefix>encoder.layer.0.attention.self.query.weight". Every model reads its
// checkpoint through this class, whatever its naming scheme.
class WeightReader {
 public:
  // `source` must outlive the reader and its scopes.
  explicit WeightReader(const WeightSource* source, std::string prefix = "")
      : source_(source), prefix_(std::move(prefix)) {}

  WeightReader Scope(const std::string& name) const;
  const std::string& prefix() const { return prefix_; }

  bool Has(const std::string& name) const;
  absl::StatusOr<Tensor> Read(const std::string& name,
                              const std::vector<int64_t>& shape) const;
  absl::Status Read(const std::string& name, const std::vector<int64_t>& shape,
                    Tensor* out) const;
  // "<name>.weight" [out, in] and "<name>.bias" [out] (nn.Linear).
  absl::Status ReadLinear(const std::string& name, int64_t out, int64_t in,
                          Tensor* weight, Tensor* bias) const;
  // "<name>.weight" and "<name>.bias", both [dim] (nn.LayerNorm).
  absl::Status ReadLayerNorm(const std::string& name, int64_t dim,
                             Tensor* gamma, Tensor* beta) const;

 private:
  std::string Full(const std::string& name) const;

  const WeightSource* source_;
  std::string prefix_;
};

}  // namespace attnserve

#endif  // ATTNSERVE_CORE_MODELS_WEIGHT_READER_H_

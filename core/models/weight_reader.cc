#include "core/models/weight_reader.h"

#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/models/hf_config.h"
#include "core/models/safetensors.h"
#include "core/status_macros.h"

namespace attnserve {

absl::StatusOr<WeightSource> SafetensorsWeightSource(const std::string& path) {
  ASSIGN_OR_RETURN(std::unique_ptr<SafetensorsFile> opened,
                   SafetensorsFile::Open(path));
  std::shared_ptr<SafetensorsFile> f = std::move(opened);
  WeightSource source;
  source.has = [f](const std::string& name) { return f->Has(name); };
  source.read = [f](const std::string& name,
                    const std::vector<int64_t>& shape) {
    return f->ReadFloat(name, shape);
  };
  return source;
}

absl::StatusOr<WeightSource> FolderWeightSource(const std::string& folder) {
  const std::string path = JoinPath(folder, "model.safetensors");
  if (!FileExists(path)) {
    return absl::NotFoundError(absl::StrCat(
        path,
        ": not found (only safetensors checkpoints are supported; convert "
        "pytorch_model.bin with transformers' "
        "save_pretrained(safe_serialization=True))"));
  }
  return SafetensorsWeightSource(path);
}

std::string WeightReader::Full(const std::string& name) const {
  return absl::StrCat(prefix_, name);
}

WeightReader WeightReader::Scope(const std::string& name) const {
  return WeightReader(source_, absl::StrCat(prefix_, name, "."));
}

bool WeightReader::Has(const std::string& name) const {
  return source_->has(Full(name));
}

absl::StatusOr<Tensor> WeightReader::Read(
    const std::string& name, const std::vector<int64_t>& shape) const {
  return source_->read(Full(name), shape);
}

absl::Status WeightReader::Read(const std::string& name,
                                const std::vector<int64_t>& shape,
                                Tensor* out) const {
  ASSIGN_OR_RETURN(*out, Read(name, shape));
  return absl::OkStatus();
}

absl::Status WeightReader::ReadLinear(const std::string& name, int64_t out,
                                      int64_t in, Tensor* weight,
                                      Tensor* bias) const {
  RETURN_IF_ERROR(Read(absl::StrCat(name, ".weight"), {out, in}, weight));
  return Read(absl::StrCat(name, ".bias"), {out}, bias);
}

absl::Status WeightReader::ReadLayerNorm(const std::string& name, int64_t dim,
                                         Tensor* gamma, Tensor* beta) const {
  RETURN_IF_ERROR(Read(absl::StrCat(name, ".weight"), {dim}, gamma));
  return Read(absl::StrCat(name, ".bias"), {dim}, beta);
}

}  // namespace attnserve

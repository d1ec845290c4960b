#include "core/models/weight_reader.h"

#include <map>
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/models/hf_config.h"
#include "core/models/safetensors.h"
#include "core/models/torch_checkpoint.h"
#include "core/status_macros.h"

namespace attnserve {

namespace {

// A WeightSource over one opened checkpoint file (SafetensorsFile,
// TorchCheckpoint: Open, Has, ReadFloat), which the source's functions share.
template <typename File>
absl::StatusOr<WeightSource> FileWeightSource(const std::string& path) {
  ASSIGN_OR_RETURN(std::unique_ptr<File> opened, File::Open(path));
  std::shared_ptr<File> f = std::move(opened);
  WeightSource source;
  source.has = [f](const std::string& name) { return f->Has(name); };
  source.read = [f](const std::string& name,
                    const std::vector<int64_t>& shape) {
    return f->ReadFloat(name, shape);
  };
  return source;
}

// A shard named in an index must be a file beside it: no directories, so an
// index cannot point the server at other files.
bool PlainFileName(const std::string& name) {
  return !name.empty() && name != "." && name != ".." &&
         name.find('/') == std::string::npos;
}

// Shard file -> its WeightSource, for every shard the index names.
using Shards = std::map<std::string, WeightSource>;
using ShardOpener = absl::StatusOr<WeightSource> (*)(const std::string& path);

absl::StatusOr<Shards> OpenShards(const std::string& index_path,
                                  const std::string& folder,
                                  const std::map<std::string, std::string>& map,
                                  ShardOpener open) {
  Shards shards;
  for (const auto& [tensor, shard] : map) {
    auto it = shards.find(shard);
    if (it == shards.end()) {
      absl::StatusOr<WeightSource> opened = open(JoinPath(folder, shard));
      if (!opened.ok()) {
        return absl::Status(
            opened.status().code(),
            absl::StrCat(index_path, ": shard '", shard, "' (of tensor '",
                         tensor, "'): ", opened.status().message()));
      }
      it = shards.emplace(shard, *std::move(opened)).first;
    }
    if (!it->second.has(tensor)) {
      return absl::InvalidArgumentError(
          absl::StrCat(index_path, ": weight_map puts tensor '", tensor,
                       "' in shard '", shard, "', which does not contain it"));
    }
  }
  return shards;
}

// A sharded checkpoint (model.safetensors.index.json,
// pytorch_model.bin.index.json): "weight_map" names each tensor's shard, a
// file beside the index that `open` reads.
absl::StatusOr<WeightSource> ShardedWeightSource(const std::string& index_path,
                                                 ShardOpener open) {
  ASSIGN_OR_RETURN(JsonFile index, JsonFile::Read(index_path));
  const nlohmann::json& j = index.json();
  if (!j.is_object() || !j.contains("weight_map") ||
      !j.at("weight_map").is_object()) {
    return absl::InvalidArgumentError(absl::StrCat(
        index_path, ": no \"weight_map\" object (tensor name -> shard file)"));
  }
  auto map = std::make_shared<std::map<std::string, std::string>>();
  for (const auto& [tensor, shard] : j.at("weight_map").items()) {
    if (!shard.is_string() || !PlainFileName(shard.get<std::string>())) {
      return absl::InvalidArgumentError(
          absl::StrCat(index_path, ": weight_map entry of tensor '", tensor,
                       "' is not a file name in the index's folder"));
    }
    (*map)[tensor] = shard.get<std::string>();
  }
  const size_t slash = index_path.rfind('/');
  const std::string folder =
      slash == std::string::npos ? "." : index_path.substr(0, slash);
  ASSIGN_OR_RETURN(Shards opened, OpenShards(index_path, folder, *map, open));
  auto shards = std::make_shared<Shards>(std::move(opened));
  WeightSource source;
  source.has = [map](const std::string& name) { return map->count(name) > 0; };
  source.read =
      [map, shards, index_path](
          const std::string& name,
          const std::vector<int64_t>& shape) -> absl::StatusOr<Tensor> {
    auto it = map->find(name);
    if (it == map->end()) {
      return absl::NotFoundError(absl::StrCat(index_path, ": missing tensor '",
                                              name, "' (not in weight_map)"));
    }
    return shards->at(it->second).read(name, shape);
  };
  return source;
}

}  // namespace

absl::StatusOr<WeightSource> SafetensorsWeightSource(const std::string& path) {
  return FileWeightSource<SafetensorsFile>(path);
}

absl::StatusOr<WeightSource> ShardedSafetensorsWeightSource(
    const std::string& index_path) {
  return ShardedWeightSource(index_path, SafetensorsWeightSource);
}

absl::StatusOr<WeightSource> TorchCheckpointWeightSource(
    const std::string& path) {
  return FileWeightSource<TorchCheckpoint>(path);
}

absl::StatusOr<WeightSource> FolderWeightSource(const std::string& folder) {
  // transformers' order (modeling_utils: SAFE_WEIGHTS_NAME,
  // SAFE_WEIGHTS_INDEX_NAME, WEIGHTS_NAME, WEIGHTS_INDEX_NAME).
  const std::string single = JoinPath(folder, "model.safetensors");
  if (FileExists(single)) return SafetensorsWeightSource(single);
  const std::string index = JoinPath(folder, "model.safetensors.index.json");
  if (FileExists(index)) return ShardedSafetensorsWeightSource(index);
  const std::string bin = JoinPath(folder, "pytorch_model.bin");
  if (FileExists(bin)) return TorchCheckpointWeightSource(bin);
  const std::string bin_index =
      JoinPath(folder, "pytorch_model.bin.index.json");
  if (FileExists(bin_index))
    return ShardedWeightSource(bin_index, TorchCheckpointWeightSource);
  return absl::NotFoundError(absl::StrCat(
      folder,
      ": no weights: looked for model.safetensors, "
      "model.safetensors.index.json (sharded), pytorch_model.bin and "
      "pytorch_model.bin.index.json (sharded)"));
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

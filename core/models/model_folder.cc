#include "core/models/model_folder.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/models/encoder_architecture.h"
#include "core/models/hf_config.h"
#include "core/status_macros.h"

namespace attnserve {

std::string SequenceClassificationClass(const JsonFile& config) {
  const nlohmann::json& j = config.json();
  if (!j.contains("architectures") || !j.at("architectures").is_array())
    return "";
  for (const nlohmann::json& a : j.at("architectures")) {
    if (a.is_string() &&
        absl::EndsWith(a.get<std::string>(), "ForSequenceClassification"))
      return a.get<std::string>();
  }
  return "";
}

absl::StatusOr<ModelKind> ReadModelKind(const std::string& folder) {
  const std::string path = JoinPath(folder, "config.json");
  if (!FileExists(path)) {
    return absl::NotFoundError(absl::StrCat("cannot open ", path, " (is ",
                                            folder,
                                            " a Hugging Face model folder?)"));
  }
  ASSIGN_OR_RETURN(JsonFile config, JsonFile::Read(path));
  ModelKind kind;
  ASSIGN_OR_RETURN(kind.model_type, config.GetString("model_type"));
  if (kind.model_type == "marian") {
    kind.task = ModelTask::kTranslate;
    return kind;
  }
  if (FindEncoderArchitecture(kind.model_type) != nullptr) {
    if (!SequenceClassificationClass(config).empty() &&
        !FileExists(JoinPath(folder, "modules.json"))) {
      kind.task = ModelTask::kClassify;
    }
    return kind;
  }
  return absl::InvalidArgumentError(
      absl::StrCat(path, ": model_type \"", kind.model_type,
                   "\" is not supported (", SupportedEncoderTypes(),
                   " for Encode, Rerank and Classify; marian for Translate)"));
}

}  // namespace attnserve

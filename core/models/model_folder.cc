#include "core/models/model_folder.h"

#include "absl/strings/str_cat.h"
#include "core/models/encoder_architecture.h"
#include "core/models/hf_config.h"
#include "core/status_macros.h"

namespace attnserve {

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
  for (const EncoderArchitecture& arch : EncoderArchitectures()) {
    for (std::string_view type : arch.model_types) {
      if (type == kind.model_type) return kind;
    }
  }
  return absl::InvalidArgumentError(absl::StrCat(
      path, ": model_type \"", kind.model_type, "\" is not supported (",
      SupportedEncoderTypes(), " for Encode; marian for Translate)"));
}

}  // namespace attnserve

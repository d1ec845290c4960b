#include "server/model_folder.h"

#include <filesystem>
#include <fstream>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace attnserve::server {

absl::StatusOr<std::string> ReadModelType(const std::string& folder) {
  const std::string path =
      (std::filesystem::path(folder) / "config.json").string();
  std::ifstream file(path);
  if (!file) {
    return absl::NotFoundError(absl::StrCat("cannot open ", path, " (is ",
                                            folder,
                                            " a Hugging Face model folder?)"));
  }
  try {
    const nlohmann::json config = nlohmann::json::parse(file);
    if (!config.contains("model_type") || !config["model_type"].is_string()) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, " has no string \"model_type\""));
    }
    return config["model_type"].get<std::string>();
  } catch (const nlohmann::json::exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, " is not valid JSON: ", e.what()));
  }
}

absl::StatusOr<v1::Task> TaskForModelType(const std::string& model_type,
                                          const std::string& folder) {
  if (model_type == "bert") return v1::TASK_ENCODE;
  if (model_type == "marian") return v1::TASK_TRANSLATE;
  return absl::InvalidArgumentError(absl::StrCat(
      "model_type '", model_type, "' in ", folder,
      "/config.json is not supported (supported: bert for Encode, marian for "
      "Translate)"));
}

}  // namespace attnserve::server

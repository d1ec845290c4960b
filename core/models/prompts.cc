#include "core/models/prompts.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/models/hf_config.h"

namespace attnserve {
namespace {

constexpr char kFile[] = "config_sentence_transformers.json";

std::string KnownNames(const Prompts& prompts) {
  std::vector<std::string> names;
  for (const auto& [name, text] : prompts.by_name) names.push_back(name);
  return absl::StrJoin(names, ", ");
}

absl::Status ReadPromptMap(const JsonFile& file, Prompts* out) {
  if (!file.Has("prompts")) return absl::OkStatus();
  const nlohmann::json& prompts = file.json().at("prompts");
  if (!prompts.is_object()) {
    return absl::InvalidArgumentError(absl::StrCat(
        file.path(), ": \"prompts\" must be an object of strings"));
  }
  for (const auto& [name, text] : prompts.items()) {
    if (!text.is_string()) {
      return absl::InvalidArgumentError(absl::StrCat(
          file.path(), ": prompts[\"", name, "\"] must be a string"));
    }
    // As SentenceTransformer._load_sbert_model: the folder's text replaces the
    // empty "query" / "document" defaults.
    out->by_name[name] = text.get<std::string>();
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<Prompts> ReadPrompts(const std::string& folder) {
  Prompts prompts;
  prompts.by_name = {{"query", ""}, {"document", ""}};
  const std::string path = JoinPath(folder, kFile);
  if (!FileExists(path)) return prompts;
  absl::StatusOr<JsonFile> file = JsonFile::Read(path);
  if (!file.ok()) return file.status();
  if (absl::Status s = ReadPromptMap(*file, &prompts); !s.ok()) return s;
  absl::StatusOr<std::string> name = file->GetString("default_prompt_name", "");
  if (!name.ok()) return name.status();
  if (!name->empty() && !prompts.by_name.contains(*name)) {
    return absl::InvalidArgumentError(absl::StrCat(
        path, ": default_prompt_name \"", *name,
        "\" is not one of the prompts (", KnownNames(prompts), ")"));
  }
  prompts.default_name = *name;
  return prompts;
}

absl::StatusOr<std::string> ResolvePrompt(
    const Prompts& prompts, const std::optional<std::string_view>& name,
    const std::optional<std::string_view>& prompt) {
  if (name.has_value() && prompt.has_value()) {
    return absl::InvalidArgumentError(
        "prompt_name and prompt are both set; send one of them (prompt_name "
        "picks one of the model's prompts, prompt is a literal prefix)");
  }
  if (prompt.has_value()) return std::string(*prompt);
  if (!name.has_value()) {
    if (prompts.default_name.empty()) return std::string();
    return prompts.by_name.at(prompts.default_name);
  }
  const std::string wanted(*name);
  auto it = prompts.by_name.find(wanted);
  if (it == prompts.by_name.end()) {
    return absl::InvalidArgumentError(
        absl::StrCat("prompt_name \"", wanted,
                     "\" is not one of the model's "
                     "prompts (",
                     KnownNames(prompts), ")"));
  }
  return it->second;
}

}  // namespace attnserve

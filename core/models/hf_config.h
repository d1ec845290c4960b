#ifndef ATTNSERVE_CORE_MODELS_HF_CONFIG_H_
#define ATTNSERVE_CORE_MODELS_HF_CONFIG_H_

#include <string>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace attnserve {

// A parsed Hugging Face JSON file (config.json, tokenizer_config.json, ...).
// Getters never throw: errors are Statuses naming the file and the key, saying
// what was expected.
class JsonFile {
 public:
  static absl::StatusOr<JsonFile> Read(const std::string& path);
  // Parses text already in memory; `path` is only used in messages.
  static absl::StatusOr<JsonFile> Parse(const std::string& text,
                                        const std::string& path);

  const std::string& path() const { return path_; }
  const nlohmann::json& json() const { return json_; }
  bool Has(const std::string& key) const;  // present and not null

  absl::StatusOr<int64_t> GetInt(const std::string& key) const;
  absl::StatusOr<double> GetDouble(const std::string& key) const;
  absl::StatusOr<bool> GetBool(const std::string& key) const;
  absl::StatusOr<std::string> GetString(const std::string& key) const;
  // Missing or null -> fallback; present with the wrong type -> error.
  absl::StatusOr<int64_t> GetInt(const std::string& key,
                                 int64_t fallback) const;
  absl::StatusOr<double> GetDouble(const std::string& key,
                                   double fallback) const;
  absl::StatusOr<bool> GetBool(const std::string& key, bool fallback) const;
  absl::StatusOr<std::string> GetString(const std::string& key,
                                        const std::string& fallback) const;

 private:
  JsonFile(std::string path, nlohmann::json json)
      : path_(std::move(path)), json_(std::move(json)) {}
  std::string path_;
  nlohmann::json json_;
};

bool FileExists(const std::string& path);
std::string JoinPath(const std::string& folder, const std::string& name);

}  // namespace attnserve

#endif  // ATTNSERVE_CORE_MODELS_HF_CONFIG_H_

#include "core/models/hf_config.h"

#include <sys/stat.h>

#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"

namespace attnserve {
namespace {

template <typename T>
absl::StatusOr<T> Get(const JsonFile& f, const std::string& key,
                      const char* type_name,
                      bool (nlohmann::json::*is_type)() const noexcept) {
  if (!f.Has(key)) {
    return absl::InvalidArgumentError(
        absl::StrCat(f.path(), ": missing key \"", key, "\""));
  }
  const nlohmann::json& v = f.json()[key];
  if (!(v.*is_type)()) {
    return absl::InvalidArgumentError(absl::StrCat(f.path(), ": key \"", key,
                                                   "\" must be ", type_name,
                                                   ", found ", v.dump()));
  }
  return v.get<T>();
}

}  // namespace

bool FileExists(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0;
}

std::string JoinPath(const std::string& folder, const std::string& name) {
  if (folder.empty() || folder.back() == '/') return folder + name;
  return folder + "/" + name;
}

absl::StatusOr<JsonFile> JsonFile::Read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat(path, ": cannot open"));
  std::stringstream ss;
  ss << in.rdbuf();
  return Parse(ss.str(), path);
}

absl::StatusOr<JsonFile> JsonFile::Parse(const std::string& text,
                                         const std::string& path) {
  try {
    nlohmann::json j = nlohmann::json::parse(text);
    if (!j.is_object())
      return absl::InvalidArgumentError(path + ": top level is not an object");
    return JsonFile(path, std::move(j));
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": invalid JSON: ", e.what()));
  }
}

bool JsonFile::Has(const std::string& key) const {
  auto it = json_.find(key);
  return it != json_.end() && !it->is_null();
}

absl::StatusOr<int64_t> JsonFile::GetInt(const std::string& key) const {
  return Get<int64_t>(*this, key, "an integer",
                      &nlohmann::json::is_number_integer);
}
absl::StatusOr<double> JsonFile::GetDouble(const std::string& key) const {
  return Get<double>(*this, key, "a number", &nlohmann::json::is_number);
}
absl::StatusOr<bool> JsonFile::GetBool(const std::string& key) const {
  return Get<bool>(*this, key, "true or false", &nlohmann::json::is_boolean);
}
absl::StatusOr<std::string> JsonFile::GetString(const std::string& key) const {
  return Get<std::string>(*this, key, "a string", &nlohmann::json::is_string);
}
absl::StatusOr<int64_t> JsonFile::GetInt(const std::string& key,
                                         int64_t fallback) const {
  return Has(key) ? GetInt(key) : fallback;
}
absl::StatusOr<double> JsonFile::GetDouble(const std::string& key,
                                           double fallback) const {
  return Has(key) ? GetDouble(key) : fallback;
}
absl::StatusOr<bool> JsonFile::GetBool(const std::string& key,
                                       bool fallback) const {
  return Has(key) ? GetBool(key) : fallback;
}
absl::StatusOr<std::string> JsonFile::GetString(
    const std::string& key, const std::string& fallback) const {
  return Has(key) ? GetString(key) : absl::StatusOr<std::string>(fallback);
}

}  // namespace attnserve

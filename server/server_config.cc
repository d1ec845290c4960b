#include "server/server_config.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/io/tokenizer.h"
#include "google/protobuf/text_format.h"
#include "server/health_names.h"

namespace attnserve::server {
namespace {

// Collects the first text-format parse error with its position.
class FirstErrorCollector : public google::protobuf::io::ErrorCollector {
 public:
  void AddError(int line, int column, const std::string& message) override {
    if (error_.empty()) {
      error_ = absl::StrCat("line ", line + 1, ":", column + 1, ": ", message);
    }
  }
  const std::string& error() const { return error_; }

 private:
  std::string error_;
};

// The fewest tokens a model input can hold: BERT needs [CLS] and [SEP] around
// any text, Marian at least one token and </s>.
constexpr uint32_t kMinMaxInputTokens = 2;

absl::Status ValidateLimits(const v1::ModelConfig& model) {
  const uint32_t max_input_tokens = model.limits().max_input_tokens();
  if (max_input_tokens != 0 && max_input_tokens < kMinMaxInputTokens) {
    return absl::InvalidArgumentError(absl::StrCat(
        "model '", model.name(), "': limits.max_input_tokens is ",
        max_input_tokens, "; it must be at least ", kMinMaxInputTokens,
        " (the special tokens: [CLS] and [SEP] for BERT, a token and </s> "
        "for Marian) or 0 for the model's own maximum"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<v1::ServerConfig> ReadServerConfigFile(const std::string& path) {
  std::ifstream file(path);
  if (!file) {
    return absl::NotFoundError(
        absl::StrCat("cannot open --config file ", path));
  }
  std::stringstream text;
  text << file.rdbuf();
  FirstErrorCollector errors;
  google::protobuf::TextFormat::Parser parser;
  parser.RecordErrorsTo(&errors);
  v1::ServerConfig config;
  if (!parser.ParseFromString(text.str(), &config)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--config ", path, ": ", errors.error(),
        " (expected attnserve.v1.ServerConfig in protobuf text format, e.g. "
        "model { name: \"x\" path: \"/models/x\" })"));
  }
  // Relative model paths are relative to the config file, so a repository
  // file can sit next to its model folders.
  const std::filesystem::path dir = std::filesystem::path(path).parent_path();
  for (v1::ModelConfig& model : *config.mutable_model()) {
    if (!model.path().empty() && model.path()[0] != '/') {
      model.set_path((dir / model.path()).lexically_normal().string());
    }
  }
  return config;
}

absl::StatusOr<v1::ModelConfig> ParseModelFlag(absl::string_view spec) {
  size_t eq = spec.find('=');
  if (eq == absl::string_view::npos || eq == 0 || eq + 1 == spec.size()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--model '", spec,
        "' is not NAME=FOLDER (e.g. --model=minilm=/models/minilm)"));
  }
  v1::ModelConfig config;
  config.set_name(std::string(spec.substr(0, eq)));
  config.set_path(std::string(spec.substr(eq + 1)));
  return config;
}

absl::StatusOr<std::vector<v1::ModelConfig>> ScanModelsDir(
    const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  if (ec) {
    return absl::NotFoundError(
        absl::StrCat("cannot list models dir ", dir, ": ", ec.message()));
  }
  std::vector<v1::ModelConfig> models;
  for (const fs::directory_entry& entry : it) {
    if (!entry.is_directory(ec) ||
        !fs::exists(entry.path() / "config.json", ec))
      continue;
    v1::ModelConfig config;
    config.set_name(entry.path().filename().string());
    config.set_path(entry.path().string());
    models.push_back(std::move(config));
  }
  std::sort(models.begin(), models.end(),
            [](const v1::ModelConfig& a, const v1::ModelConfig& b) {
              return a.name() < b.name();
            });
  return models;
}

absl::Status ValidateServerConfig(const v1::ServerConfig& config) {
  absl::flat_hash_set<std::string> names;
  for (int i = 0; i < config.model_size(); ++i) {
    const v1::ModelConfig& model = config.model(i);
    if (model.name().empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("model[", i, "] has no name"));
    }
    if (model.path().empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "model '", model.name(), "' has no path (the model folder)"));
    }
    if (model.name() == kLivenessHealthName ||
        model.name() == kInferenceServiceName) {
      return absl::InvalidArgumentError(absl::StrCat(
          "model name '", model.name(),
          "' is a reserved grpc.health.v1 name; rename the model"));
    }
    if (!names.insert(model.name()).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("model name '", model.name(),
                       "' is configured twice; names must be unique"));
    }
    if (absl::Status s = ValidateLimits(model); !s.ok()) return s;
  }
  return absl::OkStatus();
}

std::vector<std::string> CollectRepeatedFlag(int argc, char** argv,
                                             absl::string_view name) {
  std::vector<std::string> values;
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg = argv[i];
    if (arg == "--") break;
    if (absl::StartsWith(arg, "--")) {
      arg.remove_prefix(2);
    } else if (absl::StartsWith(arg, "-")) {
      arg.remove_prefix(1);
    } else {
      continue;
    }
    if (!absl::StartsWith(arg, name)) continue;
    absl::string_view rest = arg.substr(name.size());
    if (rest.empty() && i + 1 < argc) {
      values.emplace_back(argv[++i]);
    } else if (!rest.empty() && rest[0] == '=') {
      values.emplace_back(rest.substr(1));
    }
  }
  return values;
}

}  // namespace attnserve::server

#ifndef ATTNSERVE_SERVER_SERVER_CONFIG_H_
#define ATTNSERVE_SERVER_SERVER_CONFIG_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "attnserve/v1/attnserve.pb.h"

namespace attnserve::server {

// The model repository configuration: the --config file (ServerConfig, protobuf
// text format), then the --model NAME=FOLDER flags, else every model folder
// under --models_dir.

// Parses a ServerConfig text-format file; errors name the file and line.
absl::StatusOr<v1::ServerConfig> ReadServerConfigFile(const std::string& path);

// "NAME=FOLDER" -> ModelConfig{name, path}.
absl::StatusOr<v1::ModelConfig> ParseModelFlag(absl::string_view spec);

// One ModelConfig per sub-folder of `dir` that holds a config.json, named after
// the sub-folder, in name order.
absl::StatusOr<std::vector<v1::ModelConfig>> ScanModelsDir(
    const std::string& dir);

// Names are non-empty, unique and paths non-empty.
absl::Status ValidateServerConfig(const v1::ServerConfig& config);

// Every value of a repeatable `--name=VALUE` / `--name VALUE` flag in argv
// order. (An Abseil flag keeps only the last occurrence, so repeated flags are
// collected before parsing.)
std::vector<std::string> CollectRepeatedFlag(int argc, char** argv,
                                             absl::string_view name);

}  // namespace attnserve::server

#endif  // ATTNSERVE_SERVER_SERVER_CONFIG_H_

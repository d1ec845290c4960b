// Fuzzes the model repository configuration: the --config file
// (attnserve.v1.ServerConfig in protobuf text format) through the server's own
// reader and validation, and the --model NAME=FOLDER flag parser.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/container/flat_hash_set.h"
#include "attnserve/v1/attnserve.pb.h"
#include "google/protobuf/text_format.h"
#include "google/protobuf/util/message_differencer.h"
#include "server/server_config.h"
#include "tests/fuzz/fuzz_util.h"

namespace attnserve::fuzz {
namespace {

// A config that passes ValidateServerConfig must have what the repository
// relies on: non-empty, unique names and non-empty paths. It must also survive
// a text-format round trip unchanged (what --config accepts is what a printed
// config means).
void CheckValidConfig(const v1::ServerConfig& config) {
  absl::flat_hash_set<std::string> names;
  for (const v1::ModelConfig& model : config.model()) {
    Require(!model.name().empty() && !model.path().empty(),
            "validated model has name and path");
    Require(names.insert(model.name()).second,
            "validated model names are unique");
  }
  std::string text;
  Require(google::protobuf::TextFormat::PrintToString(config, &text),
          "print ServerConfig");
  v1::ServerConfig reparsed;
  Require(google::protobuf::TextFormat::ParseFromString(text, &reparsed),
          "printed ServerConfig parses again");
  Require(google::protobuf::util::MessageDifferencer::Equals(config, reparsed),
          "ServerConfig text round trip");
}

}  // namespace
}  // namespace attnserve::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace attnserve;
  static const fuzz::MemFile* file = new fuzz::MemFile();
  file->Write(data, size);
  absl::StatusOr<v1::ServerConfig> config =
      server::ReadServerConfigFile(file->path());
  if (config.ok() && server::ValidateServerConfig(*config).ok())
    fuzz::CheckValidConfig(*config);

  // A std::string converts to either string_view flavour the server header may
  // use.
  const std::string spec(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<v1::ModelConfig> flag = server::ParseModelFlag(spec);
  if (flag.ok()) {
    fuzz::Require(!flag->name().empty() && !flag->path().empty(),
                  "--model NAME=FOLDER parts");
    fuzz::Require(flag->name() + "=" + flag->path() == spec,
                  "--model split loses no bytes");
  }
  return 0;
}

// The commands of attnserve-client: health, models, model, encode, translate,
// rerank, classify, tokenize.
#ifndef ATTNSERVE_CLIENT_COMMANDS_H_
#define ATTNSERVE_CLIENT_COMMANDS_H_

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "attnserve/v1/attnserve.pb.h"
#include "client/inference_client.h"

namespace attnserve::client {

// Process exit codes of attnserve-client.
enum ExitCode : int {
  kExitOk = 0,
  kExitRpcError = 1,    // the server answered with a non-OK gRPC status
  kExitUsage = 2,       // bad flags, command or arguments
  kExitNotServing = 3,  // `health` got an answer other than SERVING
};

struct CommandOptions {
  std::string model;  // empty: the server's only model for the command's task
  uint32_t beam_size = 0;
  uint32_t max_new_tokens = 0;
  uint32_t num_hypotheses = 0;
  bool truncate = false;
  v1::Pooling pooling = v1::POOLING_UNSPECIFIED;
  std::optional<bool> normalize;
  std::optional<std::string> prompt_name;  // encode
  std::optional<std::string> prompt;       // encode: a literal prefix
  uint32_t dimensions = 0;                 // encode: 0 = all
  v1::TruncationDirection truncation_direction =
      v1::TRUNCATION_DIRECTION_UNSPECIFIED;  // encode, tokenize
  std::optional<std::string> target_language;
  std::string query;          // rerank
  uint32_t top_n = 0;         // rerank: 0 = all
  bool return_texts = false;  // rerank
  uint32_t top_k = 0;         // classify: 0 = all labels
  bool raw_scores = false;    // rerank, classify: logits
  // classify, tokenize: the texts alternate TEXT PAIR TEXT PAIR ...
  bool pairs = false;
  bool stream = false;  // translate via TranslateStream
  bool json = false;    // one JSON object per call (per message with stream)
};

// "" -> unspecified, "mean" | "cls" | "max".
absl::StatusOr<v1::Pooling> ParsePooling(absl::string_view name);
// "" -> unspecified, "right" | "left".
absl::StatusOr<v1::TruncationDirection> ParseTruncationDirection(
    absl::string_view name);
// "" -> unset, "true" | "false" (also 1/0, yes/no).
absl::StatusOr<std::optional<bool>> ParseOptionalBool(absl::string_view flag,
                                                      absl::string_view value);

// True for the commands whose arguments are texts (encode, translate,
// rerank, classify, tokenize).
bool CommandTakesTexts(absl::string_view command);
// Checks the command name and its argument count; returns a usage message on
// error.
absl::Status ValidateCommand(absl::string_view command,
                             const std::vector<std::string>& args);

// Runs `command` with its `args` (texts for text commands); results go to
// `out`, errors to `err`; returns an ExitCode.
int RunCommand(absl::string_view command, const std::vector<std::string>& args,
               const CommandOptions& options, InferenceClient& client,
               std::ostream& out, std::ostream& err);

}  // namespace attnserve::client

#endif  // ATTNSERVE_CLIENT_COMMANDS_H_

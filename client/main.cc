// attnserve-client: command-line client of the attnserve Inference API.
//
//   attnserve-client [flags] health [SERVICE]
//   attnserve-client [flags] models
//   attnserve-client [flags] model NAME
//   attnserve-client [flags] encode|translate|tokenize TEXT...
//   attnserve-client [flags] rerank --query=Q TEXT...
//   attnserve-client [flags] classify [--pairs] TEXT [PAIR] ...
//
// Texts also come from --file PATH (one per line, "-" = stdin) or, when none
// are given and stdin is not a terminal, from stdin. Exit codes: 0 ok, 1 RPC
// error, 2 usage, 3 not SERVING.
#include <unistd.h>

#include <iostream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/time/time.h"
#include "client/channel.h"
#include "client/commands.h"
#include "client/inference_client.h"
#include "client/texts.h"

ABSL_FLAG(std::string, target, "127.0.0.1:50051", "server address host:port");
ABSL_FLAG(bool, json, false,
          "machine-readable output: one JSON object per call (per message "
          "with --stream)");
ABSL_FLAG(absl::Duration, deadline, absl::Seconds(30),
          "deadline of each call, e.g. 500ms, 5s; 0 = none");
ABSL_FLAG(bool, tls, false, "connect with TLS");
ABSL_FLAG(std::string, tls_ca, "", "PEM file of the root certificates (TLS)");
ABSL_FLAG(std::string, tls_cert, "",
          "PEM client certificate chain (mutual TLS, with --tls_key)");
ABSL_FLAG(std::string, tls_key, "", "PEM client private key (mutual TLS)");
ABSL_FLAG(std::string, token, "",
          "bearer token sent as 'authorization: Bearer TOKEN'");
ABSL_FLAG(std::string, token_file, "", "file holding the bearer token");
ABSL_FLAG(std::string, model, "",
          "model name; default: the server's only model for the task");
ABSL_FLAG(uint32_t, beam, 0,
          "translate: beam size (0 = model default, 1 = greedy)");
ABSL_FLAG(uint32_t, max_new_tokens, 0,
          "translate: max generated tokens incl. </s> (0 = model default)");
ABSL_FLAG(uint32_t, num_hypotheses, 0, "translate: n-best per text (0 = 1)");
ABSL_FLAG(std::string, target_language, "",
          "translate/tokenize: target language of a multi-target model");
ABSL_FLAG(bool, truncate, false,
          "cut texts longer than the model's limit instead of failing");
ABSL_FLAG(std::string, pooling, "",
          "encode: mean | cls | max | mean_sqrt_len_tokens | weightedmean | "
          "lasttoken (default: the model's)");
ABSL_FLAG(std::string, normalize, "",
          "encode: true | false (default: the model's)");
ABSL_FLAG(std::string, prompt_name, "",
          "encode: one of the model's prompts, e.g. query (default: the "
          "model's default prompt, if any)");
ABSL_FLAG(std::string, prompt, "",
          "encode: a literal prefix for every text, e.g. 'query: '");
ABSL_FLAG(uint32_t, dimensions, 0,
          "encode: keep the first N values of each embedding (Matryoshka); "
          "0 = all");
ABSL_FLAG(std::string, truncation_direction, "",
          "encode/tokenize: right | left, where --truncate cuts (default: "
          "right)");
ABSL_FLAG(std::string, query, "",
          "rerank: the query the texts are scored against");
ABSL_FLAG(uint32_t, top_n, 0, "rerank: results returned, best first (0 = all)");
ABSL_FLAG(bool, return_texts, false, "rerank: echo each result's text");
ABSL_FLAG(uint32_t, top_k, 0,
          "classify: labels per text, best first (0 = all)");
ABSL_FLAG(bool, raw_scores, false,
          "rerank/classify: the logits instead of the model's activation");
ABSL_FLAG(bool, pairs, false,
          "classify/tokenize: the texts alternate TEXT PAIR TEXT PAIR ... "
          "(text_pairs; also lines of --file)");
ABSL_FLAG(bool, stream, false,
          "translate with TranslateStream, printing text as it is decoded");
ABSL_FLAG(std::string, file, "",
          "read texts from PATH, one per line; - = stdin");

namespace attnserve::client {
namespace {

int Usage(absl::string_view message) {
  std::cerr << "usage error: " << message << "\n"
            << "run with --help for the flags\n";
  return kExitUsage;
}

absl::StatusOr<CommandOptions> CommandOptionsFromFlags() {
  CommandOptions options;
  options.model = absl::GetFlag(FLAGS_model);
  options.beam_size = absl::GetFlag(FLAGS_beam);
  options.max_new_tokens = absl::GetFlag(FLAGS_max_new_tokens);
  options.num_hypotheses = absl::GetFlag(FLAGS_num_hypotheses);
  options.truncate = absl::GetFlag(FLAGS_truncate);
  options.stream = absl::GetFlag(FLAGS_stream);
  options.query = absl::GetFlag(FLAGS_query);
  options.top_n = absl::GetFlag(FLAGS_top_n);
  options.return_texts = absl::GetFlag(FLAGS_return_texts);
  options.top_k = absl::GetFlag(FLAGS_top_k);
  options.raw_scores = absl::GetFlag(FLAGS_raw_scores);
  options.pairs = absl::GetFlag(FLAGS_pairs);
  options.json = absl::GetFlag(FLAGS_json);
  absl::StatusOr<v1::Pooling> pooling =
      ParsePooling(absl::GetFlag(FLAGS_pooling));
  if (!pooling.ok()) return pooling.status();
  options.pooling = *pooling;
  absl::StatusOr<std::optional<bool>> normalize =
      ParseOptionalBool("normalize", absl::GetFlag(FLAGS_normalize));
  if (!normalize.ok()) return normalize.status();
  options.normalize = *normalize;
  if (!absl::GetFlag(FLAGS_prompt_name).empty())
    options.prompt_name = absl::GetFlag(FLAGS_prompt_name);
  if (!absl::GetFlag(FLAGS_prompt).empty())
    options.prompt = absl::GetFlag(FLAGS_prompt);
  options.dimensions = absl::GetFlag(FLAGS_dimensions);
  absl::StatusOr<v1::TruncationDirection> direction =
      ParseTruncationDirection(absl::GetFlag(FLAGS_truncation_direction));
  if (!direction.ok()) return direction.status();
  options.truncation_direction = *direction;
  if (!absl::GetFlag(FLAGS_target_language).empty()) {
    options.target_language = absl::GetFlag(FLAGS_target_language);
  }
  return options;
}

int Main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "attnserve-client [flags] COMMAND [ARGS]\n"
      "commands: health [SERVICE] | models | model NAME | encode TEXT... |\n"
      "          translate TEXT... | tokenize TEXT... |\n"
      "          rerank --query=Q TEXT... | classify [--pairs] TEXT [PAIR]...\n"
      "exit codes: 0 ok, 1 RPC error, 2 usage, 3 health not SERVING");
  std::vector<char*> positional = absl::ParseCommandLine(argc, argv);
  if (positional.size() < 2) return Usage("no command given");
  const std::string command = positional[1];
  std::vector<std::string> args(positional.begin() + 2, positional.end());

  absl::StatusOr<CommandOptions> options = CommandOptionsFromFlags();
  if (!options.ok()) return Usage(options.status().message());
  if (CommandTakesTexts(command)) {
    absl::StatusOr<std::vector<std::string>> texts = CollectTexts(
        args, absl::GetFlag(FLAGS_file), std::cin, isatty(STDIN_FILENO) != 0);
    if (!texts.ok()) return Usage(texts.status().message());
    args = *std::move(texts);
  } else if (absl::Status valid = ValidateCommand(command, args); !valid.ok()) {
    return Usage(valid.message());
  }

  ConnectionOptions connection;
  connection.target = absl::GetFlag(FLAGS_target);
  connection.tls = absl::GetFlag(FLAGS_tls);
  connection.tls_ca_file = absl::GetFlag(FLAGS_tls_ca);
  connection.tls_cert_file = absl::GetFlag(FLAGS_tls_cert);
  connection.tls_key_file = absl::GetFlag(FLAGS_tls_key);
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel =
      MakeChannel(connection);
  if (!channel.ok()) return Usage(channel.status().message());
  CallOptions call;
  call.deadline = absl::GetFlag(FLAGS_deadline);
  absl::StatusOr<std::string> token =
      ResolveToken(absl::GetFlag(FLAGS_token), absl::GetFlag(FLAGS_token_file));
  if (!token.ok()) return Usage(token.status().message());
  call.token = *std::move(token);

  InferenceClient client(*std::move(channel), call);
  return RunCommand(command, args, *options, client, std::cout, std::cerr);
}

}  // namespace
}  // namespace attnserve::client

int main(int argc, char** argv) { return attnserve::client::Main(argc, argv); }

// attnserve-server: serves the configured models over gRPC
// (attnserve.v1.Inference) with health, reflection and Prometheus metrics. See
// --help.
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "server/logging.h"
#include "server/server_app.h"
#include "server/server_config.h"
#include "server/termination_signals.h"
#include "server/tls_credentials.h"

ABSL_FLAG(std::string, host, "0.0.0.0", "Address the gRPC server listens on.");
ABSL_FLAG(int, port, 50051,
          "gRPC port (0 = pick a free port; the log shows which).");
ABSL_FLAG(std::string, metrics_address, "0.0.0.0",
          "Address of the Prometheus /metrics endpoint (plain HTTP, no "
          "authentication: bind it to a private address, e.g. 127.0.0.1).");
ABSL_FLAG(int, metrics_port, 9090,
          "Port of the Prometheus /metrics endpoint (0 = pick one).");
ABSL_FLAG(std::string, model, "",
          "NAME=FOLDER: serve the Hugging Face model folder FOLDER as NAME. "
          "Repeatable.");
ABSL_FLAG(std::string, config, "",
          "Model repository file (attnserve.v1.ServerConfig, protobuf text "
          "format). Its models "
          "are served in addition to --model ones.");
ABSL_FLAG(std::string, models_dir, "",
          "When no --model/--config is given: serve every model folder under "
          "this directory, "
          "named after its sub-folder (default: $ATTNSERVE_MODELS).");
ABSL_FLAG(int, threads, 0,
          "Compute threads per model call (0 = all hardware threads).");
ABSL_FLAG(std::string, dtype, "float32",
          "Compute precision of models whose config sets none: float32, "
          "bfloat16 or int8.");
ABSL_FLAG(int, max_message_bytes, 64 << 20,
          "Largest gRPC message received or sent.");
ABSL_FLAG(absl::Duration, drain_timeout, absl::Seconds(30),
          "On SIGTERM/SIGINT, how long accepted calls may take to finish "
          "before they are "
          "cancelled.");

ABSL_FLAG(std::string, tls_cert, "",
          "PEM certificate chain of the gRPC port: serve TLS (with "
          "--tls_key).");
ABSL_FLAG(std::string, tls_key, "",
          "PEM private key of --tls_cert (unencrypted).");
ABSL_FLAG(std::string, tls_client_ca, "",
          "PEM CA certificate(s): mutual TLS, every client must present a "
          "certificate they signed (needs --tls_cert/--tls_key).");
ABSL_FLAG(std::string, auth_tokens_file, "",
          "File of bearer tokens, one per line ('#' comment lines): every "
          "Inference call must send 'authorization: Bearer <token>' "
          "(health and reflection stay open). Re-read on SIGHUP.");

namespace attnserve::server {
namespace {

absl::StatusOr<DType> ParseDType(const std::string &name) {
  if (name == "float32") return DType::kFloat32;
  if (name == "bfloat16") return DType::kBFloat16;
  if (name == "int8") return DType::kInt8;
  return absl::InvalidArgumentError(
      absl::StrCat("--dtype=", name, " is not one of float32, bfloat16, int8"));
}

absl::StatusOr<v1::ServerConfig> AssembleConfig(
    const std::vector<std::string> &model_flags) {
  v1::ServerConfig config;
  if (const std::string path = absl::GetFlag(FLAGS_config); !path.empty()) {
    absl::StatusOr<v1::ServerConfig> file = ReadServerConfigFile(path);
    if (!file.ok()) return file.status();
    config = *std::move(file);
  }
  for (const std::string &spec : model_flags) {
    absl::StatusOr<v1::ModelConfig> model = ParseModelFlag(spec);
    if (!model.ok()) return model.status();
    *config.add_model() = *std::move(model);
  }
  std::string models_dir = absl::GetFlag(FLAGS_models_dir);
  if (models_dir.empty() && std::getenv("ATTNSERVE_MODELS") != nullptr) {
    models_dir = std::getenv("ATTNSERVE_MODELS");
  }
  if (config.model_size() == 0 && models_dir.empty()) {
    // No models named: serve the bundled defaults (models/default.textproto
    // of the source tree this binary was built from), when present.
    const std::string defaults = ATTNSERVE_DEFAULT_CONFIG;
    if (std::ifstream(defaults).good()) {
      absl::StatusOr<v1::ServerConfig> file = ReadServerConfigFile(defaults);
      if (!file.ok()) return file.status();
      LogInfo(
          absl::StrCat("no --model/--config given: serving the defaults "
                       "of ",
                       defaults));
      config = *std::move(file);
    }
  }
  if (config.model_size() == 0 && !models_dir.empty()) {
    absl::StatusOr<std::vector<v1::ModelConfig>> found =
        ScanModelsDir(models_dir);
    if (!found.ok()) return found.status();
    for (v1::ModelConfig &model : *found)
      *config.add_model() = std::move(model);
  }
  if (absl::Status s = ValidateServerConfig(config); !s.ok()) return s;
  return config;
}

// libgomp reads its variables when it is loaded, before main(), so the wait
// policy can only be set by starting again with it in the environment. Every
// model computes on the one compute thread (core/ops/compute_thread.h), so the
// process has a single OpenMP team and a spinning team starves no other one.
// Passive waiting pays a futex wake of an idle (virtual) CPU per parallel
// region (~120 per MiniLM forward). GOMP_SPINCOUNT=100000 (about 1 ms) keeps
// the team awake across the serial gaps of a forward pass and between the
// calls of one interactive client. Measured on 2 cores, MiniLM, one 15-token
// text per call, 2 threads, ghz with one connection, p50 (spin 1000 -> 100000):
// int8 1.92 -> 1.63 ms, bf16 1.81 -> 1.65 ms, f32 2.56 -> 2.46 ms; 8 clients:
// int8 761 -> 826 calls/s, bf16 866 -> 879, f32 525 -> 580 (README, "Threads
// and waiting"). OMP_WAIT_POLICY or GOMP_SPINCOUNT in the environment are kept.
constexpr char kOpenMpSpinCount[] = "100000";

void EnsureOpenMpSpin(char **argv) {
  if (std::getenv("OMP_WAIT_POLICY") != nullptr ||
      std::getenv("GOMP_SPINCOUNT") != nullptr) {
    return;
  }
  setenv("GOMP_SPINCOUNT", kOpenMpSpinCount, /*overwrite=*/0);
  // The resolved path, not /proc/self/exe: the process name (comm) comes from
  // the exec'ed file's name and must stay attnserve-server.
  char self[4096];
  const ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
  if (n <= 0) return;
  self[n] = '\0';
  execv(self, argv);  // returns only on failure: keep going as is
}

// TLS credentials and bearer tokens: their files are checked here so that a
// bad one stops the start with a message naming it.
absl::Status SetUpSecurity(ServerOptions &options) {
  TlsFiles tls;
  tls.cert = absl::GetFlag(FLAGS_tls_cert);
  tls.key = absl::GetFlag(FLAGS_tls_key);
  tls.client_ca = absl::GetFlag(FLAGS_tls_client_ca);
  if (!tls.cert.empty() || !tls.key.empty() || !tls.client_ca.empty()) {
    absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> credentials =
        MakeServerCredentials(tls);
    if (!credentials.ok()) return credentials.status();
    options.credentials = *std::move(credentials);
  }
  if (const std::string path = absl::GetFlag(FLAGS_auth_tokens_file);
      !path.empty()) {
    absl::StatusOr<std::unique_ptr<BearerTokens>> tokens =
        BearerTokens::FromFile(path);
    if (!tokens.ok()) return tokens.status();
    options.tokens = *std::move(tokens);
  }
  return absl::OkStatus();
}

int Main(int argc, char **argv) {
  EnsureOpenMpSpin(argv);
  InstallSignalHandlers();
  const std::vector<std::string> model_flags =
      CollectRepeatedFlag(argc, argv, "model");
  absl::SetProgramUsageMessage(
      "attnserve-server --model=NAME=FOLDER [--model=...] [--config=FILE] "
      "[--port=50051] "
      "[--metrics_port=9090] [--tls_cert=PEM --tls_key=PEM "
      "[--tls_client_ca=PEM]] [--auth_tokens_file=FILE]");
  std::vector<char *> positional = absl::ParseCommandLine(argc, argv);
  if (positional.size() > 1) {
    LogError(absl::StrCat("unexpected argument '", positional[1],
                          "' (flags are --name=value)"));
    return 2;
  }
  absl::StatusOr<DType> dtype = ParseDType(absl::GetFlag(FLAGS_dtype));
  absl::StatusOr<v1::ServerConfig> config = AssembleConfig(model_flags);
  if (!dtype.ok() || !config.ok()) {
    LogError(!dtype.ok() ? dtype.status().message()
                         : config.status().message());
    return 2;
  }
  ServerOptions options;
  if (absl::Status s = SetUpSecurity(options); !s.ok()) {
    LogError(s.message());
    return 2;
  }

  options.host = absl::GetFlag(FLAGS_host);
  options.port = absl::GetFlag(FLAGS_port);
  options.metrics_address = absl::GetFlag(FLAGS_metrics_address);
  options.metrics_port = absl::GetFlag(FLAGS_metrics_port);
  options.max_message_bytes = absl::GetFlag(FLAGS_max_message_bytes);
  options.drain_timeout = absl::GetFlag(FLAGS_drain_timeout);
  options.dtype = *dtype;
  options.threads = absl::GetFlag(FLAGS_threads);
  options.config = *std::move(config);
  return RunServer(options);
}

}  // namespace
}  // namespace attnserve::server

int main(int argc, char **argv) { return attnserve::server::Main(argc, argv); }

#ifndef ATTNSERVE_SERVER_SERVER_APP_H_
#define ATTNSERVE_SERVER_SERVER_APP_H_

#include <memory>
#include <string>

#include "absl/time/time.h"
#include "attnserve/v1/attnserve.pb.h"
#include "core/dtype.h"
#include "grpcpp/security/server_credentials.h"
#include "server/bearer_tokens.h"

namespace attnserve::server {

struct ServerOptions {
  std::string host = "0.0.0.0";
  int port = 50051;  // 0 picks a free port (logged)
  std::string metrics_address = "0.0.0.0";
  int metrics_port = 9090;  // 0 picks a free port (logged)
  int max_message_bytes = 64 << 20;
  absl::Duration drain_timeout = absl::Seconds(30);
  DType dtype = DType::kFloat32;  // for models whose config sets none
  int threads = 0;  // compute threads per model call (0 = all cores)
  v1::ServerConfig config;        // validated
  // Of the gRPC port (MakeServerCredentials); nullptr: plaintext.
  std::shared_ptr<grpc::ServerCredentials> credentials;
  // nullptr: no authentication. Re-read on SIGHUP.
  std::shared_ptr<BearerTokens> tokens;
};

// Serves until SIGTERM/SIGINT (the caller installed the handlers of
// termination_signals.h); SIGHUP reloads the token file and every model (see
// ModelRepository::ReloadAll). At SIGTERM/SIGINT it drains: overall and model
// health NOT_SERVING ("liveness" stays SERVING), new calls UNAVAILABLE,
// accepted calls finish (up to drain_timeout). Returns the process exit code:
// 0 after a drain, 1 when the server could not start.
int RunServer(const ServerOptions& options);

}  // namespace attnserve::server

#endif  // ATTNSERVE_SERVER_SERVER_APP_H_

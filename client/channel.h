// Connection and per-call settings shared by attnserve-client and
// attnserve-loadgen.
#ifndef ATTNSERVE_CLIENT_CHANNEL_H_
#define ATTNSERVE_CLIENT_CHANNEL_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace attnserve::client {

struct ConnectionOptions {
  std::string target = "127.0.0.1:50051";
  bool tls = false;
  std::string tls_ca_file;    // PEM roots; empty = system roots
  std::string tls_cert_file;  // client certificate chain (mutual TLS)
  std::string tls_key_file;   // client private key (mutual TLS)
};

// Applied to every call: the deadline (<= 0 or infinite = none) and the bearer
// token.
struct CallOptions {
  absl::Duration deadline = absl::Seconds(30);
  std::string token;  // sent as "authorization: Bearer <token>" when not empty
};

absl::StatusOr<std::string> ReadFileToString(const std::string& path);

// The token in `path` with surrounding whitespace (e.g. the final newline)
// removed.
absl::StatusOr<std::string> ReadTokenFile(const std::string& path);

// Resolves the token flags: at most one of `token` and `token_file` may be set.
absl::StatusOr<std::string> ResolveToken(const std::string& token,
                                         const std::string& token_file);

absl::StatusOr<std::shared_ptr<grpc::Channel>> MakeChannel(
    const ConnectionOptions& options);

// Sets the deadline and the authorization metadata of one call.
void PrepareContext(const CallOptions& options, grpc::ClientContext* context);

// Largest message a client channel receives: the server's default
// --max_message_bytes.
inline constexpr int kMaxMessageBytes = 64 << 20;

// gRPC and absl share code numbers, so the conversion keeps code and message;
// gRPC's message-size RESOURCE_EXHAUSTED gets a note on which limit and that
// retrying does not help.
absl::Status FromGrpcStatus(const grpc::Status& status);

}  // namespace attnserve::client

#endif  // ATTNSERVE_CLIENT_CHANNEL_H_

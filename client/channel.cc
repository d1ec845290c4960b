#include "client/channel.h"

#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace attnserve::client {
namespace {

// Responses up to the server's default --max_message_bytes are received
// (gRPC's client default is 4 MiB).
grpc::ChannelArguments ChannelArgs() {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(kMaxMessageBytes);
  return args;
}

}  // namespace

absl::StatusOr<std::string> ReadFileToString(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(absl::StrCat("cannot open ", path));
  }
  std::ostringstream content;
  content << in.rdbuf();
  if (in.bad()) {
    return absl::DataLossError(absl::StrCat("cannot read ", path));
  }
  return content.str();
}

absl::StatusOr<std::string> ReadTokenFile(const std::string& path) {
  absl::StatusOr<std::string> content = ReadFileToString(path);
  if (!content.ok()) return content.status();
  std::string token(absl::StripAsciiWhitespace(*content));
  if (token.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--token_file ", path, " is empty"));
  }
  return token;
}

absl::StatusOr<std::string> ResolveToken(const std::string& token,
                                         const std::string& token_file) {
  if (!token.empty() && !token_file.empty()) {
    return absl::InvalidArgumentError(
        "give either --token or --token_file, not both");
  }
  if (!token_file.empty()) return ReadTokenFile(token_file);
  return token;
}

absl::StatusOr<std::shared_ptr<grpc::Channel>> MakeChannel(
    const ConnectionOptions& options) {
  if (options.target.empty()) {
    return absl::InvalidArgumentError("--target is empty; use host:port");
  }
  const bool tls_files = !options.tls_ca_file.empty() ||
                         !options.tls_cert_file.empty() ||
                         !options.tls_key_file.empty();
  if (!options.tls) {
    if (tls_files) {
      return absl::InvalidArgumentError(
          "--tls_ca/--tls_cert/--tls_key need --tls");
    }
    return grpc::CreateCustomChannel(
        options.target, grpc::InsecureChannelCredentials(), ChannelArgs());
  }
  if (options.tls_cert_file.empty() != options.tls_key_file.empty()) {
    return absl::InvalidArgumentError(
        "mutual TLS needs both --tls_cert and --tls_key");
  }
  grpc::SslCredentialsOptions ssl;
  if (!options.tls_ca_file.empty()) {
    absl::StatusOr<std::string> ca = ReadFileToString(options.tls_ca_file);
    if (!ca.ok()) return ca.status();
    ssl.pem_root_certs = *std::move(ca);
  }
  if (!options.tls_cert_file.empty()) {
    absl::StatusOr<std::string> cert = ReadFileToString(options.tls_cert_file);
    if (!cert.ok()) return cert.status();
    absl::StatusOr<std::string> key = ReadFileToString(options.tls_key_file);
    if (!key.ok()) return key.status();
    ssl.pem_cert_chain = *std::move(cert);
    ssl.pem_private_key = *std::move(key);
  }
  return grpc::CreateCustomChannel(options.target, grpc::SslCredentials(ssl),
                                   ChannelArgs());
}

void PrepareContext(const CallOptions& options, grpc::ClientContext* context) {
  if (options.deadline > absl::ZeroDuration() &&
      options.deadline != absl::InfiniteDuration()) {
    context->set_deadline(absl::ToChronoTime(absl::Now() + options.deadline));
  }
  if (!options.token.empty()) {
    context->AddMetadata("authorization", "Bearer " + options.token);
  }
}

absl::Status FromGrpcStatus(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  std::string message = status.error_message();
  // gRPC's own size check ("Received/Sent message larger than max (N vs.
  // M)") says neither which side's limit it is nor what to do.
  if (status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED &&
      absl::StrContains(message, "message larger than max")) {
    absl::StrAppend(&message,
                    " [a message exceeds the gRPC message size limit: the "
                    "server's --max_message_bytes, or this client's ",
                    kMaxMessageBytes,
                    "; not retryable: send fewer or shorter texts per call]");
  }
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                      message);
}

}  // namespace attnserve::client

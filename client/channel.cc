#include "client/channel.h"

#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace attnserve::client {

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
    return grpc::CreateChannel(options.target,
                               grpc::InsecureChannelCredentials());
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
  return grpc::CreateChannel(options.target, grpc::SslCredentials(ssl));
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
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                      status.error_message());
}

}  // namespace attnserve::client

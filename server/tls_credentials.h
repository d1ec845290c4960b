#ifndef ATTNSERVE_SERVER_TLS_CREDENTIALS_H_
#define ATTNSERVE_SERVER_TLS_CREDENTIALS_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "grpcpp/security/server_credentials.h"

namespace attnserve::server {

// PEM files of the gRPC port's TLS (all empty: plaintext).
struct TlsFiles {
  std::string cert;       // --tls_cert: server certificate chain
  std::string key;        // --tls_key: its private key
  std::string client_ca;  // --tls_client_ca: mutual TLS, clients must present
                          // a certificate signed by these CAs
};

// Credentials of the gRPC port. The files are read and checked here, at
// start-up, so that a bad file is reported by name (gRPC itself would only
// fail to bind the port): unreadable, not PEM, key not matching the
// certificate, client CA without server certificate.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const TlsFiles& files);

}  // namespace attnserve::server

#endif  // ATTNSERVE_SERVER_TLS_CREDENTIALS_H_

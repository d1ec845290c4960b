#ifndef ATTNSERVE_SERVER_BEARER_TOKENS_H_
#define ATTNSERVE_SERVER_BEARER_TOKENS_H_

#include <array>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "grpcpp/server_context.h"

namespace attnserve::server {

// The bearer tokens of --auth_tokens_file: one token per line, surrounding
// whitespace ignored, blank lines and lines starting with '#' skipped.
// Only SHA-256 digests are kept; a presented token is hashed and compared with
// every digest in constant time, so neither the token's length nor the
// position of a mismatch shows in the time taken. Thread-safe.
class BearerTokens {
 public:
  using Digest = std::array<unsigned char, 32>;

  // Errors name the file: unreadable, or no token in it.
  static absl::StatusOr<std::unique_ptr<BearerTokens>> FromFile(
      const std::string& path);

  // Re-reads the file (SIGHUP). On error the current tokens stay in force.
  absl::Status Reload();
  size_t size() const;

  // OK when the call carries "authorization: Bearer <token>" with a known
  // token, else UNAUTHENTICATED.
  absl::Status Check(const grpc::ServerContextBase& context) const;
  // The same for a header value.
  bool Accepts(absl::string_view authorization) const;

 private:
  explicit BearerTokens(std::string path) : path_(std::move(path)) {}

  const std::string path_;
  mutable absl::Mutex mu_;
  std::vector<Digest> digests_ ABSL_GUARDED_BY(mu_);
};

}  // namespace attnserve::server

#endif  // ATTNSERVE_SERVER_BEARER_TOKENS_H_

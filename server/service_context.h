#ifndef ATTNSERVE_SERVER_SERVICE_CONTEXT_H_
#define ATTNSERVE_SERVER_SERVICE_CONTEXT_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "grpcpp/server_context.h"
#include "server/bearer_tokens.h"
#include "server/metrics.h"
#include "server/model_repository.h"

namespace attnserve::server {

// What every RPC handler shares: the models, the metrics, the bearer tokens
// and the drain switch.
struct ServiceContext {
  ModelRepository* models = nullptr;
  Metrics* metrics = nullptr;
  // nullptr: no authentication (--auth_tokens_file not given).
  const BearerTokens* tokens = nullptr;
  // Set when draining begins; new calls are then refused with UNAVAILABLE.
  std::atomic<bool> draining{false};
  // When the last Inference call arrived (absl::ToUnixNanos): the drain waits
  // for the callers to go quiet before shutting gRPC down, because gRPC
  // cancels (not refuses) calls that race with its shutdown.
  mutable std::atomic<int64_t> last_arrival_ns{0};

  absl::Status CheckAcceptingCalls() const {
    last_arrival_ns.store(absl::ToUnixNanos(absl::Now()),
                          std::memory_order_relaxed);
    if (draining.load(std::memory_order_acquire)) {
      return absl::UnavailableError(
          "server is shutting down; retry on another replica");
    }
    return absl::OkStatus();
  }

  // UNAUTHENTICATED unless the call carries a valid bearer token (when tokens
  // are configured).
  absl::Status Authenticate(const grpc::ServerContextBase& context) const {
    return tokens == nullptr ? absl::OkStatus() : tokens->Check(context);
  }

  // --max_message_bytes: gRPC refuses larger messages itself, but a response
  // refused by gRPC's send would be counted OK here and tell the client
  // neither the limit nor what to do; 0 = unchecked.
  int64_t max_message_bytes = 0;
  absl::Status CheckResponseSize(size_t bytes) const {
    if (max_message_bytes <= 0 ||
        bytes <= static_cast<size_t>(max_message_bytes)) {
      return absl::OkStatus();
    }
    return absl::ResourceExhaustedError(absl::StrCat(
        "the response has ", bytes, " bytes, more than the server's ",
        "--max_message_bytes ", max_message_bytes,
        "; not retryable: send fewer texts per call (or ask for fewer "
        "hypotheses / tokens)"));
  }

  // The model label of a call's metrics: its model when configured, else empty.
  std::string ModelLabel(absl::string_view name) const {
    return models->Find(name) != nullptr ? std::string(name) : std::string();
  }
};

// A gRPC deadline as absl::Time (InfiniteFuture when the call has none).
inline absl::Time CallDeadline(std::chrono::system_clock::time_point deadline) {
  if (deadline >=
      std::chrono::system_clock::now() + std::chrono::hours(24 * 365)) {
    return absl::InfiniteFuture();
  }
  return absl::FromChrono(deadline);
}

inline absl::Status CheckDeadline(absl::Time deadline) {
  if (deadline <= absl::Now()) {
    return absl::DeadlineExceededError(
        "the call's deadline passed before it was started");
  }
  return absl::OkStatus();
}

}  // namespace attnserve::server

#endif  // ATTNSERVE_SERVER_SERVICE_CONTEXT_H_

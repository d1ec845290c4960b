#include "server/call_record.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/time/clock.h"

namespace attnserve::server {

CallRecord::CallRecord(Metrics* metrics, absl::string_view method,
                       std::string model)
    : metrics_(metrics),
      method_(method),
      model_(std::move(model)),
      start_(absl::Now()) {
  metrics_->RequestStarted(model_, method_);
}

CallRecord::~CallRecord() { Finish(grpc::Status::CANCELLED); }

void CallRecord::Finish(const grpc::Status& status, uint64_t input_tokens,
                        uint64_t output_tokens) {
  if (finished_.exchange(true)) return;
  const std::string code = absl::StatusCodeToString(
      static_cast<absl::StatusCode>(status.error_code()));
  metrics_->RequestFinished(model_, method_, code, absl::Now() - start_);
  if (status.ok() && (input_tokens > 0 || output_tokens > 0)) {
    metrics_->AddTokens(model_, method_, input_tokens, output_tokens);
  }
}

}  // namespace attnserve::server

#ifndef ATTNSERVE_SERVER_CALL_RECORD_H_
#define ATTNSERVE_SERVER_CALL_RECORD_H_

#include <atomic>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "grpcpp/support/status.h"
#include "server/metrics.h"

namespace attnserve::server {

// The metrics of one call: in flight from construction until Finish(), which
// counts it by status code and records its duration (and its tokens when OK).
// Finish() counts once.
class CallRecord {
 public:
  CallRecord(Metrics* metrics, absl::string_view method, std::string model);
  ~CallRecord();  // Finish(CANCELLED) if never finished

  void Finish(const grpc::Status& status, uint64_t input_tokens = 0,
              uint64_t output_tokens = 0);

 private:
  Metrics* const metrics_;
  const absl::string_view method_;
  const std::string model_;
  const absl::Time start_;
  std::atomic<bool> finished_{false};
};

}  // namespace attnserve::server

#endif  // ATTNSERVE_SERVER_CALL_RECORD_H_

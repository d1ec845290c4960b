// One call of attnserve-loadgen with its fault applied: the request it sends
// (built from the spec), how the client behaves (cancel, deadline, slow
// reads) and the status it ends with.
#ifndef ATTNSERVE_CLIENT_LOADGEN_CALLS_H_
#define ATTNSERVE_CLIENT_LOADGEN_CALLS_H_

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "attnserve/v1/attnserve.grpc.pb.h"
#include "client/channel.h"
#include "client/loadgen_config.h"
#include "client/loadgen_faults.h"

namespace attnserve::client {

namespace v1 = ::attnserve::v1;

struct CallSpec {
  RequestKind kind = RequestKind::kEncode;
  FaultKind fault = FaultKind::kNone;
  std::string model;
  std::vector<std::string> texts;
  bool truncate = true;
  uint32_t beam_size = 0;
  uint32_t max_new_tokens = 0;
  absl::Duration deadline = absl::Seconds(30);  // <= 0: none
  absl::Duration cancel_after = absl::InfiniteDuration();
  absl::Duration read_pause = absl::ZeroDuration();  // before every Read
  std::string token;
};

struct CallOutcome {
  absl::Status status;
  uint64_t input_tokens = 0;  // from the response's Usage (OK calls)
  uint64_t output_tokens = 0;
  double first_message_ms = 0;  // streams: from `start` to the first message
};

// Runs `spec` on `channel` (synchronously; a cancel fires from a helper
// thread). Invalid UTF-8 texts are sent as raw bytes (protobuf refuses to
// serialize them into a string field cleanly).
CallOutcome RunCall(grpc::Channel& channel, const CallSpec& spec,
                    std::chrono::steady_clock::time_point start);

// Runs `action` on its own thread after `delay` unless destroyed first (the
// destructor waits for a running action).
class DelayedAction {
 public:
  DelayedAction(absl::Duration delay, std::function<void()> action);
  ~DelayedAction();
  DelayedAction(const DelayedAction&) = delete;
  DelayedAction& operator=(const DelayedAction&) = delete;

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool cancelled_ = false;  // guarded by mu_
  std::thread thread_;
};

// A text of `words` words (each at least one token for any tokenizer).
std::string TextOfWords(int words);

// The bytes of an invalid-UTF-8 text (a lone 0xFF, a truncated 2-byte
// sequence and an overlong '/').
std::string InvalidUtf8Text();

// The gRPC method path of `kind`, e.g. "/attnserve.v1.Inference/Encode".
const char* MethodPath(RequestKind kind);

}  // namespace attnserve::client

#endif  // ATTNSERVE_CLIENT_LOADGEN_CALLS_H_

// attnserve-loadgen's engine: `concurrency` threads send a mix of Encode /
// Translate / TranslateStream calls, closed loop (each thread sends its next
// call when the previous one ends) or open loop at a fixed total rate, until
// the duration or request count is reached. A configurable fraction of the
// calls carries a fault (loadgen_faults.h): cancelled, short deadline,
// oversized, malformed, slow reader, abrupt disconnect.
#ifndef ATTNSERVE_CLIENT_LOADGEN_H_
#define ATTNSERVE_CLIENT_LOADGEN_H_

#include <atomic>
#include <chrono>
#include <memory>
#include <random>
#include <vector>

#include "client/channel.h"
#include "client/loadgen_calls.h"
#include "client/loadgen_config.h"
#include "client/loadgen_stats.h"

namespace attnserve::client {

class LoadGenerator {
 public:
  // Calls go to `channel` (thread-safe, shared by all threads) with the
  // deadline and token of `call`; disconnect faults open their own
  // connections to config.target.
  LoadGenerator(const LoadgenConfig& config,
                std::shared_ptr<grpc::Channel> channel, CallOptions call);

  // Runs the load to its end and returns the statistics. Call once.
  LoadgenReport Run();

 private:
  using Clock = std::chrono::steady_clock;

  void Worker(int thread_index, std::vector<RequestRecord>* records);
  // The call of `kind` with its fault and texts drawn by `rng`.
  CallSpec Draw(RequestKind kind, std::mt19937_64& rng) const;
  // Sends it; latency counts from `start`.
  RequestRecord Issue(const CallSpec& spec, std::mt19937_64& rng,
                      Clock::time_point start);
  // Runs `spec` on a connection of its own that is reset after a random
  // delay.
  CallOutcome RunDisconnected(const CallSpec& spec, std::mt19937_64& rng,
                              Clock::time_point start);
  std::vector<std::string> DrawTexts(std::mt19937_64& rng) const;

  const LoadgenConfig config_;
  const std::shared_ptr<grpc::Channel> channel_;
  const CallOptions call_;
  Clock::time_point start_;
  Clock::time_point end_;  // start_ + duration (max() when unbounded)
  std::atomic<uint64_t> next_request_{0};
  std::atomic<int64_t> max_start_lag_us_{0};
};

}  // namespace attnserve::client

#endif  // ATTNSERVE_CLIENT_LOADGEN_H_

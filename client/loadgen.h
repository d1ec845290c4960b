// attnserve-loadgen's engine: `concurrency` threads send a mix of Encode /
// Translate / TranslateStream calls, closed loop (each thread sends its next
// call when the previous one ends) or open loop at a fixed total rate, until
// the duration or request count is reached.
#ifndef ATTNSERVE_CLIENT_LOADGEN_H_
#define ATTNSERVE_CLIENT_LOADGEN_H_

#include <atomic>
#include <chrono>
#include <random>
#include <vector>

#include "client/inference_client.h"
#include "client/loadgen_config.h"
#include "client/loadgen_stats.h"

namespace attnserve::client {

class LoadGenerator {
 public:
  // `client` must outlive Run(); its stubs are shared by all threads
  // (thread-safe).
  LoadGenerator(const LoadgenConfig& config, InferenceClient* client);

  // Runs the load to its end and returns the statistics. Call once.
  LoadgenReport Run();

 private:
  using Clock = std::chrono::steady_clock;

  void Worker(int thread_index, std::vector<RequestRecord>* records);
  // Sends one call of `kind` with texts drawn by `rng`; latency counts from
  // `start`.
  RequestRecord Issue(RequestKind kind, std::mt19937_64& rng,
                      Clock::time_point start);
  std::vector<std::string> DrawTexts(std::mt19937_64& rng) const;

  const LoadgenConfig config_;
  InferenceClient* client_;
  Clock::time_point start_;
  Clock::time_point end_;  // start_ + duration (max() when unbounded)
  std::atomic<uint64_t> next_request_{0};
  std::atomic<int64_t> max_start_lag_us_{0};
};

}  // namespace attnserve::client

#endif  // ATTNSERVE_CLIENT_LOADGEN_H_

// Statistics of a load-generation run: throughput, latency percentiles, status
// codes.
#ifndef ATTNSERVE_CLIENT_LOADGEN_STATS_H_
#define ATTNSERVE_CLIENT_LOADGEN_STATS_H_

#include <cstdint>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "absl/status/status.h"
#include "client/loadgen_config.h"
#include "client/loadgen_faults.h"
#include "nlohmann/json.hpp"

namespace attnserve::client {

// One finished call.
struct RequestRecord {
  RequestKind kind = RequestKind::kEncode;
  absl::StatusCode code = absl::StatusCode::kOk;
  double latency_ms =
      0.0;  // open loop: from the scheduled start (queueing included)
  uint32_t texts = 0;
  uint64_t input_tokens = 0;  // from the response's Usage (OK calls)
  uint64_t output_tokens = 0;
  double first_message_ms = 0.0;  // stream only: time to the first message
  FaultKind fault = FaultKind::kNone;
  std::string model;    // as sent
  std::string message;  // the status message (non-OK calls)
};

// Nearest-rank percentile (p in [0, 100]) of `sorted` (ascending): the smallest
// value with at least p% of the values <= it. 0 for an empty input.
double Percentile(const std::vector<double>& sorted, double p);

struct LatencySummary {
  uint64_t count = 0;
  double mean_ms = 0, p50_ms = 0, p90_ms = 0, p99_ms = 0, max_ms = 0;
};
LatencySummary Summarize(std::vector<double> latencies_ms);

struct KindReport {
  uint64_t requests = 0;
  uint64_t ok = 0;
  LatencySummary latency;  // of the OK calls
};

// Calls of one fault kind.
struct FaultReport {
  uint64_t requests = 0;
  uint64_t unexpected = 0;  // answered with a code not proper for the fault
  std::map<std::string, uint64_t> codes;
};

// How many calls of one (kind, model, fault) ended with `code`: what a test
// compares with the server's own counters.
struct OutcomeCount {
  std::string kind;  // "encode", "translate", "stream"
  std::string model;
  std::string fault;
  std::string code;
  uint64_t count = 0;
};

struct LoadgenReport {
  double elapsed_s = 0;
  uint64_t requests = 0;
  uint64_t ok = 0;
  uint64_t texts = 0;  // of OK calls
  uint64_t input_tokens = 0;
  uint64_t output_tokens = 0;
  double requests_per_s = 0;  // all finished calls
  double ok_per_s = 0;
  double texts_per_s = 0;
  double tokens_per_s = 0;  // input + output
  double output_tokens_per_s = 0;
  LatencySummary latency;                   // of the OK calls
  LatencySummary stream_first_message;      // OK streams: time to first message
  std::map<std::string, uint64_t> codes;    // "OK", "DEADLINE_EXCEEDED", ...
  std::map<std::string, KindReport> kinds;  // "encode", "translate", "stream"
  double max_start_lag_ms = 0;  // open loop: worst lateness of a start
  uint64_t unexpected = 0;      // calls answered with an improper code
  std::map<std::string, FaultReport> faults;  // "none", "cancel", ...
  std::vector<OutcomeCount> outcomes;  // sorted by kind, model, fault, code
  std::vector<std::string> unexpected_examples;  // the first few, with messages
};

LoadgenReport BuildReport(const std::vector<RequestRecord>& records,
                          double elapsed_s, double max_start_lag_ms);
std::string FormatReport(const LoadgenReport& report);
nlohmann::json ReportToJson(const LoadgenReport& report);

}  // namespace attnserve::client

#endif  // ATTNSERVE_CLIENT_LOADGEN_STATS_H_

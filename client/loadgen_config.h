// Configuration of attnserve-loadgen: request mix, pacing, bounds and texts.
#ifndef ATTNSERVE_CLIENT_LOADGEN_CONFIG_H_
#define ATTNSERVE_CLIENT_LOADGEN_CONFIG_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "client/loadgen_faults.h"

namespace attnserve::client {

enum class RequestKind { kEncode = 0, kTranslate = 1, kTranslateStream = 2 };
inline constexpr int kNumRequestKinds = 3;

// "encode", "translate", "stream".
const char* RequestKindName(RequestKind kind);

// Relative weights of the request kinds, normalised to sum 1.
struct Mix {
  double weights[kNumRequestKinds] = {1.0, 0.0, 0.0};
  double weight(RequestKind kind) const {
    return weights[static_cast<int>(kind)];
  }
  // The kind for a uniform draw u in [0, 1).
  RequestKind Pick(double u) const;
};

// "encode=0.7,translate=0.3" (also "stream" / "translate_stream"); missing
// kinds weigh 0. Weights must be finite, >= 0 and not all 0; they are
// normalised.
absl::StatusOr<Mix> ParseMix(absl::string_view spec);

struct LoadgenConfig {
  int concurrency = 4;  // client threads, each with one call in flight
  double rate =
      0.0;  // requests/s over all threads (open loop); 0 = closed loop
  absl::Duration duration =
      absl::Seconds(10);  // 0 = bounded by `requests` only
  uint64_t requests = 0;  // 0 = bounded by `duration` only
  Mix mix;
  std::string encode_model;
  std::string translate_model;
  int texts_per_request = 1;
  uint32_t beam_size = 0;       // 0 = model default
  uint32_t max_new_tokens = 0;  // 0 = model default
  bool truncate = true;
  uint64_t seed = 1;
  std::vector<std::string> texts;  // pool the requests draw from
  FaultConfig faults;
  // Server limits the oversized faults exceed (ModelInfo.limits; loadgen_main
  // asks the server).
  uint32_t encode_max_input_tokens = 512;
  uint32_t encode_max_texts = 256;
  uint32_t translate_max_texts = 256;
  // host:port; the disconnect fault connects to it through a proxy (plaintext
  // only).
  std::string target;
};

// Checks ranges and that the load stops by itself (duration or requests
// bounded).
absl::Status ValidateConfig(const LoadgenConfig& config);

// Varied English sentences (short to long, punctuation, digits) used without
// --texts_file.
std::vector<std::string> BuiltinTexts();

// Non-empty lines of `path`; fails when it cannot be read or has none.
absl::StatusOr<std::vector<std::string>> ReadTextsFile(const std::string& path);

}  // namespace attnserve::client

#endif  // ATTNSERVE_CLIENT_LOADGEN_CONFIG_H_

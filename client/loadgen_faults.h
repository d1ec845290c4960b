// Fault injection of attnserve-loadgen: which fault a call carries, how the
// faults are drawn, and which status codes are the proper answers to each.
#ifndef ATTNSERVE_CLIENT_LOADGEN_FAULTS_H_
#define ATTNSERVE_CLIENT_LOADGEN_FAULTS_H_

#include <cstdint>
#include <random>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace attnserve::client {

enum class RequestKind;  // loadgen_config.h

enum class FaultKind {
  kNone = 0,
  kCancel,         // the client cancels the call after a random short delay
  kShortDeadline,  // the call's deadline is a few ms
  kOversizedText,  // Encode: a text over max_input_tokens, truncate=false
  kTooManyTexts,   // max_texts_per_request + 1 texts
  kEmptyTexts,     // no texts at all
  kInvalidUtf8,    // a text that is not valid UTF-8 (raw bytes on the wire)
  kUnknownModel,   // a model name the server does not serve
  kSlowReader,     // TranslateStream read with a pause before every message
  kDisconnect,     // the call's TCP connection is reset mid-call
};
inline constexpr int kNumFaultKinds = 10;

// "none", "cancel", "short_deadline", ... (the JSON / report names).
const char* FaultKindName(FaultKind fault);

// True for the faults whose calls may end on the client without the server
// answering them (cancel, short deadline, disconnect): the server may count
// such a call with another code than the client saw, or not at all.
bool ClientMayEndAlone(FaultKind fault);

// True when `code` is a proper answer to a call of `kind` carrying `fault`
// (e.g. INVALID_ARGUMENT for an empty texts list; OK or CANCELLED for a
// cancelled call). RESOURCE_EXHAUSTED is proper for every well-formed call.
bool IsExpectedCode(FaultKind fault, absl::StatusCode code);

// Fractions of the calls that carry each fault family (each in [0, 1], sum
// <= 1), and the sizes of the faults.
struct FaultConfig {
  double cancel_fraction = 0;
  double short_deadline_fraction = 0;
  double oversized_fraction = 0;  // half oversized text (Encode), half too many
  double malformed_fraction = 0;  // empty texts / invalid UTF-8 / unknown model
  bool invalid_utf8 = true;  // false: malformed calls are never invalid UTF-8
  double slow_reader_fraction = 0;  // always a TranslateStream call
  double disconnect_fraction = 0;   // on a dedicated connection, reset
  absl::Duration cancel_after_max = absl::Milliseconds(50);
  absl::Duration short_deadline_max = absl::Milliseconds(5);
  absl::Duration slow_read_pause = absl::Milliseconds(20);
  absl::Duration disconnect_after_max = absl::Milliseconds(50);
  // Faulted calls that may end on the client alone (ClientMayEndAlone) go to
  // these models when set, so that a test can serve the same folder under a
  // second name and compare the server's counters of the main names exactly.
  std::string fault_encode_model;
  std::string fault_translate_model;

  bool any() const {
    return cancel_fraction + short_deadline_fraction + oversized_fraction +
               malformed_fraction + slow_reader_fraction + disconnect_fraction >
           0;
  }
};

absl::Status ValidateFaultConfig(const FaultConfig& faults);

// Draws the fault of one call of `kind` (u uniform in [0, 1) picks the
// family, `rng` the variant). A slow reader makes the call a TranslateStream
// (`kind` is updated); an oversized text on a Translate call becomes too many
// texts (Translate always truncates).
FaultKind PickFault(const FaultConfig& faults, double u, std::mt19937_64& rng,
                    RequestKind* kind);

}  // namespace attnserve::client

#endif  // ATTNSERVE_CLIENT_LOADGEN_FAULTS_H_

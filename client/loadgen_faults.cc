#include "client/loadgen_faults.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "client/loadgen_config.h"

namespace attnserve::client {

const char* FaultKindName(FaultKind fault) {
  switch (fault) {
    case FaultKind::kNone:
      return "none";
    case FaultKind::kCancel:
      return "cancel";
    case FaultKind::kShortDeadline:
      return "short_deadline";
    case FaultKind::kOversizedText:
      return "oversized_text";
    case FaultKind::kTooManyTexts:
      return "too_many_texts";
    case FaultKind::kEmptyTexts:
      return "empty_texts";
    case FaultKind::kInvalidUtf8:
      return "invalid_utf8";
    case FaultKind::kUnknownModel:
      return "unknown_model";
    case FaultKind::kSlowReader:
      return "slow_reader";
    case FaultKind::kDisconnect:
      return "disconnect";
  }
  return "unknown";
}

bool ClientMayEndAlone(FaultKind fault) {
  return fault == FaultKind::kCancel || fault == FaultKind::kShortDeadline ||
         fault == FaultKind::kDisconnect;
}

bool IsExpectedCode(FaultKind fault, absl::StatusCode code) {
  using absl::StatusCode;
  const bool ok_or_busy =
      code == StatusCode::kOk || code == StatusCode::kResourceExhausted;
  switch (fault) {
    case FaultKind::kNone:
    case FaultKind::kSlowReader:
      return ok_or_busy;
    case FaultKind::kCancel:
      return ok_or_busy || code == StatusCode::kCancelled;
    case FaultKind::kShortDeadline:
      return ok_or_busy || code == StatusCode::kDeadlineExceeded;
    case FaultKind::kDisconnect:
      // The client sees the reset as UNAVAILABLE (or CANCELLED when gRPC
      // notices it while cancelling the stream).
      return ok_or_busy || code == StatusCode::kUnavailable ||
             code == StatusCode::kCancelled;
    case FaultKind::kOversizedText:
    case FaultKind::kTooManyTexts:
    case FaultKind::kEmptyTexts:
    case FaultKind::kInvalidUtf8:
      return code == StatusCode::kInvalidArgument;
    case FaultKind::kUnknownModel:
      return code == StatusCode::kNotFound;
  }
  return false;
}

absl::Status ValidateFaultConfig(const FaultConfig& f) {
  const double fractions[] = {f.cancel_fraction,      f.short_deadline_fraction,
                              f.oversized_fraction,   f.malformed_fraction,
                              f.slow_reader_fraction, f.disconnect_fraction};
  double sum = 0;
  for (double x : fractions) {
    if (!std::isfinite(x) || x < 0 || x > 1) {
      return absl::InvalidArgumentError("every --*_fraction must be in [0, 1]");
    }
    sum += x;
  }
  if (sum > 1 + 1e-9) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the fault fractions add up to ", sum, "; they must sum to <= 1"));
  }
  const absl::Duration durations[] = {f.cancel_after_max, f.short_deadline_max,
                                      f.slow_read_pause,
                                      f.disconnect_after_max};
  for (absl::Duration d : durations) {
    if (d < absl::ZeroDuration() || d == absl::InfiniteDuration()) {
      return absl::InvalidArgumentError("fault delays must be finite and >= 0");
    }
  }
  if (f.short_deadline_fraction > 0 &&
      f.short_deadline_max <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("--short_deadline must be > 0");
  }
  return absl::OkStatus();
}

FaultKind PickFault(const FaultConfig& f, double u, std::mt19937_64& rng,
                    RequestKind* kind) {
  double cumulative = 0;
  auto in = [&](double fraction) {
    cumulative += fraction;
    return u < cumulative;
  };
  if (in(f.cancel_fraction)) return FaultKind::kCancel;
  if (in(f.short_deadline_fraction)) return FaultKind::kShortDeadline;
  if (in(f.oversized_fraction)) {
    if (*kind == RequestKind::kEncode && rng() % 2 == 0) {
      return FaultKind::kOversizedText;
    }
    return FaultKind::kTooManyTexts;
  }
  if (in(f.malformed_fraction)) {
    switch (f.invalid_utf8 ? rng() % 3 : 2 * (rng() % 2)) {
      case 0:
        return FaultKind::kEmptyTexts;
      case 1:
        return FaultKind::kInvalidUtf8;
      default:
        return FaultKind::kUnknownModel;
    }
  }
  if (in(f.slow_reader_fraction)) {
    *kind = RequestKind::kTranslateStream;
    return FaultKind::kSlowReader;
  }
  if (in(f.disconnect_fraction)) return FaultKind::kDisconnect;
  return FaultKind::kNone;
}

}  // namespace attnserve::client

#ifndef ATTNSERVE_SERVER_LOGGING_H_
#define ATTNSERVE_SERVER_LOGGING_H_

#include "absl/strings/string_view.h"

namespace attnserve::server {

// One line per event on stderr, prefixed with UTC time and severity.
// Thread-safe (lines never interleave). This Abseil has no absl/log, hence this
// tiny helper.
enum class LogSeverity { kInfo, kWarning, kError };

void Log(LogSeverity severity, absl::string_view message);
inline void LogInfo(absl::string_view message) {
  Log(LogSeverity::kInfo, message);
}
inline void LogWarning(absl::string_view message) {
  Log(LogSeverity::kWarning, message);
}
inline void LogError(absl::string_view message) {
  Log(LogSeverity::kError, message);
}

}  // namespace attnserve::server

#endif  // ATTNSERVE_SERVER_LOGGING_H_

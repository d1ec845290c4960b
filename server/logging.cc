#include "server/logging.h"

#include <iostream>
#include <string>

#include "absl/base/const_init.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace attnserve::server {
namespace {

ABSL_CONST_INIT absl::Mutex log_mutex(absl::kConstInit);

char SeverityLetter(LogSeverity severity) {
  switch (severity) {
    case LogSeverity::kInfo:
      return 'I';
    case LogSeverity::kWarning:
      return 'W';
    case LogSeverity::kError:
      return 'E';
  }
  return '?';
}

}  // namespace

void Log(LogSeverity severity, absl::string_view message) {
  std::string line = absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ ", absl::Now(),
                                      absl::UTCTimeZone());
  line += SeverityLetter(severity);
  line += " attnserve: ";
  line.append(message.data(), message.size());
  line += '\n';
  absl::MutexLock lock(&log_mutex);
  std::cerr << line << std::flush;
}

}  // namespace attnserve::server

#include "server/termination_signals.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>

namespace attnserve::server {
namespace {

// The pipe the signal handler writes to; a handler can reach nothing but
// globals.
int signal_pipe[2] = {-1, -1};

extern "C" void OnSignal(int signal) {
  const int saved_errno = errno;
  const unsigned char byte = static_cast<unsigned char>(signal);
  (void)!write(signal_pipe[1], &byte, 1);
  errno = saved_errno;
}

}  // namespace

void InstallSignalHandlers() {
  if (signal_pipe[0] >= 0) return;
  if (pipe2(signal_pipe, O_CLOEXEC) != 0) return;
  struct sigaction action = {};
  action.sa_handler = OnSignal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  sigaction(SIGTERM, &action, nullptr);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGHUP, &action, nullptr);
}

std::optional<int> WaitForSignal(absl::Duration timeout) {
  if (signal_pipe[0] < 0) return SIGTERM;  // no pipe: treat as a stop request
  const int64_t millis = std::clamp<int64_t>(absl::ToInt64Milliseconds(timeout),
                                             0, 24 * 3600 * 1000);
  pollfd fd = {signal_pipe[0], POLLIN, 0};
  const int ready = poll(&fd, 1, static_cast<int>(millis));
  if (ready == 0 || (ready < 0 && errno == EINTR)) return std::nullopt;
  unsigned char byte = 0;
  const ssize_t n = read(signal_pipe[0], &byte, 1);
  if (n == 1) return byte;
  if (n < 0 && errno == EINTR) return std::nullopt;
  return SIGTERM;  // the pipe is gone: treat as a request to stop
}

}  // namespace attnserve::server

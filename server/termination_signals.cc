#include "server/termination_signals.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

namespace attnserve::server {
namespace {

// The pipe the signal handler writes to; a handler can reach nothing but
// globals.
int signal_pipe[2] = {-1, -1};

extern "C" void OnTerminationSignal(int signal) {
  const int saved_errno = errno;
  const unsigned char byte = static_cast<unsigned char>(signal);
  (void)!write(signal_pipe[1], &byte, 1);
  errno = saved_errno;
}

}  // namespace

void InstallTerminationHandlers() {
  if (signal_pipe[0] >= 0) return;
  if (pipe2(signal_pipe, O_CLOEXEC) != 0) return;
  struct sigaction action = {};
  action.sa_handler = OnTerminationSignal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  sigaction(SIGTERM, &action, nullptr);
  sigaction(SIGINT, &action, nullptr);
}

int WaitForTerminationSignal() {
  unsigned char byte = 0;
  while (true) {
    const ssize_t n = read(signal_pipe[0], &byte, 1);
    if (n == 1) return byte;
    if (n < 0 && errno == EINTR) continue;
    return SIGTERM;  // the pipe is gone: treat as a request to stop
  }
}

}  // namespace attnserve::server

#ifndef ATTNSERVE_SERVER_TERMINATION_SIGNALS_H_
#define ATTNSERVE_SERVER_TERMINATION_SIGNALS_H_

#include <optional>

#include "absl/time/time.h"

namespace attnserve::server {

// SIGTERM/SIGINT (drain and exit) and SIGHUP (reload models and tokens)
// handling with the self-pipe pattern: the handler only writes the signal
// number to a pipe (async-signal-safe), whichever thread it interrupts; the
// work runs as ordinary code in the thread that waits. (Blocking the signals
// and sigwait() is not enough: libraries start threads before main() that
// would not block them.) Install first thing in main().
void InstallSignalHandlers();
// Blocks until SIGTERM, SIGINT or SIGHUP arrives and returns its number, or
// returns nullopt after `timeout`.
std::optional<int> WaitForSignal(absl::Duration timeout);

}  // namespace attnserve::server

#endif  // ATTNSERVE_SERVER_TERMINATION_SIGNALS_H_

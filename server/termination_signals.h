#ifndef ATTNSERVE_SERVER_TERMINATION_SIGNALS_H_
#define ATTNSERVE_SERVER_TERMINATION_SIGNALS_H_

namespace attnserve::server {

// SIGTERM/SIGINT are taken synchronously with sigwait() rather than by a
// handler, so that the drain runs as ordinary code. Block them first thing in
// main(), before any thread starts (new threads inherit the mask), then wait
// for one of them.
void BlockTerminationSignals();
// Returns the signal number received.
int WaitForTerminationSignal();

}  // namespace attnserve::server

#endif  // ATTNSERVE_SERVER_TERMINATION_SIGNALS_H_

#ifndef ATTNSERVE_SERVER_TERMINATION_SIGNALS_H_
#define ATTNSERVE_SERVER_TERMINATION_SIGNALS_H_

namespace attnserve::server {

// SIGTERM/SIGINT handling with the self-pipe pattern: the handler only writes
// the signal number to a pipe (async-signal-safe), whichever thread it
// interrupts; the drain runs as ordinary code in the thread that waits.
// (Blocking the signals and sigwait() is not enough: libraries start threads
// before main() that would not block them.) Install first thing in main().
void InstallTerminationHandlers();
// Blocks until SIGTERM or SIGINT arrives; returns its number.
int WaitForTerminationSignal();

}  // namespace attnserve::server

#endif  // ATTNSERVE_SERVER_TERMINATION_SIGNALS_H_

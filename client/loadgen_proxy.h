// A TCP forwarder for one client channel whose connections can be reset on
// demand: attnserve-loadgen's "abrupt disconnect" fault. gRPC keeps a channel
// alive while a call uses it, so destroying the channel does not cut a call;
// resetting the TCP connections under it is what a crashed client or a broken
// network does to the server.
#ifndef ATTNSERVE_CLIENT_LOADGEN_PROXY_H_
#define ATTNSERVE_CLIENT_LOADGEN_PROXY_H_

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"

namespace attnserve::client {

class ResettableProxy {
 public:
  // Listens on 127.0.0.1 (a free port) and forwards every accepted connection
  // to `target` ("host:port", resolved now).
  static absl::StatusOr<std::unique_ptr<ResettableProxy>> Start(
      const std::string& target);
  ~ResettableProxy();  // Reset()

  ResettableProxy(const ResettableProxy&) = delete;
  ResettableProxy& operator=(const ResettableProxy&) = delete;

  // "127.0.0.1:PORT", the address clients connect to.
  const std::string& address() const { return address_; }

  // Closes every connection with a TCP reset (both the client's and the
  // server's side) and stops listening. Idempotent.
  void Reset();

 private:
  ResettableProxy(int listen_fd, int wake_read, int wake_write,
                  std::vector<char> upstream_addr, std::string address);
  void Loop();

  const int listen_fd_;
  const int wake_read_;  // Reset() writes to wake_write_ to stop Loop()
  const int wake_write_;
  const std::vector<char> upstream_addr_;  // a sockaddr of the target
  const std::string address_;
  std::thread thread_;
  bool reset_ = false;  // caller's thread only
};

}  // namespace attnserve::client

#endif  // ATTNSERVE_CLIENT_LOADGEN_PROXY_H_

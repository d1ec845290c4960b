#include "client/loadgen_proxy.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace attnserve::client {
namespace {

// Closing with SO_LINGER {1, 0} sends RST instead of FIN.
void CloseWithReset(int fd) {
  linger hard{1, 0};
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &hard, sizeof(hard));
  close(fd);
}

bool WriteAll(int fd, const char* data, size_t size) {
  while (size > 0) {
    const ssize_t n = send(fd, data, size, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

absl::StatusOr<std::vector<char>> Resolve(const std::string& target) {
  const size_t colon = target.rfind(':');
  if (colon == std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("target \"", target, "\" is not host:port"));
  }
  std::string host = target.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[')
    host = host.substr(1, host.size() - 2);
  const std::string port = target.substr(colon + 1);
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (getaddrinfo(host.c_str(), port.c_str(), &hints, &found) != 0 ||
      found == nullptr) {
    return absl::UnavailableError(
        absl::StrCat("cannot resolve target \"", target, "\""));
  }
  std::vector<char> addr(
      reinterpret_cast<char*>(found->ai_addr),
      reinterpret_cast<char*>(found->ai_addr) + found->ai_addrlen);
  freeaddrinfo(found);
  return addr;
}

}  // namespace

absl::StatusOr<std::unique_ptr<ResettableProxy>> ResettableProxy::Start(
    const std::string& target) {
  absl::StatusOr<std::vector<char>> upstream = Resolve(target);
  if (!upstream.ok()) return upstream.status();
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::InternalError("proxy: socket() failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      listen(fd, 4) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    close(fd);
    return absl::InternalError(
        absl::StrCat("proxy: cannot listen on 127.0.0.1: ", strerror(errno)));
  }
  int wake[2];
  if (pipe2(wake, O_CLOEXEC) != 0) {
    close(fd);
    return absl::InternalError("proxy: pipe2() failed");
  }
  std::unique_ptr<ResettableProxy> proxy(
      new ResettableProxy(fd, wake[0], wake[1], *std::move(upstream),
                          absl::StrCat("127.0.0.1:", ntohs(addr.sin_port))));
  proxy->thread_ = std::thread(&ResettableProxy::Loop, proxy.get());
  return proxy;
}

ResettableProxy::ResettableProxy(int listen_fd, int wake_read, int wake_write,
                                 std::vector<char> upstream_addr,
                                 std::string address)
    : listen_fd_(listen_fd),
      wake_read_(wake_read),
      wake_write_(wake_write),
      upstream_addr_(std::move(upstream_addr)),
      address_(std::move(address)) {}

ResettableProxy::~ResettableProxy() {
  Reset();
  close(wake_read_);
  close(wake_write_);
}

void ResettableProxy::Reset() {
  if (reset_) return;
  reset_ = true;
  const char byte = 1;
  (void)!write(wake_write_, &byte, 1);
  thread_.join();
}

// Forwards bytes both ways with poll(); a half-close is passed on as
// shutdown(SHUT_WR). On wake-up every socket is closed with a reset.
void ResettableProxy::Loop() {
  struct Pipe {
    int from, to;
    bool open = true;
  };
  std::vector<Pipe> pipes;  // pairs: client->server, server->client
  std::vector<int> sockets;
  char buffer[64 * 1024];
  while (true) {
    std::vector<pollfd> fds = {{wake_read_, POLLIN, 0},
                               {listen_fd_, POLLIN, 0}};
    for (const Pipe& p : pipes)
      fds.push_back({p.open ? p.from : -1, POLLIN, 0});
    if (poll(fds.data(), fds.size(), -1) < 0 && errno != EINTR) break;
    if (fds[0].revents != 0) break;
    // Pipes accepted below were not polled: fds covers only these.
    const size_t polled = pipes.size();
    if (fds[1].revents & POLLIN) {
      const int client = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (client >= 0) {
        const int server = socket(
            reinterpret_cast<const sockaddr*>(upstream_addr_.data())->sa_family,
            SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (server >= 0 &&
            connect(server,
                    reinterpret_cast<const sockaddr*>(upstream_addr_.data()),
                    static_cast<socklen_t>(upstream_addr_.size())) == 0) {
          pipes.push_back({client, server});
          pipes.push_back({server, client});
          sockets.push_back(client);
          sockets.push_back(server);
        } else {
          if (server >= 0) close(server);
          CloseWithReset(client);
        }
      }
    }
    for (size_t i = 0; i < polled; ++i) {
      if (fds[i + 2].revents == 0) continue;
      Pipe& p = pipes[i];
      const ssize_t n = recv(p.from, buffer, sizeof(buffer), 0);
      if (n > 0 && WriteAll(p.to, buffer, static_cast<size_t>(n))) continue;
      if (n < 0 && errno == EINTR) continue;
      p.open = false;
      shutdown(p.to, SHUT_WR);
    }
  }
  for (int fd : sockets) CloseWithReset(fd);
  CloseWithReset(listen_fd_);
}

}  // namespace attnserve::client

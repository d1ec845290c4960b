#include "tests/client/server_process_util.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "client/channel.h"
#include "client/inference_client.h"

namespace attnserve::testing {
namespace {

// Closes a file descriptor on scope exit.
class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() { Reset(); }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  void Reset() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }

 private:
  int fd_;
};

std::vector<char*> CArgv(const std::vector<std::string>& argv) {
  std::vector<char*> c;
  for (const std::string& a : argv) c.push_back(const_cast<char*>(a.c_str()));
  c.push_back(nullptr);
  return c;
}

// Waits for `pid` up to `timeout`; returns its exit code, or -1 (signal / still
// running: then it is killed).
int WaitFor(pid_t pid, absl::Duration timeout) {
  const absl::Time end = absl::Now() + timeout;
  while (true) {
    int status = 0;
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    if (absl::Now() > end) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

}  // namespace

int FreePort() {
  Fd s(socket(AF_INET, SOCK_STREAM, 0));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (bind(s.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    return 0;
  }
  socklen_t len = sizeof(addr);
  getsockname(s.get(), reinterpret_cast<sockaddr*>(&addr), &len);
  return ntohs(addr.sin_port);
}

std::string BinPath(const std::string& name) {
  return absl::StrCat(ATTNSERVE_BIN_DIR, "/", name);
}

absl::StatusOr<ProcessResult> RunProcess(const std::vector<std::string>& argv,
                                         const std::string& stdin_text,
                                         absl::Duration timeout) {
  int in[2], out[2], err[2];
  if (pipe(in) != 0 || pipe(out) != 0 || pipe(err) != 0) {
    return absl::InternalError("pipe failed");
  }
  std::vector<char*> cargv = CArgv(argv);
  pid_t pid = fork();
  if (pid < 0) return absl::InternalError("fork failed");
  if (pid == 0) {
    dup2(in[0], 0);
    dup2(out[1], 1);
    dup2(err[1], 2);
    for (int fd : {in[0], in[1], out[0], out[1], err[0], err[1]}) close(fd);
    execv(cargv[0], cargv.data());
    _exit(127);
  }
  close(in[0]);
  close(out[1]);
  close(err[1]);
  Fd in_w(in[1]), out_r(out[0]), err_r(err[0]);
  // Small inputs only: the child reads stdin before it writes much, so a
  // blocking write of the whole text then reading both pipes with poll cannot
  // deadlock in these tests.
  signal(SIGPIPE, SIG_IGN);
  if (!stdin_text.empty()) {
    (void)!write(in_w.get(), stdin_text.data(), stdin_text.size());
  }
  in_w.Reset();
  ProcessResult result;
  const absl::Time end = absl::Now() + timeout;
  bool out_open = true, err_open = true;
  char buf[4096];
  while ((out_open || err_open) && absl::Now() < end) {
    pollfd fds[2] = {{out_r.get(), POLLIN, 0}, {err_r.get(), POLLIN, 0}};
    if (poll(fds, 2, 100) <= 0) continue;
    for (int k = 0; k < 2; ++k) {
      bool& open = k == 0 ? out_open : err_open;
      if (!open || !(fds[k].revents & (POLLIN | POLLHUP))) continue;
      ssize_t n = read(fds[k].fd, buf, sizeof(buf));
      if (n <= 0) {
        open = false;
      } else {
        (k == 0 ? result.out : result.err).append(buf, n);
      }
    }
  }
  result.exit_code =
      WaitFor(pid, std::max(absl::ZeroDuration(), end - absl::Now()));
  return result;
}

ServerProcess::~ServerProcess() {
  if (pid_ > 0) (void)Stop();
}

absl::Status ServerProcess::Start(const std::vector<std::string>& extra_flags,
                                  absl::Duration wait) {
  // ATTNSERVE_SERVER_BIN overrides the build's own server (e.g. one built
  // elsewhere).
  const char* override_bin = std::getenv("ATTNSERVE_SERVER_BIN");
  const std::string exe = override_bin != nullptr && *override_bin != '\0'
                              ? std::string(override_bin)
                              : BinPath("attnserve-server");
  if (access(exe.c_str(), X_OK) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat(exe, " is missing: build the attnserve-server target"));
  }
  port_ = FreePort();
  const std::string data = ATTNSERVE_TEST_DATA_DIR;
  std::vector<std::string> argv = {
      exe,
      "--host=127.0.0.1",
      absl::StrCat("--port=", port_),
      "--metrics_address=127.0.0.1",
      absl::StrCat("--metrics_port=", FreePort()),
      absl::StrCat("--model=", kEncoder, "=", data, "/bert-tiny"),
      "--threads=1"};
  if (kTranslatorAvailable) {
    argv.push_back(
        absl::StrCat("--model=", kTranslator, "=", data, "/marian-tiny"));
  }
  argv.insert(argv.end(), extra_flags.begin(), extra_flags.end());
  char log_template[] = "/tmp/attnserve-client-test-server-XXXXXX";
  int log_fd = mkstemp(log_template);
  if (log_fd < 0) return absl::InternalError("mkstemp failed");
  log_path_ = log_template;
  std::vector<char*> cargv = CArgv(argv);
  pid_ = fork();
  if (pid_ < 0) return absl::InternalError("fork failed");
  if (pid_ == 0) {
    dup2(log_fd, 1);
    dup2(log_fd, 2);
    close(log_fd);
    execv(cargv[0], cargv.data());
    _exit(127);
  }
  close(log_fd);

  client::ConnectionOptions connection;
  connection.target = target();
  client::CallOptions call;
  call.deadline = absl::Seconds(2);
  client::InferenceClient probe(*client::MakeChannel(connection), call);
  const absl::Time end = absl::Now() + wait;
  std::string last = "no answer";
  while (absl::Now() < end) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return absl::InternalError(
          absl::StrCat("attnserve-server exited at start-up: ", LogTail()));
    }
    auto health = probe.Health("");
    if (health.ok() &&
        *health == grpc::health::v1::HealthCheckResponse::SERVING) {
      return absl::OkStatus();
    }
    last = health.ok() ? absl::StrCat("status ", *health)
                       : health.status().ToString();
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return absl::DeadlineExceededError(
      absl::StrCat("attnserve-server not SERVING within ",
                   absl::FormatDuration(wait), " (", last, "): ", LogTail()));
}

absl::StatusOr<int> ServerProcess::Stop(absl::Duration wait) {
  if (pid_ <= 0) return absl::FailedPreconditionError("server not running");
  kill(pid_, SIGTERM);
  const int code = WaitFor(pid_, wait);
  pid_ = -1;
  return code;
}

std::string ServerProcess::LogTail(size_t bytes) const {
  std::ifstream in(log_path_);
  std::stringstream content;
  content << in.rdbuf();
  const std::string s = content.str();
  return s.size() <= bytes ? s : s.substr(s.size() - bytes);
}

}  // namespace attnserve::testing

// Helpers of the client end-to-end tests: free ports, running a program with
// captured output, and an attnserve-server child process on 127.0.0.1 that is
// stopped with SIGTERM.
#ifndef ATTNSERVE_TESTS_CLIENT_SERVER_PROCESS_UTIL_H_
#define ATTNSERVE_TESTS_CLIENT_SERVER_PROCESS_UTIL_H_

#include <sys/types.h>

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace attnserve::testing {

// A TCP port on 127.0.0.1 that was free a moment ago.
int FreePort();

struct ProcessResult {
  int exit_code = -1;  // -1 when killed by a signal or timed out
  std::string out;
  std::string err;
};

// Runs argv[0] (a path) with `argv`, feeding `stdin_text` (stdin is a pipe,
// never a tty); kills it after `timeout`.
absl::StatusOr<ProcessResult> RunProcess(
    const std::vector<std::string>& argv, const std::string& stdin_text = "",
    absl::Duration timeout = absl::Seconds(60));

// ASan and TSan builds cannot load Marian models (the sentencepiece shim needs
// dlopen(RTLD_DEEPBIND), see core/tokenizers/sentencepiece.h): there the test
// server serves only the encoder and tests that translate skip.
#if defined(ATTNSERVE_ASAN) || defined(ATTNSERVE_TSAN)
inline constexpr bool kTranslatorAvailable = false;
#else
inline constexpr bool kTranslatorAvailable = true;
#endif
inline constexpr char kNoTranslatorReason[] =
    "sanitizer build: Marian models cannot load (sentencepiece shim needs "
    "RTLD_DEEPBIND)";
#define SKIP_WITHOUT_TRANSLATOR() \
  if (!kTranslatorAvailable) GTEST_SKIP() << kNoTranslatorReason

// attnserve-server from ATTNSERVE_BIN_DIR serving the golden bert-tiny as
// `encoder_name` and marian-tiny as `translator_name`.
class ServerProcess {
 public:
  ServerProcess() = default;
  ~ServerProcess();
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  // Starts the server with `extra_flags` and waits until grpc.health.v1 says
  // SERVING.
  absl::Status Start(const std::vector<std::string>& extra_flags = {},
                     absl::Duration wait = absl::Seconds(90));
  // SIGTERM, then waits; returns the exit code.
  absl::StatusOr<int> Stop(absl::Duration wait = absl::Seconds(30));

  std::string target() const { return "127.0.0.1:" + std::to_string(port_); }
  const std::string& log_path() const { return log_path_; }
  std::string LogTail(size_t bytes = 2000) const;

  static constexpr const char* kEncoder = "g";
  // Served only when kTranslatorAvailable.
  static constexpr const char* kTranslator = "t";

 private:
  pid_t pid_ = -1;
  int port_ = 0;
  std::string log_path_;
};

// Path of a program in ATTNSERVE_BIN_DIR.
std::string BinPath(const std::string& name);

}  // namespace attnserve::testing

#endif  // ATTNSERVE_TESTS_CLIENT_SERVER_PROCESS_UTIL_H_

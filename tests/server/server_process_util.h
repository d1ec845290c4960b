// Helpers of the server integration tests: an attnserve-server child process on
// 127.0.0.1 (ephemeral ports read from its log), its /metrics text,
// grpc.health.v1 and reflection probes over generic gRPC calls, and the golden
// reference data.
#ifndef ATTNSERVE_TESTS_SERVER_SERVER_PROCESS_UTIL_H_
#define ATTNSERVE_TESTS_SERVER_SERVER_PROCESS_UTIL_H_

#include <sys/types.h>

#include <future>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "attnserve/v1/attnserve.grpc.pb.h"
#include "google/protobuf/descriptor.pb.h"
#include "grpcpp/grpcpp.h"

namespace attnserve::server::testing {

std::string GoldenDir(
    const std::string& model);  // ATTNSERVE_TEST_DATA_DIR/<model>

// The real all-MiniLM-L6-v2 folder that deploy/install-deps.sh links into
// models/; empty when it is not there.
std::string MiniLmDir();

// An Encode call of `texts` texts of 256 tokens for `model`: served by the
// real MiniLM with --threads=1 it keeps the batcher's worker busy for seconds,
// so that texts sent meanwhile queue up behind it (a text that reaches an
// idle worker starts at once and never waits in the queue).
v1::EncodeRequest BlockerRequest(const std::string& model, int texts = 32);

// An Encode call sent without waiting for it (gRPC's callback API).
class PendingEncode {
 public:
  PendingEncode(v1::Inference::Stub& stub, v1::EncodeRequest request,
                absl::Duration timeout = absl::Seconds(120));
  grpc::Status Wait() { return done_.get_future().get(); }  // once
  const v1::EncodeResponse& response() const { return response_; }

 private:
  v1::EncodeRequest request_;
  v1::EncodeResponse response_;
  grpc::ClientContext context_;
  std::promise<grpc::Status> done_;
};

class ServerProcess {
 public:
  ServerProcess() = default;
  ~ServerProcess();  // SIGKILL if still running
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  // Starts build/bin/attnserve-server on 127.0.0.1 with ports 0 plus `flags`
  // and waits until it logged its ports (not until SERVING: see WaitHealth).
  absl::Status Start(const std::vector<std::string>& flags,
                     absl::Duration wait = absl::Seconds(60));
  // Waits until grpc.health.v1 reports `status` (1 SERVING, 2 NOT_SERVING) for
  // `service`.
  absl::Status WaitHealth(const std::string& service, int status,
                          absl::Duration wait = absl::Seconds(60));
  // SIGTERM, then waits; the exit code (-1 when killed by a signal).
  absl::StatusOr<int> Stop(absl::Duration wait = absl::Seconds(60));
  void SendSigterm();
  // Sends `signal` (e.g. SIGHUP) to the running server.
  absl::Status Signal(int signal) const;
  absl::StatusOr<int> WaitExit(absl::Duration wait);

  std::shared_ptr<grpc::Channel> channel() const { return channel_; }
  std::unique_ptr<v1::Inference::Stub> stub() const {
    return v1::Inference::NewStub(channel_);
  }
  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  int metrics_port() const { return metrics_port_; }
  std::string Log() const;

 private:
  pid_t pid_ = -1;
  int port_ = 0;
  int metrics_port_ = 0;
  std::string log_path_;
  std::shared_ptr<grpc::Channel> channel_;
};

// grpc.health.v1.Health/Check: the status enum (0 UNKNOWN, 1 SERVING, 2
// NOT_SERVING, 3 SERVICE_UNKNOWN), or the call's error.
absl::StatusOr<int> HealthCheck(grpc::Channel& channel,
                                const std::string& service);
// Services listed by grpc.reflection.v1alpha.ServerReflection.
absl::StatusOr<std::vector<std::string>> ReflectionServices(
    grpc::Channel& channel);
// The files reflection answers to file_containing_symbol `symbol` (the file
// that defines it, then its dependencies), as grpcurl asks for them;
// NOT_FOUND with the server's message when reflection answers with an error.
absl::StatusOr<std::vector<google::protobuf::FileDescriptorProto>>
ReflectionFilesContainingSymbol(grpc::Channel& channel,
                                const std::string& symbol);
// GET http://127.0.0.1:port/metrics.
absl::StatusOr<std::string> FetchMetrics(int port);
// Value of the sample line that starts with `series` exactly (e.g.
// name{labels}); NaN if none.
double MetricValue(const std::string& text, const std::string& series);
// promtool check metrics on `text`: its exit code and output.
std::pair<int, std::string> PromtoolCheck(const std::string& text);

// Float tensors of a golden tensors.safetensors (F32 only; I64 ones are
// skipped).
absl::StatusOr<std::map<std::string, std::vector<float>>> ReadF32Tensors(
    const std::string& path);

}  // namespace attnserve::server::testing

#endif  // ATTNSERVE_TESTS_SERVER_SERVER_PROCESS_UTIL_H_

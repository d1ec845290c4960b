#include "tests/server/server_process_util.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>
#include <regex>
#include <sstream>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "google/protobuf/descriptor.pb.h"
#include "google/protobuf/unknown_field_set.h"
#include "grpcpp/generic/generic_stub.h"
#include "nlohmann/json.hpp"

namespace attnserve::server::testing {
namespace {

grpc::ByteBuffer ToByteBuffer(const std::string& bytes) {
  grpc::Slice slice(bytes);
  return grpc::ByteBuffer(&slice, 1);
}

std::string FromByteBuffer(const grpc::ByteBuffer& buffer) {
  std::vector<grpc::Slice> slices;
  (void)buffer.Dump(&slices);
  std::string out;
  for (const grpc::Slice& s : slices)
    out.append(reinterpret_cast<const char*>(s.begin()), s.size());
  return out;
}

// Waits for `tag` on `cq`; false when the operation failed.
bool Await(grpc::CompletionQueue& cq, void* tag) {
  void* got = nullptr;
  bool ok = false;
  if (!cq.Next(&got, &ok)) return false;
  return got == tag && ok;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

std::string GoldenDir(const std::string& model) {
  return std::string(ATTNSERVE_TEST_DATA_DIR) + "/" + model;
}

std::string MiniLmDir() {
  const std::string dir =
      std::string(ATTNSERVE_SOURCE_DIR) + "/models/all-MiniLM-L6-v2";
  return access((dir + "/model.safetensors").c_str(), R_OK) == 0 ? dir : "";
}

PendingEncode::PendingEncode(v1::Inference::Stub& stub,
                             v1::EncodeRequest request, absl::Duration timeout)
    : request_(std::move(request)) {
  context_.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  stub.async()->Encode(
      &context_, &request_, &response_,
      [this](grpc::Status status) { done_.set_value(status); });
}

v1::EncodeRequest BlockerRequest(const std::string& model, int texts) {
  std::string text;
  for (int i = 0; i < 254; ++i) text += "word ";
  v1::EncodeRequest request;
  request.set_model(model);
  request.set_truncate(true);
  for (int i = 0; i < texts; ++i) request.add_texts(text);
  return request;
}

ServerProcess::~ServerProcess() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  if (!log_path_.empty()) unlink(log_path_.c_str());
}

absl::Status ServerProcess::Start(const std::vector<std::string>& flags,
                                  absl::Duration wait) {
  char log_template[] = "/tmp/attnserve-server-test-XXXXXX";
  const int log_fd = mkstemp(log_template);
  if (log_fd < 0) return absl::InternalError("mkstemp failed");
  log_path_ = log_template;
  std::vector<std::string> args = {
      std::string(ATTNSERVE_BIN_DIR) + "/attnserve-server", "--host=127.0.0.1",
      "--port=0", "--metrics_address=127.0.0.1", "--metrics_port=0"};
  args.insert(args.end(), flags.begin(), flags.end());
  pid_ = fork();
  if (pid_ < 0) return absl::InternalError("fork failed");
  if (pid_ == 0) {
    dup2(log_fd, STDOUT_FILENO);
    dup2(log_fd, STDERR_FILENO);
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(log_fd);
  const std::regex grpc_re("gRPC listening on 127\\.0\\.0\\.1:(\\d+)");
  const std::regex metrics_re(
      "metrics on http://127\\.0\\.0\\.1:(\\d+)/metrics");
  const absl::Time until = absl::Now() + wait;
  while (absl::Now() < until) {
    const std::string log = Log();
    std::smatch g, m;
    if (std::regex_search(log, g, grpc_re) &&
        std::regex_search(log, m, metrics_re)) {
      port_ = std::stoi(g[1]);
      metrics_port_ = std::stoi(m[1]);
      channel_ = grpc::CreateChannel(absl::StrCat("127.0.0.1:", port_),
                                     grpc::InsecureChannelCredentials());
      return absl::OkStatus();
    }
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return absl::InternalError(
          absl::StrCat("server exited at start-up: ", log));
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
  return absl::DeadlineExceededError(
      absl::StrCat("server logged no ports: ", Log()));
}

absl::Status ServerProcess::WaitHealth(const std::string& service, int status,
                                       absl::Duration wait) {
  const absl::Time until = absl::Now() + wait;
  std::string last;
  while (absl::Now() < until) {
    absl::StatusOr<int> got = HealthCheck(*channel_, service);
    if (got.ok() && *got == status) return absl::OkStatus();
    last = got.ok() ? absl::StrCat("status ", *got) : got.status().ToString();
    absl::SleepFor(absl::Milliseconds(100));
  }
  return absl::DeadlineExceededError(absl::StrCat(
      "health '", service, "' not ", status, " (", last, "): ", Log()));
}

void ServerProcess::SendSigterm() {
  if (pid_ > 0) kill(pid_, SIGTERM);
}

absl::StatusOr<int> ServerProcess::WaitExit(absl::Duration wait) {
  const absl::Time until = absl::Now() + wait;
  while (absl::Now() < until) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      const int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      // The log is deleted with this object: show it while the failure
      // (e.g. a sanitizer report, exit 66) can still be read.
      if (code != 0)
        std::fprintf(stderr, "server exited with %d; its log:\n%s\n", code,
                     Log().c_str());
      return code;
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  return absl::DeadlineExceededError("server did not exit in time");
}

absl::StatusOr<int> ServerProcess::Stop(absl::Duration wait) {
  if (pid_ <= 0) return absl::FailedPreconditionError("server not running");
  SendSigterm();
  return WaitExit(wait);
}

std::string ServerProcess::Log() const { return ReadFile(log_path_); }

absl::StatusOr<int> HealthCheck(grpc::Channel& channel,
                                const std::string& service) {
  google::protobuf::UnknownFieldSet request;
  request.AddLengthDelimited(1, service);  // HealthCheckRequest.service
  std::string bytes;
  request.SerializeToString(&bytes);
  grpc::GenericStub stub(
      std::shared_ptr<grpc::Channel>(&channel, [](grpc::Channel*) {}));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(5));
  grpc::CompletionQueue cq;
  auto call = stub.PrepareUnaryCall(&context, "/grpc.health.v1.Health/Check",
                                    ToByteBuffer(bytes), &cq);
  call->StartCall();
  grpc::ByteBuffer response;
  grpc::Status status;
  call->Finish(&response, &status, reinterpret_cast<void*>(1));
  Await(cq, reinterpret_cast<void*>(1));
  if (!status.ok()) {
    return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                        status.error_message());
  }
  google::protobuf::UnknownFieldSet fields;
  fields.ParseFromString(FromByteBuffer(response));
  for (int i = 0; i < fields.field_count(); ++i) {
    if (fields.field(i).number() == 1)
      return static_cast<int>(fields.field(i).varint());
  }
  return 0;  // proto3 default: UNKNOWN
}

namespace {

// One grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo exchange:
// sends the ServerReflectionRequest `request`, returns the one
// ServerReflectionResponse (serialized).
absl::StatusOr<std::string> ReflectionExchange(
    grpc::Channel& channel, const google::protobuf::UnknownFieldSet& request) {
  std::string bytes;
  request.SerializeToString(&bytes);
  grpc::GenericStub stub(
      std::shared_ptr<grpc::Channel>(&channel, [](grpc::Channel*) {}));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(10));
  grpc::CompletionQueue cq;
  auto call = stub.PrepareCall(
      &context,
      "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", &cq);
  void* tag = reinterpret_cast<void*>(1);
  call->StartCall(tag);
  if (!Await(cq, tag))
    return absl::UnavailableError("reflection call did not start");
  grpc::ByteBuffer out = ToByteBuffer(bytes);
  call->Write(out, tag);
  if (!Await(cq, tag)) return absl::UnavailableError("reflection write failed");
  call->WritesDone(tag);
  Await(cq, tag);
  grpc::ByteBuffer in;
  call->Read(&in, tag);
  const bool read_ok = Await(cq, tag);
  grpc::Status status;
  call->Finish(&status, tag);
  Await(cq, tag);
  if (!read_ok)
    return absl::UnavailableError("no reflection answer: " +
                                  status.error_message());
  return FromByteBuffer(in);
}

// The fields of ReflectionExchange's answer to `request`.
absl::Status ReflectionFields(grpc::Channel& channel,
                              const google::protobuf::UnknownFieldSet& request,
                              google::protobuf::UnknownFieldSet* response) {
  absl::StatusOr<std::string> bytes = ReflectionExchange(channel, request);
  if (!bytes.ok()) return bytes.status();
  if (!response->ParseFromString(*bytes))
    return absl::DataLossError("unparsable ServerReflectionResponse");
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::vector<std::string>> ReflectionServices(
    grpc::Channel& channel) {
  google::protobuf::UnknownFieldSet request;
  request.AddLengthDelimited(7, "");  // ServerReflectionRequest.list_services
  google::protobuf::UnknownFieldSet fields;
  if (absl::Status s = ReflectionFields(channel, request, &fields); !s.ok())
    return s;
  std::vector<std::string> names;
  for (int i = 0; i < fields.field_count(); ++i) {
    if (fields.field(i).number() != 6) continue;  // list_services_response
    google::protobuf::UnknownFieldSet list;
    list.ParseFromString(fields.field(i).length_delimited());
    for (int j = 0; j < list.field_count(); ++j) {
      google::protobuf::UnknownFieldSet service;
      service.ParseFromString(list.field(j).length_delimited());
      for (int k = 0; k < service.field_count(); ++k) {
        if (service.field(k).number() == 1)
          names.push_back(service.field(k).length_delimited());
      }
    }
  }
  return names;
}

absl::StatusOr<std::vector<google::protobuf::FileDescriptorProto>>
ReflectionFilesContainingSymbol(grpc::Channel& channel,
                                const std::string& symbol) {
  google::protobuf::UnknownFieldSet request;
  // ServerReflectionRequest.file_containing_symbol
  request.AddLengthDelimited(4, symbol);
  google::protobuf::UnknownFieldSet fields;
  if (absl::Status s = ReflectionFields(channel, request, &fields); !s.ok())
    return s;
  std::vector<google::protobuf::FileDescriptorProto> files;
  for (int i = 0; i < fields.field_count(); ++i) {
    const google::protobuf::UnknownField& field = fields.field(i);
    google::protobuf::UnknownFieldSet inner;
    if (field.type() != google::protobuf::UnknownField::TYPE_LENGTH_DELIMITED ||
        !inner.ParseFromString(field.length_delimited())) {
      continue;
    }
    if (field.number() == 7) {  // error_response: error_code, error_message
      std::string message;
      for (int j = 0; j < inner.field_count(); ++j) {
        if (inner.field(j).number() == 2)
          message = inner.field(j).length_delimited();
      }
      return absl::NotFoundError(
          absl::StrCat("reflection error for '", symbol, "': ", message));
    }
    if (field.number() != 4) continue;  // file_descriptor_response
    for (int j = 0; j < inner.field_count(); ++j) {
      if (inner.field(j).number() != 1) continue;  // file_descriptor_proto
      google::protobuf::FileDescriptorProto file;
      if (!file.ParseFromString(inner.field(j).length_delimited()))
        return absl::DataLossError("unparsable FileDescriptorProto");
      files.push_back(std::move(file));
    }
  }
  return files;
}

absl::StatusOr<std::string> FetchMetrics(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return absl::InternalError("socket failed");
  timeval timeout{10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return absl::UnavailableError(
        absl::StrCat("cannot connect to metrics port ", port));
  }
  const std::string request =
      "GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
  (void)!write(fd, request.data(), request.size());
  std::string response;
  char buffer[65536];
  ssize_t n;
  while ((n = read(fd, buffer, sizeof(buffer))) > 0) response.append(buffer, n);
  close(fd);
  const size_t body = response.find("\r\n\r\n");
  if (body == std::string::npos)
    return absl::InternalError("malformed HTTP answer");
  return response.substr(body + 4);
}

double MetricValue(const std::string& text, const std::string& series) {
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (line.size() > series.size() &&
        line.substr(0, series.size()) == series && line[series.size()] == ' ') {
      double value = 0;
      if (absl::SimpleAtod(line.substr(series.size() + 1), &value))
        return value;
    }
  }
  return std::numeric_limits<double>::quiet_NaN();
}

std::pair<int, std::string> PromtoolCheck(const std::string& text) {
  char path[] = "/tmp/attnserve-metrics-XXXXXX";
  const int fd = mkstemp(path);
  (void)!write(fd, text.data(), text.size());
  close(fd);
  const std::string command =
      absl::StrCat("promtool check metrics < ", path, " 2>&1");
  FILE* pipe = popen(command.c_str(), "r");
  std::string output;
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof(buffer), pipe)) > 0)
    output.append(buffer, n);
  const int status = pclose(pipe);
  unlink(path);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

absl::StatusOr<std::map<std::string, std::vector<float>>> ReadF32Tensors(
    const std::string& path) {
  const std::string data = ReadFile(path);
  if (data.size() < 8) return absl::NotFoundError("cannot read " + path);
  uint64_t header_size = 0;
  std::memcpy(&header_size, data.data(), 8);
  const nlohmann::json header =
      nlohmann::json::parse(data.substr(8, header_size));
  const char* base = data.data() + 8 + header_size;
  std::map<std::string, std::vector<float>> tensors;
  for (auto it = header.begin(); it != header.end(); ++it) {
    if (it.key() == "__metadata__" || it.value()["dtype"] != "F32") continue;
    const size_t begin = it.value()["data_offsets"][0];
    const size_t end = it.value()["data_offsets"][1];
    std::vector<float> values((end - begin) / sizeof(float));
    std::memcpy(values.data(), base + begin, end - begin);
    tensors[it.key()] = std::move(values);
  }
  return tensors;
}

absl::Status ServerProcess::Signal(int signal) const {
  if (pid_ <= 0) return absl::FailedPreconditionError("server not started");
  if (kill(pid_, signal) != 0) return absl::InternalError("kill failed");
  return absl::OkStatus();
}

}  // namespace attnserve::server::testing

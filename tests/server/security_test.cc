// The real attnserve-server's hardening options: TLS and mutual TLS with
// certificates made here by the openssl CLI, start-up errors naming the bad
// file, bearer tokens (and their SIGHUP reload) with health/reflection left
// open, invalid UTF-8 as INVALID_ARGUMENT naming the field, and the message
// size limit.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gmock/gmock.h"
#include "google/protobuf/unknown_field_set.h"
#include "grpcpp/generic/generic_stub.h"
#include "gtest/gtest.h"
#include "tests/server/server_process_util.h"

namespace attnserve::server::testing {
namespace {

using ::testing::HasSubstr;

constexpr char kUnauthenticated[] =
    "missing or invalid bearer token (send 'authorization: Bearer <token>')";

std::chrono::system_clock::time_point In(int seconds) {
  return std::chrono::system_clock::now() + std::chrono::seconds(seconds);
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void WriteFile(const std::string& path, const std::string& content) {
  std::ofstream(path, std::ios::binary) << content;
}

// Runs a shell command; its exit code and output (stdout and stderr).
std::pair<int, std::string> RunShell(const std::string& command) {
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  std::string output;
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof(buffer), pipe)) > 0)
    output.append(buffer, n);
  const int status = pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

// A CA, a server certificate for IP 127.0.0.1 and a client certificate, all
// made by the openssl CLI in a temporary directory.
class Certificates {
 public:
  Certificates() {
    char dir[] = "/tmp/attnserve-certs-XXXXXX";
    dir_ = mkdtemp(dir);
    WriteFile(Path("server.ext"), "subjectAltName=IP:127.0.0.1\n");
    const std::vector<std::string> steps = {
        "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=test-ca "
        "-keyout ca.key -out ca.crt",
        Leaf("server", "-extfile server.ext"),
        Leaf("client", ""),
    };
    for (const std::string& step : steps) {
      auto [code, output] = RunShell(absl::StrCat("cd ", dir_, " && ", step));
      if (code != 0) error_ += absl::StrCat(step, ": ", output, "\n");
    }
  }
  ~Certificates() { RunShell("rm -rf " + dir_); }

  const std::string& error() const { return error_; }
  std::string Path(const std::string& name) const { return dir_ + "/" + name; }
  std::string Pem(const std::string& name) const {
    return ReadFile(Path(name));
  }

 private:
  static std::string Leaf(const std::string& name, const std::string& ext) {
    return absl::StrCat(
        "openssl req -newkey rsa:2048 -nodes -subj /CN=", name, " -keyout ",
        name, ".key -out ", name, ".csr && openssl x509 -req -in ", name,
        ".csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 -out ", name,
        ".crt ", ext);
  }

  std::string dir_;
  std::string error_;
};

std::shared_ptr<grpc::Channel> TlsChannel(const ServerProcess& server,
                                          const Certificates& certs,
                                          bool client_certificate) {
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = certs.Pem("ca.crt");
  if (client_certificate) {
    ssl.pem_cert_chain = certs.Pem("client.crt");
    ssl.pem_private_key = certs.Pem("client.key");
  }
  return grpc::CreateChannel(absl::StrCat("127.0.0.1:", server.port()),
                             grpc::SslCredentials(ssl));
}

absl::Status WaitServing(grpc::Channel& channel, const ServerProcess& server) {
  const absl::Time until = absl::Now() + absl::Seconds(60);
  while (absl::Now() < until) {
    absl::StatusOr<int> status = HealthCheck(channel, "");
    if (status.ok() && *status == 1) return absl::OkStatus();
    absl::SleepFor(absl::Milliseconds(100));
  }
  return absl::DeadlineExceededError("not SERVING: " + server.Log());
}

grpc::Status Encode(grpc::Channel& channel, const std::string& token = "") {
  v1::EncodeRequest request;
  request.set_model("enc");
  request.add_texts("hello world");
  v1::EncodeResponse response;
  grpc::ClientContext context;
  context.set_deadline(In(60));
  if (!token.empty()) context.AddMetadata("authorization", token);
  return v1::Inference::NewStub(
             std::shared_ptr<grpc::Channel>(&channel, [](grpc::Channel*) {}))
      ->Encode(&context, request, &response);
}

// A unary Inference call with a hand-made request, so that it can carry what
// a generated client would not send (e.g. a string field that is not UTF-8).
grpc::Status RawCall(grpc::Channel& channel, const std::string& method,
                     const std::string& request) {
  grpc::GenericStub stub(
      std::shared_ptr<grpc::Channel>(&channel, [](grpc::Channel*) {}));
  grpc::ClientContext context;
  context.set_deadline(In(60));
  grpc::CompletionQueue cq;
  grpc::Slice slice(request);
  auto call =
      stub.PrepareUnaryCall(&context, "/attnserve.v1.Inference/" + method,
                            grpc::ByteBuffer(&slice, 1), &cq);
  call->StartCall();
  grpc::ByteBuffer response;
  grpc::Status status;
  void* tag = reinterpret_cast<void*>(1);
  call->Finish(&response, &status, tag);
  void* got = nullptr;
  bool ok = false;
  cq.Next(&got, &ok);
  return status;
}

std::string Serialized(const google::protobuf::UnknownFieldSet& fields) {
  std::string bytes;
  fields.SerializeToString(&bytes);
  return bytes;
}

std::vector<std::string> ModelFlags() {
  return {"--model=enc=" + GoldenDir("bert-tiny"), "--threads=1"};
}

// Starts attnserve-server directly; its exit code and output.
std::pair<int, std::string> StartAndExit(
    const std::vector<std::string>& flags) {
  std::vector<std::string> args = {
      std::string(ATTNSERVE_BIN_DIR) + "/attnserve-server",
      "--host=127.0.0.1",
      "--port=0",
      "--metrics_address=127.0.0.1",
      "--metrics_port=0",
      "--model=enc=" + GoldenDir("bert-tiny")};
  args.insert(args.end(), flags.begin(), flags.end());
  return RunShell("timeout 60 " + absl::StrJoin(args, " "));
}

class SecurityTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_EQ(certs_.error(), ""); }

  std::vector<std::string> TlsFlags() const {
    return {"--tls_cert=" + certs_.Path("server.crt"),
            "--tls_key=" + certs_.Path("server.key")};
  }

  Certificates certs_;
};

TEST_F(SecurityTest, TlsServesTlsClientsAndRefusesPlaintext) {
  ServerProcess server;
  std::vector<std::string> flags = ModelFlags();
  for (const std::string& flag : TlsFlags()) flags.push_back(flag);
  ASSERT_TRUE(server.Start(flags).ok()) << server.Log();
  auto tls = TlsChannel(server, certs_, /*client_certificate=*/false);
  ASSERT_TRUE(WaitServing(*tls, server).ok());

  EXPECT_TRUE(Encode(*tls).ok()) << server.Log();
  const grpc::Status plaintext = Encode(*server.channel());
  EXPECT_EQ(plaintext.error_code(), grpc::StatusCode::UNAVAILABLE)
      << plaintext.error_message();
}

TEST_F(SecurityTest, MutualTlsRejectsClientsWithoutCertificate) {
  ServerProcess server;
  std::vector<std::string> flags = ModelFlags();
  for (const std::string& flag : TlsFlags()) flags.push_back(flag);
  flags.push_back("--tls_client_ca=" + certs_.Path("ca.crt"));
  ASSERT_TRUE(server.Start(flags).ok()) << server.Log();
  auto with_cert = TlsChannel(server, certs_, /*client_certificate=*/true);
  ASSERT_TRUE(WaitServing(*with_cert, server).ok());

  EXPECT_TRUE(Encode(*with_cert).ok()) << server.Log();
  auto without_cert = TlsChannel(server, certs_, /*client_certificate=*/false);
  const grpc::Status refused = Encode(*without_cert);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::UNAVAILABLE)
      << refused.error_message();
}

TEST_F(SecurityTest, ClientCliSpeaksMutualTlsWithToken) {
  const std::string tokens = certs_.Path("cli-tokens");
  WriteFile(tokens, "cli-secret\n");
  ServerProcess server;
  std::vector<std::string> flags = ModelFlags();
  for (const std::string& flag : TlsFlags()) flags.push_back(flag);
  flags.push_back("--tls_client_ca=" + certs_.Path("ca.crt"));
  flags.push_back("--auth_tokens_file=" + tokens);
  ASSERT_TRUE(server.Start(flags).ok()) << server.Log();
  ASSERT_TRUE(
      WaitServing(*TlsChannel(server, certs_, /*client_certificate=*/true),
                  server)
          .ok());

  const std::string client =
      absl::StrCat("timeout 60 ", ATTNSERVE_BIN_DIR,
                   "/attnserve-client --target=127.0.0.1:", server.port(),
                   " --tls --tls_ca=", certs_.Path("ca.crt"),
                   " --tls_cert=", certs_.Path("client.crt"),
                   " --tls_key=", certs_.Path("client.key"), " --model=enc");
  auto [code, output] = RunShell(client + " --token=cli-secret encode hello");
  EXPECT_EQ(code, 0) << output;
  std::tie(code, output) = RunShell(client + " encode hello");
  EXPECT_EQ(code, 1) << output;
  EXPECT_THAT(output, HasSubstr("missing or invalid bearer token"));
  std::tie(code, output) = RunShell(client + " health");  // no token needed
  EXPECT_EQ(code, 0) << output;
}

TEST_F(SecurityTest, BadTlsAndTokenFilesStopTheStartNamingTheFile) {
  const std::string missing = certs_.Path("nope.crt");
  auto [code, log] = StartAndExit(
      {"--tls_cert=" + missing, "--tls_key=" + certs_.Path("server.key")});
  EXPECT_EQ(code, 2) << log;
  EXPECT_THAT(log, HasSubstr("--tls_cert: cannot open " + missing));

  std::tie(code, log) =
      StartAndExit({"--tls_cert=" + certs_.Path("server.crt"),
                    "--tls_key=" + certs_.Path("client.key")});
  EXPECT_EQ(code, 2) << log;
  EXPECT_THAT(log, HasSubstr(certs_.Path("client.key") +
                             " is not the private key of the certificate in " +
                             certs_.Path("server.crt")));

  std::tie(code, log) =
      StartAndExit({"--tls_cert=" + certs_.Path("server.key"),
                    "--tls_key=" + certs_.Path("server.key")});
  EXPECT_EQ(code, 2) << log;
  EXPECT_THAT(log, HasSubstr(certs_.Path("server.key") + " holds no PEM"));

  std::tie(code, log) =
      StartAndExit({"--tls_client_ca=" + certs_.Path("ca.crt")});
  EXPECT_EQ(code, 2) << log;
  EXPECT_THAT(log, HasSubstr("TLS needs both --tls_cert and --tls_key"));

  const std::string empty = certs_.Path("empty-tokens");
  WriteFile(empty, "# no tokens yet\n\n");
  std::tie(code, log) = StartAndExit({"--auth_tokens_file=" + empty});
  EXPECT_EQ(code, 2) << log;
  EXPECT_THAT(log, HasSubstr(empty + " holds no token"));
}

TEST_F(SecurityTest, BearerTokensGuardInferenceButNotHealthOrReflection) {
  const std::string tokens = certs_.Path("tokens");
  WriteFile(tokens, "# service A\n  token-a  \n\ntoken-b\n");
  ServerProcess server;
  std::vector<std::string> flags = ModelFlags();
  flags.push_back("--auth_tokens_file=" + tokens);
  ASSERT_TRUE(server.Start(flags).ok()) << server.Log();
  ASSERT_TRUE(server.WaitHealth("", 1).ok());  // health needs no token
  absl::StatusOr<std::vector<std::string>> services =
      ReflectionServices(*server.channel());
  ASSERT_TRUE(services.ok()) << services.status();
  EXPECT_THAT(*services, ::testing::Contains("attnserve.v1.Inference"));

  grpc::Channel& channel = *server.channel();
  for (const std::string& header :
       {std::string(), std::string("Bearer wrong"), std::string("token-a"),
        std::string("Bearer token-"), std::string("Bearer token-a2"),
        std::string("Basic token-a"), std::string("Bearer # service A")}) {
    const grpc::Status status = Encode(channel, header);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED)
        << "'" << header << "'";
    EXPECT_EQ(status.error_message(), kUnauthenticated);
  }
  EXPECT_TRUE(Encode(channel, "Bearer token-a").ok());
  EXPECT_TRUE(Encode(channel, "bearer token-b").ok());  // scheme: any case

  v1::ListModelsResponse list;
  grpc::ClientContext list_context;
  EXPECT_EQ(server.stub()->ListModels(&list_context, {}, &list).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  google::protobuf::UnknownFieldSet tokenize;
  tokenize.AddLengthDelimited(1, "enc");
  tokenize.AddLengthDelimited(2, "hi");
  EXPECT_EQ(RawCall(channel, "Tokenize", Serialized(tokenize)).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);

  absl::StatusOr<std::string> metrics = FetchMetrics(server.metrics_port());
  ASSERT_TRUE(metrics.ok());
  EXPECT_EQ(MetricValue(*metrics,
                        "attnserve_requests_total{code=\"UNAUTHENTICATED\","
                        "method=\"encode\",model=\"\"}"),
            7)
      << *metrics;

  // SIGHUP re-reads the file: token-a is revoked, token-c added.
  WriteFile(tokens, "token-b\ntoken-c\n");
  ASSERT_TRUE(server.Signal(SIGHUP).ok());
  const absl::Time until = absl::Now() + absl::Seconds(60);
  while (absl::Now() < until &&
         server.Log().find("reload done") == std::string::npos) {
    absl::SleepFor(absl::Milliseconds(50));
  }
  ASSERT_THAT(server.Log(), HasSubstr("reloaded 2 bearer token(s)"));
  EXPECT_EQ(Encode(channel, "Bearer token-a").error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_TRUE(Encode(channel, "Bearer token-c").ok());
}

TEST_F(SecurityTest, InvalidUtf8IsInvalidArgumentNamingTheField) {
  ServerProcess server;
  std::vector<std::string> flags = ModelFlags();
  flags.push_back("--model=tr=" + GoldenDir("marian-tiny"));
  ASSERT_TRUE(server.Start(flags).ok()) << server.Log();
  ASSERT_TRUE(server.WaitHealth("", 1).ok());
  grpc::Channel& channel = *server.channel();

  // EncodeRequest{model: "enc", texts: ["ok", "ok", "ok", "hello\xff"]}.
  google::protobuf::UnknownFieldSet encode;
  encode.AddLengthDelimited(1, "enc");
  for (int i = 0; i < 3; ++i) encode.AddLengthDelimited(2, "ok");
  encode.AddLengthDelimited(2, "hello\xff");
  grpc::Status status = RawCall(channel, "Encode", Serialized(encode));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message(),
            "texts[3] is not valid UTF-8 (byte offset 5)");

  // A truncated 3-byte sequence.
  google::protobuf::UnknownFieldSet translate;
  translate.AddLengthDelimited(1, "tr");
  translate.AddLengthDelimited(2, "a\xe2\x82");
  status = RawCall(channel, "Translate", Serialized(translate));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message(),
            "texts[0] is not valid UTF-8 (byte offset 1)");

  // A UTF-16 surrogate encoded as UTF-8.
  google::protobuf::UnknownFieldSet tokenize;
  tokenize.AddLengthDelimited(1, "enc\xed\xa0\x80");
  tokenize.AddLengthDelimited(2, "fine");
  status = RawCall(channel, "Tokenize", Serialized(tokenize));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message(), "model is not valid UTF-8 (byte offset 3)");

  // Valid UTF-8 of every length still works, and a broken message is
  // INVALID_ARGUMENT too.
  google::protobuf::UnknownFieldSet fine;
  fine.AddLengthDelimited(1, "enc");
  fine.AddLengthDelimited(2, "a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
  EXPECT_TRUE(RawCall(channel, "Tokenize", Serialized(fine)).ok());
  status = RawCall(channel, "Encode", "\x12\x05ab");
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(),
              HasSubstr("not a valid attnserve.v1.EncodeRequest"));
}

TEST_F(SecurityTest, InvalidUtf8InTranslateStreamIsInvalidArgument) {
  ServerProcess server;
  std::vector<std::string> flags = ModelFlags();
  flags.push_back("--model=tr=" + GoldenDir("marian-tiny"));
  ASSERT_TRUE(server.Start(flags).ok()) << server.Log();
  ASSERT_TRUE(server.WaitHealth("", 1).ok());

  google::protobuf::UnknownFieldSet request;
  request.AddLengthDelimited(1, "tr");
  request.AddLengthDelimited(2, "hello");
  request.AddLengthDelimited(7, "d\xc0\xafe");  // overlong '/'
  std::string bytes;
  request.SerializeToString(&bytes);
  grpc::GenericStub stub(server.channel());
  grpc::ClientContext context;
  context.set_deadline(In(60));
  grpc::CompletionQueue cq;
  void* tag = reinterpret_cast<void*>(1);
  void* got = nullptr;
  bool ok = false;
  auto call = stub.PrepareCall(&context,
                               "/attnserve.v1.Inference/TranslateStream", &cq);
  call->StartCall(tag);
  cq.Next(&got, &ok);
  grpc::Slice slice(bytes);
  call->WriteLast(grpc::ByteBuffer(&slice, 1), grpc::WriteOptions(), tag);
  cq.Next(&got, &ok);
  grpc::ByteBuffer message;
  call->Read(&message, tag);
  cq.Next(&got, &ok);
  EXPECT_FALSE(ok) << "no message before the error";
  grpc::Status status;
  call->Finish(&status, tag);
  cq.Next(&got, &ok);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message(),
            "target_language is not valid UTF-8 (byte offset 1)");
}

TEST_F(SecurityTest, OversizedMessageIsResourceExhausted) {
  ServerProcess server;
  std::vector<std::string> flags = ModelFlags();
  flags.push_back("--max_message_bytes=4096");
  ASSERT_TRUE(server.Start(flags).ok()) << server.Log();
  ASSERT_TRUE(server.WaitHealth("", 1).ok());

  v1::EncodeRequest request;
  request.set_model("enc");
  request.add_texts(std::string(8192, 'a'));
  request.set_truncate(true);
  v1::EncodeResponse response;
  grpc::ClientContext context;
  context.set_deadline(In(60));
  const grpc::Status status =
      server.stub()->Encode(&context, request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
      << status.error_message();
  EXPECT_TRUE(Encode(*server.channel()).ok()) << "a small call still works";
}

TEST_F(SecurityTest, OversizedResponseIsResourceExhaustedNamingTheLimit) {
  ServerProcess server;
  std::vector<std::string> flags = ModelFlags();
  flags.push_back("--max_message_bytes=4096");
  ASSERT_TRUE(server.Start(flags).ok()) << server.Log();
  ASSERT_TRUE(server.WaitHealth("", 1).ok());

  // A small request whose embeddings (16 x the model's dimensions floats)
  // exceed 4096 bytes.
  v1::EncodeRequest request;
  request.set_model("enc");
  for (int i = 0; i < 16; ++i) request.add_texts("a");
  v1::EncodeResponse response;
  grpc::ClientContext context;
  context.set_deadline(In(60));
  const grpc::Status status =
      server.stub()->Encode(&context, request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
      << status.error_message();
  EXPECT_THAT(status.error_message(),
              HasSubstr("--max_message_bytes 4096; not retryable"));
}

}  // namespace
}  // namespace attnserve::server::testing

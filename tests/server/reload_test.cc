// SIGHUP reloads every model of the real attnserve-server from its folder:
// under load no call fails and results stay the same; a failed reload keeps
// the previous version serving (GetModel shows the error); a model that
// failed at start-up comes up with a reload once its folder is fixed.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/server/server_process_util.h"

namespace attnserve::server::testing {
namespace {

using ::testing::HasSubstr;

std::chrono::system_clock::time_point In(int seconds) {
  return std::chrono::system_clock::now() + std::chrono::seconds(seconds);
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

int Count(const std::string& text, const std::string& what) {
  int count = 0;
  for (size_t at = text.find(what); at != std::string::npos;
       at = text.find(what, at + 1)) {
    ++count;
  }
  return count;
}

// Sends SIGHUP and waits until the server logged the end of that reload.
absl::Status Reload(const ServerProcess& server) {
  const int before = Count(server.Log(), "reload done");
  if (absl::Status s = server.Signal(SIGHUP); !s.ok()) return s;
  const absl::Time until = absl::Now() + absl::Seconds(120);
  while (absl::Now() < until) {
    if (Count(server.Log(), "reload done") > before) return absl::OkStatus();
    absl::SleepFor(absl::Milliseconds(20));
  }
  return absl::DeadlineExceededError("no reload: " + server.Log());
}

// Copies of the golden model folders, which the tests break and repair.
class ModelFolders {
 public:
  ModelFolders() {
    char dir[] = "/tmp/attnserve-reload-XXXXXX";
    dir_ = mkdtemp(dir);
    for (const char* model : {"bert-tiny", "marian-tiny"}) {
      std::system(
          absl::StrCat("cp -r ", GoldenDir(model), " ", dir_, "/", model)
              .c_str());
    }
  }
  ~ModelFolders() { std::system(("rm -rf " + dir_).c_str()); }
  std::string Path(const std::string& model) const {
    return dir_ + "/" + model;
  }

 private:
  std::string dir_;
};

const std::vector<std::string> kTexts = {"hello world", "reload me",
                                         "a slightly longer sentence here"};

absl::StatusOr<v1::EncodeResponse> Encode(v1::Inference::Stub& stub) {
  v1::EncodeRequest request;
  request.set_model("enc");
  for (const std::string& text : kTexts) request.add_texts(text);
  v1::EncodeResponse response;
  grpc::ClientContext context;
  context.set_deadline(In(60));
  const grpc::Status status = stub.Encode(&context, request, &response);
  if (!status.ok()) {
    return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                        status.error_message());
  }
  return response;
}

absl::StatusOr<v1::TranslateResponse> Translate(v1::Inference::Stub& stub) {
  v1::TranslateRequest request;
  request.set_model("tr");
  for (const std::string& text : kTexts) request.add_texts(text);
  request.set_beam_size(1);
  v1::TranslateResponse response;
  grpc::ClientContext context;
  context.set_deadline(In(60));
  const grpc::Status status = stub.Translate(&context, request, &response);
  if (!status.ok()) {
    return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                        status.error_message());
  }
  return response;
}

// Empty when `got` equals `want` (embeddings within float rounding: batch
// composition may change the padding), else what differs.
std::string Compare(const v1::EncodeResponse& want,
                    const v1::EncodeResponse& got) {
  if (got.embeddings_size() != want.embeddings_size()) return "embeddings";
  for (int i = 0; i < want.embeddings_size(); ++i) {
    const auto& a = want.embeddings(i).values();
    const auto& b = got.embeddings(i).values();
    if (a.size() != b.size()) return absl::StrCat("embedding ", i, " size");
    for (int d = 0; d < a.size(); ++d) {
      if (std::fabs(a[d] - b[d]) > 1e-5f)
        return absl::StrCat("embedding ", i, "[", d, "]");
    }
  }
  return "";
}

std::string Compare(const v1::TranslateResponse& want,
                    const v1::TranslateResponse& got) {
  if (got.translations_size() != want.translations_size())
    return "translations";
  for (int i = 0; i < want.translations_size(); ++i) {
    const auto& a = want.translations(i).hypotheses(0);
    const auto& b = got.translations(i).hypotheses(0);
    if (a.text() != b.text() ||
        !std::equal(a.token_ids().begin(), a.token_ids().end(),
                    b.token_ids().begin(), b.token_ids().end())) {
      return absl::StrCat("translation ", i, ": '", b.text(), "' vs '",
                          a.text(), "'");
    }
  }
  return "";
}

// Clients calling Encode and Translate in a loop, checking each answer.
class Load {
 public:
  Load(const ServerProcess& server, v1::EncodeResponse encode_reference,
       v1::TranslateResponse translate_reference)
      : encode_reference_(std::move(encode_reference)),
        translate_reference_(std::move(translate_reference)) {
    for (int i = 0; i < 4; ++i) {
      threads_.emplace_back([this, &server, i] { Run(server, i % 2 == 0); });
    }
  }
  ~Load() { Stop(); }

  void Stop() {
    stop_.store(true);
    for (std::thread& thread : threads_) thread.join();
    threads_.clear();
  }
  int calls() const { return calls_.load(); }
  std::vector<std::string> failures() {
    absl::MutexLock lock(&mu_);
    return failures_;
  }

 private:
  void Run(const ServerProcess& server, bool encode) {
    std::unique_ptr<v1::Inference::Stub> stub = server.stub();
    while (!stop_.load()) {
      std::string failure;
      if (encode) {
        absl::StatusOr<v1::EncodeResponse> got = Encode(*stub);
        failure = got.ok() ? Compare(encode_reference_, *got)
                           : got.status().ToString();
      } else {
        absl::StatusOr<v1::TranslateResponse> got = Translate(*stub);
        failure = got.ok() ? Compare(translate_reference_, *got)
                           : got.status().ToString();
      }
      calls_.fetch_add(1);
      if (!failure.empty()) {
        absl::MutexLock lock(&mu_);
        failures_.push_back(failure);
      }
    }
  }

  const v1::EncodeResponse encode_reference_;
  const v1::TranslateResponse translate_reference_;
  std::atomic<bool> stop_{false};
  std::atomic<int> calls_{0};
  absl::Mutex mu_;
  std::vector<std::string> failures_ ABSL_GUARDED_BY(mu_);
  std::vector<std::thread> threads_;
};

v1::ModelInfo GetModel(const ServerProcess& server, const std::string& name) {
  v1::GetModelRequest request;
  request.set_name(name);
  v1::ModelInfo info;
  grpc::ClientContext context;
  context.set_deadline(In(30));
  EXPECT_TRUE(server.stub()->GetModel(&context, request, &info).ok());
  return info;
}

TEST(ReloadTest, SighupUnderLoadDropsNoCallAndKeepsResults) {
  ModelFolders folders;
  ServerProcess server;
  ASSERT_TRUE(
      server
          .Start({"--model=enc=" + folders.Path("bert-tiny"),
                  "--model=tr=" + folders.Path("marian-tiny"), "--threads=1"})
          .ok())
      << server.Log();
  ASSERT_TRUE(server.WaitHealth("", 1).ok());
  absl::StatusOr<v1::EncodeResponse> encoded = Encode(*server.stub());
  absl::StatusOr<v1::TranslateResponse> translated = Translate(*server.stub());
  ASSERT_TRUE(encoded.ok() && translated.ok()) << server.Log();

  Load load(server, *encoded, *translated);
  for (int reload = 0; reload < 3; ++reload) {
    absl::SleepFor(absl::Milliseconds(300));
    ASSERT_TRUE(Reload(server).ok());
  }
  absl::SleepFor(absl::Milliseconds(300));
  load.Stop();

  EXPECT_THAT(load.failures(), ::testing::IsEmpty());
  EXPECT_GT(load.calls(), 20);
  const std::string log = server.Log();
  EXPECT_EQ(Count(log, "model 'enc' reloaded (MODEL_STATE_READY)"), 3) << log;
  EXPECT_EQ(Count(log, "model 'tr' reloaded (MODEL_STATE_READY)"), 3) << log;
  EXPECT_EQ(*HealthCheck(*server.channel(), ""), 1);
  // Once their last call ended, the old versions are freed (checked every
  // second).
  const absl::Time until = absl::Now() + absl::Seconds(10);
  while (absl::Now() < until &&
         Count(server.Log(), "replaced version released") < 6) {
    absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_EQ(Count(server.Log(), "model 'enc': replaced version released"), 3);
  EXPECT_EQ(Count(server.Log(), "model 'tr': replaced version released"), 3);
  absl::StatusOr<int> code = server.Stop();
  EXPECT_TRUE(code.ok() && *code == 0) << server.Log();
}

TEST(ReloadTest, FailedReloadKeepsThePreviousVersionServing) {
  ModelFolders folders;
  ServerProcess server;
  ASSERT_TRUE(
      server.Start({"--model=enc=" + folders.Path("bert-tiny"), "--threads=1"})
          .ok())
      << server.Log();
  ASSERT_TRUE(server.WaitHealth("", 1).ok());
  absl::StatusOr<v1::EncodeResponse> before = Encode(*server.stub());
  ASSERT_TRUE(before.ok());

  const std::string config = folders.Path("bert-tiny") + "/config.json";
  const std::string good = ReadFile(config);
  std::ofstream(config) << "{ not json";
  ASSERT_TRUE(Reload(server).ok());
  v1::ModelInfo info = GetModel(server, "enc");
  EXPECT_EQ(info.state(), v1::MODEL_STATE_READY);
  EXPECT_THAT(info.error(), HasSubstr("reload failed, the previous version "
                                      "keeps serving: "));
  EXPECT_THAT(info.error(), HasSubstr("config.json"));
  absl::StatusOr<v1::EncodeResponse> during = Encode(*server.stub());
  ASSERT_TRUE(during.ok()) << during.status();
  EXPECT_EQ(Compare(*before, *during), "");
  EXPECT_EQ(*HealthCheck(*server.channel(), "enc"), 1);
  absl::StatusOr<std::string> metrics = FetchMetrics(server.metrics_port());
  ASSERT_TRUE(metrics.ok());
  EXPECT_THAT(*metrics, HasSubstr("state=\"ready\""));
  EXPECT_THAT(*metrics, ::testing::Not(HasSubstr("state=\"failed\"")));

  std::ofstream(config) << good;
  ASSERT_TRUE(Reload(server).ok());
  info = GetModel(server, "enc");
  EXPECT_EQ(info.state(), v1::MODEL_STATE_READY);
  EXPECT_EQ(info.error(), "");
}

TEST(ReloadTest, ModelThatFailedAtStartComesUpWithAReload) {
  ModelFolders folders;
  const std::string weights = folders.Path("bert-tiny") + "/model.safetensors";
  ASSERT_EQ(rename(weights.c_str(), (weights + ".away").c_str()), 0);
  ServerProcess server;
  ASSERT_TRUE(
      server.Start({"--model=enc=" + folders.Path("bert-tiny"), "--threads=1"})
          .ok())
      << server.Log();
  ASSERT_TRUE(server.WaitHealth("", 2).ok());
  EXPECT_EQ(GetModel(server, "enc").state(), v1::MODEL_STATE_FAILED);
  EXPECT_EQ(Encode(*server.stub()).status().code(),
            absl::StatusCode::kFailedPrecondition);

  ASSERT_EQ(rename((weights + ".away").c_str(), weights.c_str()), 0);
  ASSERT_TRUE(Reload(server).ok());
  EXPECT_EQ(GetModel(server, "enc").state(), v1::MODEL_STATE_READY);
  EXPECT_EQ(*HealthCheck(*server.channel(), ""), 1);
  EXPECT_TRUE(Encode(*server.stub()).ok());
}

}  // namespace
}  // namespace attnserve::server::testing

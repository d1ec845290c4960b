// Serving behaviour of the real server: concurrent clients get the answers they
// get alone while batches form, a full queue refuses at once, a model that
// fails to load is reported while the others serve, and SIGTERM under load
// loses no accepted call.
#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/server/server_process_util.h"

namespace attnserve::server::testing {
namespace {

using ::testing::HasSubstr;

std::chrono::system_clock::time_point In(int seconds) {
  return std::chrono::system_clock::now() + std::chrono::seconds(seconds);
}

std::vector<std::string> GoldenBertTexts() {
  std::ifstream in(GoldenDir("bert-tiny") + "/cases.json");
  const nlohmann::json cases = nlohmann::json::parse(in);
  std::vector<std::string> texts;
  for (const nlohmann::json& c : cases["cases"]) {
    for (const std::string& text : c["texts"]) {
      if (!text.empty()) texts.push_back(text);
    }
  }
  return texts;
}

absl::StatusOr<std::vector<float>> EncodeOne(v1::Inference::Stub& stub,
                                             const std::string& text) {
  v1::EncodeRequest request;
  request.set_model("enc");
  request.set_truncate(true);
  request.add_texts(text);
  v1::EncodeResponse response;
  grpc::ClientContext context;
  context.set_deadline(In(60));
  grpc::Status status = stub.Encode(&context, request, &response);
  if (!status.ok()) return absl::InternalError(status.error_message());
  return std::vector<float>(response.embeddings(0).values().begin(),
                            response.embeddings(0).values().end());
}

// The environment the running server was exec'ed with, "NAME=value" entries.
std::vector<std::string> ProcessEnvironment(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/environ");
  std::vector<std::string> entries;
  for (std::string entry; std::getline(in, entry, '\0');)
    entries.push_back(entry);
  return entries;
}

// The server re-execs itself with its OpenMP spin unless the environment
// chose how OpenMP waits (server/main.cc: passive waiting slows small batches).
TEST(ServerServingTest, StartsWithItsOpenMpSpinUnlessTheEnvironmentChose) {
  const char* saved_policy = std::getenv("OMP_WAIT_POLICY");
  const char* saved_spin = std::getenv("GOMP_SPINCOUNT");
  const std::string policy = saved_policy ? saved_policy : "";
  const std::string spin = saved_spin ? saved_spin : "";
  for (const bool chosen : {false, true}) {
    unsetenv("OMP_WAIT_POLICY");
    unsetenv("GOMP_SPINCOUNT");
    if (chosen) setenv("OMP_WAIT_POLICY", "passive", 1);
    ServerProcess server;
    ASSERT_TRUE(server.Start({"--model=enc=" + GoldenDir("bert-tiny")}).ok())
        << server.Log();
    const std::vector<std::string> env = ProcessEnvironment(server.pid());
    ASSERT_FALSE(env.empty());
    auto has = [&](const std::string& entry) {
      return std::find(env.begin(), env.end(), entry) != env.end();
    };
    EXPECT_EQ(has("GOMP_SPINCOUNT=100000"), !chosen);
    EXPECT_EQ(has("OMP_WAIT_POLICY=passive"), chosen);
    EXPECT_EQ(server.Stop().value_or(-1), 0) << server.Log();
  }
  unsetenv("OMP_WAIT_POLICY");
  unsetenv("GOMP_SPINCOUNT");
  if (saved_policy) setenv("OMP_WAIT_POLICY", policy.c_str(), 1);
  if (saved_spin) setenv("GOMP_SPINCOUNT", spin.c_str(), 1);
}

TEST(ServerServingTest, ConcurrentClientsGetTheirAloneAnswersWhileBatchesForm) {
  ServerProcess server;
  ASSERT_TRUE(server.Start({"--model=enc=" + GoldenDir("bert-tiny")}).ok())
      << server.Log();
  ASSERT_TRUE(server.WaitHealth("", 1).ok());
  const std::vector<std::string> texts = GoldenBertTexts();
  std::map<std::string, std::vector<float>> alone;
  auto stub = server.stub();
  for (const std::string& text : texts) {
    absl::StatusOr<std::vector<float>> embedding = EncodeOne(*stub, text);
    ASSERT_TRUE(embedding.ok()) << embedding.status();
    alone[text] = *embedding;
  }
  std::atomic<int> errors{0}, mismatches{0}, calls{0};
  std::vector<std::thread> clients;
  for (int k = 0; k < 32; ++k) {
    clients.emplace_back([&, k] {
      std::mt19937 rng(k);
      auto client = server.stub();
      for (int call = 0; call < 10; ++call) {
        v1::EncodeRequest request;
        request.set_model("enc");
        request.set_truncate(true);
        const int n = 1 + static_cast<int>(rng() % 4);
        for (int i = 0; i < n; ++i)
          request.add_texts(texts[rng() % texts.size()]);
        v1::EncodeResponse response;
        grpc::ClientContext context;
        context.set_deadline(In(120));
        if (!client->Encode(&context, request, &response).ok() ||
            response.embeddings_size() != n) {
          ++errors;
          continue;
        }
        ++calls;
        for (int i = 0; i < n; ++i) {
          const std::vector<float>& want = alone[request.texts(i)];
          for (int d = 0; d < response.embeddings(i).values_size(); ++d) {
            if (std::abs(response.embeddings(i).values(d) - want[d]) > 1e-5) {
              ++mismatches;
              break;
            }
          }
        }
      }
    });
  }
  for (std::thread& t : clients) t.join();
  EXPECT_EQ(errors, 0);
  EXPECT_EQ(mismatches, 0);
  EXPECT_EQ(calls, 320);
  absl::StatusOr<std::string> metrics = FetchMetrics(server.metrics_port());
  ASSERT_TRUE(metrics.ok());
  const double sum = MetricValue(
      *metrics, "attnserve_batch_size_sum{method=\"encode\",model=\"enc\"}");
  const double count = MetricValue(
      *metrics, "attnserve_batch_size_count{method=\"encode\",model=\"enc\"}");
  ASSERT_GT(count, 0);
  EXPECT_GT(sum / count, 1.5) << "batches do not form";
  EXPECT_EQ(*server.Stop(), 0);
}

TEST(ServerServingTest, FullQueueRefusesWithResourceExhausted) {
  if (MiniLmDir().empty()) {
    GTEST_SKIP() << "models/all-MiniLM-L6-v2 missing (deploy/install-deps.sh)";
  }
  const std::string config =
      ::testing::TempDir() + "/attnserve_small_queue.txtpb";
  std::ofstream(config) << "model { name: \"enc\" path: \"" << MiniLmDir()
                        << "\" batching { max_queue_size: 4 max_batch_size: 64 "
                           "max_queue_delay_us: 3000000 "
                           "max_batch_memory_bytes: 4294967296 } }\n";
  ServerProcess server;
  ASSERT_TRUE(server.Start({"--config=" + config, "--threads=1"}).ok())
      << server.Log();
  ASSERT_TRUE(server.WaitHealth("", 1).ok());
  auto stub = server.stub();
  // Behind a blocker in progress, four texts wait (up to the 3 s queue
  // delay); one more text does not fit.
  PendingEncode blocker(*stub, BlockerRequest("enc"));
  absl::SleepFor(absl::Milliseconds(300));
  v1::EncodeRequest waiting_request;
  waiting_request.set_model("enc");
  for (int i = 0; i < 4; ++i) waiting_request.add_texts("waiting text");
  PendingEncode waiting(*stub, waiting_request);
  absl::SleepFor(absl::Milliseconds(500));
  v1::EncodeRequest extra;
  extra.set_model("enc");
  extra.add_texts("one too many");
  v1::EncodeResponse extra_response;
  grpc::ClientContext extra_context;
  grpc::Status refused = stub->Encode(&extra_context, extra, &extra_response);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(refused.error_message(), HasSubstr("queue is full"));
  EXPECT_TRUE(blocker.Wait().ok());
  EXPECT_TRUE(waiting.Wait().ok());
  EXPECT_EQ(waiting.response().embeddings_size(), 4);
  EXPECT_EQ(*server.Stop(), 0);
}

TEST(ServerServingTest, MemoryBudgetRefusesATextAtOnceAndDefaultsFromTheModel) {
  const std::string config =
      ::testing::TempDir() + "/attnserve_small_budget.txtpb";
  std::ofstream(config) << "model { name: \"small\" path: \""
                        << GoldenDir("bert-tiny")
                        << "\" batching { max_batch_memory_bytes: 1000 } }\n"
                        << "model { name: \"default\" path: \""
                        << GoldenDir("bert-tiny") << "\" }\n";
  ServerProcess server;
  ASSERT_TRUE(server.Start({"--config=" + config}).ok()) << server.Log();
  ASSERT_TRUE(server.WaitHealth("", 1).ok());
  auto stub = server.stub();
  v1::EncodeRequest request;
  request.set_model("small");
  request.add_texts("a text whose activations exceed a thousand bytes");
  v1::EncodeResponse response;
  grpc::ClientContext context;
  context.set_deadline(In(60));
  const grpc::Status refused = stub->Encode(&context, request, &response);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(refused.error_message(),
              HasSubstr("model 'small' batching.max_batch_memory_bytes 1000; "
                        "not retryable"));

  v1::GetModelRequest get;
  get.set_name("default");
  v1::ModelInfo info;
  grpc::ClientContext get_context;
  ASSERT_TRUE(stub->GetModel(&get_context, get, &info).ok());
  EXPECT_GE(info.batching().max_batch_memory_bytes(), uint64_t{256} << 20)
      << "the default is at least 256 MiB";
  request.set_model("default");
  grpc::ClientContext ok_context;
  ok_context.set_deadline(In(60));
  EXPECT_TRUE(stub->Encode(&ok_context, request, &response).ok());
  EXPECT_EQ(*server.Stop(), 0);
}

TEST(ServerServingTest, AModelThatFailsToLoadIsFailedWhileTheOtherServes) {
  const std::filesystem::path broken =
      ::testing::TempDir() + "/attnserve_broken_model";
  std::filesystem::create_directories(broken);
  std::ofstream(broken / "config.json") << R"({"model_type": "gpt2"})";
  ServerProcess server;
  ASSERT_TRUE(server
                  .Start({"--model=enc=" + GoldenDir("bert-tiny"),
                          "--model=broken=" + broken.string()})
                  .ok());
  ASSERT_TRUE(server.WaitHealth("enc", 1).ok()) << server.Log();
  EXPECT_EQ(*HealthCheck(*server.channel(), "broken"), 2);
  EXPECT_EQ(*HealthCheck(*server.channel(), ""), 2);
  auto stub = server.stub();
  v1::GetModelRequest request;
  request.set_name("broken");
  v1::ModelInfo info;
  grpc::ClientContext context;
  ASSERT_TRUE(stub->GetModel(&context, request, &info).ok());
  EXPECT_EQ(info.state(), v1::MODEL_STATE_FAILED);
  EXPECT_THAT(info.error(), HasSubstr("gpt2"));
  v1::EncodeRequest encode;
  encode.set_model("broken");
  encode.add_texts("x");
  v1::EncodeResponse response;
  grpc::ClientContext encode_context;
  grpc::Status status = stub->Encode(&encode_context, encode, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(status.error_message(), HasSubstr("failed to load"));
  EXPECT_TRUE(EncodeOne(*stub, "the other model serves").ok());
  EXPECT_THAT(server.Log(), HasSubstr("model 'broken' failed to load"));
  EXPECT_EQ(*server.Stop(), 0);
}

// Threads of the server process that carry its own name: the main thread,
// the model workers, the compute thread and OpenMP's pool threads (gRPC and
// civetweb name theirs).
int ThreadsNamedLikeTheProcess(pid_t pid) {
  const std::string task_dir = "/proc/" + std::to_string(pid) + "/task";
  std::string own;
  std::ifstream(task_dir + "/" + std::to_string(pid) + "/comm") >> own;
  int count = 0;
  for (const auto& task : std::filesystem::directory_iterator(task_dir)) {
    std::string name;
    std::ifstream(task.path() / "comm") >> name;
    if (name == own) ++count;
  }
  return count;
}

// Every model computes on the one compute thread, so serving a second model
// starts no second OpenMP team: two teams outnumber the cores and libgomp
// then throttles both to sleeping at every parallel region
// (core/ops/compute_thread.h; a short Encode went from 2.0 to 6.4 ms after
// one Translate call).
TEST(ServerServingTest, ASecondModelAddsNoOpenMpTeam) {
  ServerProcess server;
  ASSERT_TRUE(
      server
          .Start({"--model=enc=" + GoldenDir("bert-tiny"),
                  "--model=tr=" + GoldenDir("marian-tiny"), "--threads=2"})
          .ok())
      << server.Log();
  ASSERT_TRUE(server.WaitHealth("", 1).ok()) << server.Log();
  auto stub = server.stub();
  ASSERT_TRUE(EncodeOne(*stub, "a first forward pass").ok());
  const int after_encode = ThreadsNamedLikeTheProcess(server.pid());
  v1::TranslateRequest request;
  request.set_model("tr");
  request.add_texts("The quick brown fox.");
  v1::TranslateResponse response;
  grpc::ClientContext context;
  context.set_deadline(In(60));
  ASSERT_TRUE(stub->Translate(&context, request, &response).ok());
  ASSERT_TRUE(EncodeOne(*stub, "and another one").ok());
  EXPECT_EQ(ThreadsNamedLikeTheProcess(server.pid()), after_encode);
  EXPECT_EQ(*server.Stop(), 0);
}

TEST(ServerServingTest, SigtermUnderLoadLosesNoAcceptedCallAndExitsZero) {
  ServerProcess server;
  ASSERT_TRUE(server.Start({"--model=tr=" + GoldenDir("marian-tiny")}).ok())
      << server.Log();
  ASSERT_TRUE(server.WaitHealth("", 1).ok());
  std::mutex mu;
  std::map<std::string, int> outcomes;
  std::atomic<bool> stop{false};
  std::vector<std::thread> clients;
  for (int k = 0; k < 16; ++k) {
    clients.emplace_back([&] {
      auto stub = server.stub();
      while (!stop) {
        v1::TranslateRequest request;
        request.set_model("tr");
        for (int i = 0; i < 4; ++i) request.add_texts("The quick brown fox.");
        request.set_beam_size(2);
        request.set_max_new_tokens(16);  // bounds the drain on a slow machine
        v1::TranslateResponse response;
        grpc::ClientContext context;
        context.set_deadline(In(60));
        grpc::Status status = stub->Translate(&context, request, &response);
        std::lock_guard<std::mutex> lock(mu);
        if (status.ok()) {
          ++outcomes[response.translations_size() == 4 ? "OK"
                                                       : "OK but incomplete"];
        } else if (status.error_code() == grpc::StatusCode::UNAVAILABLE) {
          ++outcomes["UNAVAILABLE"];
          return;
        } else {
          ++outcomes[status.error_message()];
        }
      }
    });
  }
  absl::SleepFor(absl::Seconds(1));
  server.SendSigterm();
  absl::StatusOr<int> code = server.WaitExit(absl::Seconds(60));
  stop = true;
  for (std::thread& t : clients) t.join();
  ASSERT_TRUE(code.ok());
  EXPECT_EQ(*code, 0) << server.Log();
  for (const auto& [outcome, n] : outcomes) {
    EXPECT_TRUE(outcome == "OK" || outcome == "UNAVAILABLE")
        << n << " x " << outcome;
  }
  EXPECT_GT(outcomes["OK"], 0);
  EXPECT_THAT(server.Log(), HasSubstr("draining"));
}

}  // namespace
}  // namespace attnserve::server::testing

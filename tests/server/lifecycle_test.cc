// Lifecycle faults of the real server: SIGTERM during a mixed load (Encode,
// Translate, TranslateStream) loses no accepted call; a corrupt and a missing
// model folder fail only their model, clearly, while the other serves golden
// results; a full queue refuses at once and recovers.

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/server/server_process_util.h"

namespace attnserve::server::testing {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

constexpr int kServing = 1;
constexpr int kNotServing = 2;

std::chrono::system_clock::time_point In(int seconds) {
  return std::chrono::system_clock::now() + std::chrono::seconds(seconds);
}

nlohmann::json Cases(const std::string& model) {
  std::ifstream in(GoldenDir(model) + "/cases.json");
  return nlohmann::json::parse(in);
}

// The golden mean_pooled_normalized embeddings of every bert-tiny case, by
// `model`, within 1e-5.
void ExpectGoldenEmbeddings(v1::Inference::Stub& stub,
                            const std::string& model) {
  absl::StatusOr<std::map<std::string, std::vector<float>>> tensors =
      ReadF32Tensors(GoldenDir("bert-tiny") + "/tensors.safetensors");
  ASSERT_TRUE(tensors.ok()) << tensors.status();
  // Held in a local: a range-for over Cases(...)["cases"] iterates a member of
  // a temporary destroyed before the loop body runs (TSan: use-after-free).
  const nlohmann::json cases = Cases("bert-tiny");
  for (const nlohmann::json& c : cases["cases"]) {
    v1::EncodeRequest request;
    request.set_model(model);
    request.set_truncate(true);
    for (const std::string& text : c["texts"]) request.add_texts(text);
    v1::EncodeResponse response;
    grpc::ClientContext context;
    context.set_deadline(In(60));
    grpc::Status status = stub.Encode(&context, request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    const std::vector<float>& want =
        tensors->at(c["name"].get<std::string>() + ".mean_pooled_normalized");
    ASSERT_EQ(response.embeddings_size() * response.dimensions(), want.size());
    for (int b = 0; b < response.embeddings_size(); ++b) {
      for (int d = 0; d < response.embeddings(b).values_size(); ++d) {
        ASSERT_NEAR(response.embeddings(b).values(d),
                    want[b * response.dimensions() + d], 1e-5)
            << c["name"] << " text " << b << " dim " << d;
      }
    }
  }
}

// One call of the mixed load; the outcome is "OK", "UNAVAILABLE" or what went
// wrong.
std::string MixedCall(v1::Inference::Stub& stub, int call) {
  grpc::ClientContext context;
  context.set_deadline(In(60));
  if (call % 3 == 0) {
    v1::EncodeRequest request;
    request.set_model("enc");
    request.add_texts("The quick brown fox jumps over the lazy dog.");
    request.add_texts("Where is the nearest train station?");
    v1::EncodeResponse response;
    grpc::Status status = stub.Encode(&context, request, &response);
    if (!status.ok())
      return grpc::StatusCode(status.error_code()) ==
                     grpc::StatusCode::UNAVAILABLE
                 ? "UNAVAILABLE"
                 : "Encode: " + status.error_message();
    return response.embeddings_size() == 2 &&
                   response.embeddings(1).values_size() == 64
               ? "OK"
               : "Encode OK but incomplete";
  }
  v1::TranslateRequest request;
  request.set_model("tr");
  request.add_texts("The quick brown fox.");
  request.add_texts("Hello world.");
  request.set_beam_size(call % 2 == 0 ? 1 : 2);
  request.set_max_new_tokens(16);  // bounds the drain on a slow machine
  grpc::Status status;
  bool complete = false;
  if (call % 3 == 1) {
    v1::TranslateResponse response;
    status = stub.Translate(&context, request, &response);
    complete = response.translations_size() == 2;
  } else {
    // An accepted stream must run to its end: every index finished, then the
    // usage message.
    auto reader = stub.TranslateStream(&context, request);
    v1::TranslateStreamResponse message;
    int finished = 0;
    bool usage_last = false;
    while (reader->Read(&message)) {
      finished += message.finished() ? 1 : 0;
      usage_last = message.has_usage();
    }
    status = reader->Finish();
    complete = finished == 2 && usage_last;
    if (!status.ok() && (finished > 0 || usage_last)) {
      return "stream cut after its first messages: " + status.error_message();
    }
  }
  if (!status.ok()) {
    return status.error_code() == grpc::StatusCode::UNAVAILABLE
               ? "UNAVAILABLE"
               : "Translate: " + status.error_message();
  }
  return complete ? "OK" : "Translate OK but incomplete";
}

TEST(LifecycleTest, SigtermDuringMixedLoadLosesNoAcceptedCall) {
  ServerProcess server;
  ASSERT_TRUE(
      server
          .Start({"--model=enc=" + GoldenDir("bert-tiny"),
                  "--model=tr=" + GoldenDir("marian-tiny"), "--threads=1"})
          .ok())
      << server.Log();
  ASSERT_TRUE(server.WaitHealth("", kServing).ok());
  std::mutex mu;
  std::map<std::string, int> outcomes;
  std::atomic<int> ok_before_signal{0};
  std::atomic<bool> signalled{false};
  std::vector<std::thread> clients;
  for (int k = 0; k < 12; ++k) {
    clients.emplace_back([&, k] {
      auto stub = server.stub();
      for (int call = k;; call += 12) {
        const std::string outcome = MixedCall(*stub, call);
        if (outcome == "OK" && !signalled) ++ok_before_signal;
        std::lock_guard<std::mutex> lock(mu);
        ++outcomes[outcome];
        if (outcome != "OK") return;  // UNAVAILABLE: the server is draining
      }
    });
  }
  // Until every kind of call has been answered at least once under load.
  const absl::Time until = absl::Now() + absl::Seconds(60);
  while (ok_before_signal < 12 && absl::Now() < until) {
    absl::SleepFor(absl::Milliseconds(50));
  }
  signalled = true;
  server.SendSigterm();
  absl::StatusOr<int> code = server.WaitExit(absl::Seconds(90));
  for (std::thread& t : clients) t.join();
  ASSERT_TRUE(code.ok()) << server.Log();
  EXPECT_EQ(*code, 0) << server.Log();
  for (const auto& [outcome, n] : outcomes) {
    EXPECT_TRUE(outcome == "OK" || outcome == "UNAVAILABLE")
        << n << " x " << outcome;
  }
  EXPECT_GE(ok_before_signal, 12);
  EXPECT_EQ(outcomes["UNAVAILABLE"], 12);  // each client ends on one
  EXPECT_THAT(server.Log(), HasSubstr("drained in"));
}

// A copy of bert-tiny whose model.safetensors is cut to half its size.
std::string TruncatedBertCopy() {
  const fs::path dir = ::testing::TempDir() + "/attnserve_lifecycle_corrupt";
  fs::remove_all(dir);
  fs::copy(GoldenDir("bert-tiny"), dir, fs::copy_options::recursive);
  const fs::path weights = dir / "model.safetensors";
  fs::resize_file(weights, fs::file_size(weights) / 2);
  return dir.string();
}

TEST(LifecycleTest, CorruptAndMissingFoldersFailOnlyTheirModelClearly) {
  const std::string corrupt = TruncatedBertCopy();
  const std::string missing =
      ::testing::TempDir() + "/attnserve_lifecycle_no_such_folder";
  fs::remove_all(missing);
  ServerProcess server;
  ASSERT_TRUE(
      server
          .Start({"--model=corrupt=" + corrupt, "--model=missing=" + missing,
                  "--model=enc=" + GoldenDir("bert-tiny"), "--threads=1"})
          .ok())
      << server.Log();
  ASSERT_TRUE(server.WaitHealth("enc", kServing).ok()) << server.Log();
  ASSERT_TRUE(server.WaitHealth("corrupt", kNotServing).ok());
  ASSERT_TRUE(server.WaitHealth("missing", kNotServing).ok());
  EXPECT_EQ(*HealthCheck(*server.channel(), ""), kNotServing);
  EXPECT_EQ(*HealthCheck(*server.channel(), "attnserve.v1.Inference"),
            kNotServing);

  auto stub = server.stub();
  const std::map<std::string, std::string> must_name = {
      {"corrupt", "model.safetensors"}, {"missing", missing}};
  for (const auto& [name, needle] : must_name) {
    v1::GetModelRequest request;
    request.set_name(name);
    v1::ModelInfo info;
    grpc::ClientContext context;
    ASSERT_TRUE(stub->GetModel(&context, request, &info).ok());
    EXPECT_EQ(info.state(), v1::MODEL_STATE_FAILED) << name;
    EXPECT_THAT(info.error(), HasSubstr(needle)) << name;
    v1::EncodeRequest encode;
    encode.set_model(name);
    encode.add_texts("x");
    v1::EncodeResponse response;
    grpc::ClientContext encode_context;
    encode_context.set_deadline(In(30));
    grpc::Status status = stub->Encode(&encode_context, encode, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION)
        << name;
    EXPECT_THAT(status.error_message(), HasSubstr("failed to load")) << name;
  }
  ExpectGoldenEmbeddings(*stub, "enc");
  EXPECT_THAT(server.Log(), HasSubstr("model 'corrupt' failed to load"));
  EXPECT_THAT(server.Log(), HasSubstr("model 'missing' failed to load"));
  EXPECT_EQ(*server.Stop(), 0);
}

TEST(LifecycleTest, FullQueueRefusesAtOnceAndRecovers) {
  // A text reaching an idle worker starts at once, so the queue fills only
  // behind a batch in progress: a blocker call of 32 texts of 256 tokens on
  // the real MiniLM with one thread keeps the worker busy for seconds while
  // the texts of the "waiting" call queue up (at most 2 may wait).
  const std::string minilm = MiniLmDir();
  if (minilm.empty()) {
    GTEST_SKIP() << "models/all-MiniLM-L6-v2 missing (deploy/install-deps.sh)";
  }
  const std::string config =
      ::testing::TempDir() + "/attnserve_lifecycle_queue.txtpb";
  std::ofstream(config) << "model { name: \"enc\" path: \"" << minilm
                        << "\" batching { max_queue_size: 2 max_batch_size: 64 "
                           "max_queue_delay_us: 2000000 "
                           "max_batch_memory_bytes: 4294967296 } }\n";
  ServerProcess server;
  ASSERT_TRUE(server.Start({"--config=" + config, "--threads=1"}).ok())
      << server.Log();
  ASSERT_TRUE(server.WaitHealth("", kServing).ok());
  auto stub = server.stub();
  for (int round = 0; round < 2; ++round) {
    PendingEncode blocker(*stub, BlockerRequest("enc"));
    absl::SleepFor(absl::Milliseconds(300));  // the worker computes it
    v1::EncodeRequest waiting_request;
    waiting_request.set_model("enc");
    waiting_request.add_texts("waiting text one");
    waiting_request.add_texts("waiting text two");
    PendingEncode waiting(*stub, waiting_request);
    absl::SleepFor(absl::Milliseconds(300));  // the two texts are queued

    v1::EncodeRequest extra;
    extra.set_model("enc");
    extra.add_texts("one too many");
    v1::EncodeResponse extra_response;
    grpc::ClientContext extra_context;
    extra_context.set_deadline(In(60));
    const absl::Time sent = absl::Now();
    grpc::Status refused = stub->Encode(&extra_context, extra, &extra_response);
    const absl::Duration took = absl::Now() - sent;
    EXPECT_EQ(refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
        << round << ": " << refused.error_message();
    // At once: not after the 2 s the queued texts wait.
    EXPECT_LT(took, absl::Milliseconds(1000)) << round;

    grpc::Status blocked = blocker.Wait();
    EXPECT_TRUE(blocked.ok()) << blocked.error_message();
    grpc::Status waited = waiting.Wait();
    EXPECT_TRUE(waited.ok()) << waited.error_message();
    EXPECT_EQ(waiting.response().embeddings_size(), 2);
    // Recovered: the queue is empty again, a call fits.
    grpc::ClientContext again_context;
    again_context.set_deadline(In(60));
    grpc::Status again = stub->Encode(&again_context, extra, &extra_response);
    EXPECT_TRUE(again.ok()) << round << ": " << again.error_message();
    EXPECT_EQ(extra_response.embeddings_size(), 1);
  }
  absl::StatusOr<std::string> metrics = FetchMetrics(server.metrics_port());
  ASSERT_TRUE(metrics.ok());
  EXPECT_EQ(MetricValue(*metrics,
                        "attnserve_requests_total{code=\"RESOURCE_EXHAUSTED\","
                        "method=\"encode\",model=\"enc\"}"),
            2);
  EXPECT_EQ(*server.Stop(), 0);
}

}  // namespace
}  // namespace attnserve::server::testing

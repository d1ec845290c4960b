// grpc.health.v1 as probes and generic tools see it: "liveness" stays SERVING
// with a failed model and while draining, when the overall names ("" and the
// service name) do not; reflection describes grpc.health.v1.Health fully
// (what grpcurl needs to call Check and Watch without .proto files).

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/descriptor.pb.h"
#include "gtest/gtest.h"
#include "tests/server/server_process_util.h"

namespace attnserve::server::testing {
namespace {

namespace fs = std::filesystem;

constexpr int kServing = 1;
constexpr int kNotServing = 2;

// The status of `name`, or -1 when the Check call failed.
int Health(grpc::Channel& channel, const std::string& name) {
  return HealthCheck(channel, name).value_or(-1);
}

// A model folder whose config.json is not JSON.
std::string BrokenModelFolder() {
  const fs::path dir = fs::path(::testing::TempDir()) / "attnserve_health_bad";
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::ofstream(dir / "config.json") << "{ this is not json";
  return dir.string();
}

TEST(HealthTest, LivenessServesWithAFailedModelWhileReadinessDoesNot) {
  ServerProcess server;
  ASSERT_TRUE(
      server
          .Start({"--model=good=" + GoldenDir("bert-tiny"),
                  "--model=broken=" + BrokenModelFolder(), "--threads=1"})
          .ok())
      << server.Log();
  ASSERT_TRUE(server.WaitHealth("good", kServing).ok()) << server.Log();
  ASSERT_TRUE(server.WaitHealth("broken", kNotServing).ok()) << server.Log();
  grpc::Channel& channel = *server.channel();
  EXPECT_EQ(Health(channel, "liveness"), kServing);
  EXPECT_EQ(Health(channel, ""), kNotServing);
  EXPECT_EQ(Health(channel, "attnserve.v1.Inference"), kNotServing);
  EXPECT_EQ(HealthCheck(channel, "no-such-model").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(server.Stop().value_or(-1), 0);
}

// The service, found in the generated pool of the server (not only listed).
TEST(HealthTest, ReflectionDescribesHealthCheckAndWatch) {
  ServerProcess server;
  ASSERT_TRUE(
      server.Start({"--model=enc=" + GoldenDir("bert-tiny"), "--threads=1"})
          .ok())
      << server.Log();
  absl::StatusOr<std::vector<google::protobuf::FileDescriptorProto>> files =
      ReflectionFilesContainingSymbol(*server.channel(),
                                      "grpc.health.v1.Health");
  ASSERT_TRUE(files.ok()) << files.status();
  ASSERT_FALSE(files->empty());
  // Built into a pool the way grpcurl does: every type must resolve.
  google::protobuf::DescriptorPool pool;
  for (const google::protobuf::FileDescriptorProto& file : *files)
    ASSERT_NE(pool.BuildFile(file), nullptr) << file.name();
  const google::protobuf::ServiceDescriptor* health =
      pool.FindServiceByName("grpc.health.v1.Health");
  ASSERT_NE(health, nullptr) << (*files)[0].DebugString();
  const google::protobuf::MethodDescriptor* check =
      health->FindMethodByName("Check");
  const google::protobuf::MethodDescriptor* watch =
      health->FindMethodByName("Watch");
  ASSERT_NE(check, nullptr);
  ASSERT_NE(watch, nullptr);
  EXPECT_EQ(check->input_type()->full_name(),
            "grpc.health.v1.HealthCheckRequest");
  EXPECT_EQ(check->output_type()->full_name(),
            "grpc.health.v1.HealthCheckResponse");
  EXPECT_FALSE(check->server_streaming());
  EXPECT_TRUE(watch->server_streaming());
  EXPECT_EQ(server.Stop().value_or(-1), 0);
}

// The drain refuses new Inference calls until callers go quiet (300 ms) or
// half the drain timeout is gone; a caller that keeps sending ListModels holds
// that window open so the health names can be read inside it.
TEST(HealthTest, LivenessStaysServingWhileDraining) {
  ServerProcess server;
  ASSERT_TRUE(server
                  .Start({"--model=enc=" + GoldenDir("bert-tiny"),
                          "--threads=1", "--drain_timeout=60s"})
                  .ok())
      << server.Log();
  ASSERT_TRUE(server.WaitHealth("", kServing).ok());
  std::atomic<bool> stop{false};
  std::atomic<int> answered{0};
  std::atomic<int> refused{0};
  std::thread caller([&] {
    auto stub = server.stub();
    while (!stop.load()) {
      grpc::ClientContext context;
      context.set_deadline(std::chrono::system_clock::now() +
                           std::chrono::seconds(5));
      v1::ListModelsResponse response;
      const grpc::Status status =
          stub->ListModels(&context, v1::ListModelsRequest(), &response);
      if (status.ok()) ++answered;
      if (status.error_code() == grpc::StatusCode::UNAVAILABLE) ++refused;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  });
  // SIGTERM once calls flow (the window stays shut if none arrived lately).
  const absl::Time until = absl::Now() + absl::Seconds(10);
  while (answered.load() == 0 && absl::Now() < until)
    absl::SleepFor(absl::Milliseconds(10));
  server.SendSigterm();
  const absl::Status overall =
      server.WaitHealth("", kNotServing, absl::Seconds(10));
  // SERVING here also shows the read came before gRPC's Shutdown (which marks
  // every name NOT_SERVING and refuses new calls).
  const int liveness = Health(*server.channel(), "liveness");
  const int model = Health(*server.channel(), "enc");
  // The caller sees the drain refuse its calls (bounded: the window closes
  // only after it stops).
  while (refused.load() == 0 && absl::Now() < until + absl::Seconds(10))
    absl::SleepFor(absl::Milliseconds(10));
  stop.store(true);
  caller.join();
  EXPECT_TRUE(overall.ok()) << overall;
  EXPECT_EQ(liveness, kServing) << server.Log();
  EXPECT_EQ(model, kNotServing);
  EXPECT_GT(refused.load(), 0);
  EXPECT_EQ(server.WaitExit(absl::Seconds(60)).value_or(-1), 0);
}

}  // namespace
}  // namespace attnserve::server::testing

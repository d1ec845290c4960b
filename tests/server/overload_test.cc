// Overload at a small scale: attnserve-loadgen sends an open-loop load of
// one-text Encode calls to bert-tiny, some with deadlines shorter than the
// queue delay. Every call must end OK, RESOURCE_EXHAUSTED or
// DEADLINE_EXCEEDED; the server's attnserve_requests_total must equal the
// client's counts by code; and texts dropped because their deadline passed
// must not also have been computed. No speed is asserted.
#include <cstdlib>
#include <fstream>
#include <map>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/server/server_process_util.h"

namespace attnserve::server::testing {
namespace {

constexpr char kLabels[] = "method=\"encode\",model=\"enc\"";

double Series(const std::string& metrics, const std::string& name,
              const std::string& labels = kLabels) {
  return MetricValue(metrics, absl::StrCat(name, "{", labels, "}"));
}

double Requests(const std::string& metrics, const std::string& code) {
  return Series(metrics, "attnserve_requests_total",
                absl::StrCat("code=\"", code, "\",", kLabels));
}

// Runs attnserve-loadgen (open loop, one text per call) against `port` with
// `flags`; the counts by code of its JSON report.
std::map<std::string, double> RunLoadgen(int port, const std::string& flags,
                                         const std::string& name) {
  const std::string dir = ::testing::TempDir();
  const std::string report = absl::StrCat(dir, "/", name, ".json");
  const std::string command = absl::StrCat(
      "timeout 120 ", ATTNSERVE_BIN_DIR,
      "/attnserve-loadgen --target=", "127.0.0.1:", port,
      " --encode_model=enc --mix=encode=1 --rate=500 --concurrency=32"
      " --duration=3s --fail_on_unexpected ",
      flags, " --json_out=", report, " > ", dir, "/", name, ".out 2>&1");
  EXPECT_EQ(std::system(command.c_str()), 0) << command;
  const nlohmann::json run = nlohmann::json::parse(std::ifstream(report));
  std::map<std::string, double> codes;
  uint64_t answered = 0;
  for (const auto& [code, count] : run.at("codes").items()) {
    codes[code] = count.get<double>();
    answered += count.get<uint64_t>();
    EXPECT_TRUE(code == "OK" || code == "RESOURCE_EXHAUSTED" ||
                code == "DEADLINE_EXCEEDED")
        << count << " calls answered " << code;
  }
  EXPECT_EQ(answered, run.at("requests").get<uint64_t>());
  return codes;
}

// Batches close after 50 ms (or 64 texts) and at most 16 texts wait: at 500
// calls/s about 25 arrive per batch, so the queue overflows every batch; a
// call with a deadline of at most 20 ms that arrives early in a batch's wait
// expires in the queue.
class ServerOverloadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string config =
        ::testing::TempDir() + "/attnserve_overload.txtpb";
    std::ofstream(config) << "model { name: \"enc\" path: \""
                          << GoldenDir("bert-tiny")
                          << "\" batching { max_batch_size: 64 "
                             "max_queue_delay_us: 50000 max_queue_size: 16 } "
                             "}\n";
    // One compute thread: ctest -j2 runs another test on the same 2 cores,
    // and a 2-thread OpenMP team then waits out time slices at its barriers.
    // Measured with two busy loops on the cores: 2 threads computed bert-tiny
    // at 8.2 ms per token (73 OK/s; admission refused even 5 s deadlines,
    // which the loadgen counts as unexpected: this test failed in a
    // fresh-clone run); 1 thread served 309 OK/s. The test is about admission
    // and expiry, not about the team.
    ASSERT_TRUE(server_.Start({"--config=" + config, "--threads=1"}).ok())
        << server_.Log();
    ASSERT_TRUE(server_.WaitHealth("", 1).ok());
  }
  void TearDown() override { EXPECT_EQ(*server_.Stop(), 0); }

  std::string Metrics() {
    absl::StatusOr<std::string> metrics = FetchMetrics(server_.metrics_port());
    EXPECT_TRUE(metrics.ok()) << metrics.status();
    return metrics.value_or("");
  }

  ServerProcess server_;
};

// Deadlines far from the completion times: the server's counts by code are
// the client's, exactly.
TEST_F(ServerOverloadTest, RefusedAndServedCallsAreCountedAlike) {
  std::map<std::string, double> client =
      RunLoadgen(server_.port(), "--deadline=5s", "attnserve_overload_counts");
  EXPECT_GT(client["OK"], 0);
  EXPECT_GT(client["RESOURCE_EXHAUSTED"], 0) << "the queue never overflowed";
  const std::string metrics = Metrics();
  for (const auto& [code, count] : client) {
    EXPECT_EQ(Requests(metrics, code), count)
        << "server and client disagree on " << code;
  }
}

// Short deadlines: texts expire in the queue, are answered DEADLINE_EXCEEDED
// and are never computed. (A call finishing within the network transit of its
// deadline is OK for the server and DEADLINE_EXCEEDED for the client, and one
// whose deadline passes in transit never reaches the server: only
// inequalities hold between the two sides here.)
TEST_F(ServerOverloadTest, TextsPastTheirDeadlineAreDroppedNotComputed) {
  std::map<std::string, double> client = RunLoadgen(
      server_.port(),
      "--deadline=5s --short_deadline_fraction=0.3 --short_deadline=20ms",
      "attnserve_overload_expiry");
  const std::string metrics = Metrics();
  const double ok = Requests(metrics, "OK");
  const double late = Requests(metrics, "DEADLINE_EXCEEDED");
  // What the client saw as OK or RESOURCE_EXHAUSTED the server sent.
  EXPECT_GE(Requests(metrics, "RESOURCE_EXHAUSTED"),
            client["RESOURCE_EXHAUSTED"]);
  EXPECT_GE(ok, client["OK"]);
  EXPECT_LE(late, client["DEADLINE_EXCEEDED"]);
  ASSERT_GT(ok, 0);
  const double computed = Series(metrics, "attnserve_batch_size_sum");
  const double expired = Series(metrics, "attnserve_expired_texts_total");
  EXPECT_GT(expired, 0) << "no text expired in the queue: the test proves "
                           "nothing";
  // One text per call: every OK text was computed, and a text both dropped for
  // its deadline and computed would make the sum exceed the calls that could
  // have been computed or dropped (OK + DEADLINE_EXCEEDED).
  EXPECT_GE(computed, ok);
  EXPECT_LE(computed + expired, ok + late)
      << "texts dropped for their deadline were computed too";
}

}  // namespace
}  // namespace attnserve::server::testing

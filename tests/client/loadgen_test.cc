// attnserve-loadgen: statistics, argument parsing, and the load engine against
// an in-process fake Inference service (so these tests need no model).
#include "client/loadgen.h"

#include <grpcpp/grpcpp.h>

#include <cmath>
#include <numeric>

#include "client/loadgen_config.h"
#include "client/loadgen_stats.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace attnserve::client {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(PercentileTest, NearestRankOnOneToHundred) {
  std::vector<double> v(100);
  std::iota(v.begin(), v.end(), 1.0);
  EXPECT_EQ(Percentile(v, 50), 50.0);
  EXPECT_EQ(Percentile(v, 90), 90.0);
  EXPECT_EQ(Percentile(v, 99), 99.0);
  EXPECT_EQ(Percentile(v, 99.5), 100.0);
  EXPECT_EQ(Percentile(v, 100), 100.0);
  EXPECT_EQ(Percentile(v, 0), 1.0);
}

TEST(PercentileTest, SmallAndEmptyInputs) {
  EXPECT_EQ(Percentile({}, 50), 0.0);
  EXPECT_EQ(Percentile({7.0}, 1), 7.0);
  EXPECT_EQ(Percentile({7.0}, 99), 7.0);
  // Nearest rank of 4 values: p50 -> rank 2, p90 -> rank ceil(3.6) = 4.
  std::vector<double> v = {1.0, 2.0, 3.0, 10.0};
  EXPECT_EQ(Percentile(v, 50), 2.0);
  EXPECT_EQ(Percentile(v, 75), 3.0);
  EXPECT_EQ(Percentile(v, 76), 10.0);
  EXPECT_EQ(Percentile(v, 90), 10.0);
}

TEST(SummarizeTest, SortsAndComputesMeanAndMax) {
  LatencySummary s = Summarize({5.0, 1.0, 3.0, 2.0, 4.0});
  EXPECT_EQ(s.count, 5u);
  EXPECT_DOUBLE_EQ(s.mean_ms, 3.0);
  EXPECT_EQ(s.p50_ms, 3.0);
  EXPECT_EQ(s.p90_ms, 5.0);
  EXPECT_EQ(s.max_ms, 5.0);
  EXPECT_EQ(Summarize({}).count, 0u);
}

TEST(BuildReportTest, CountsCodesThroughputAndOkOnlyLatency) {
  std::vector<RequestRecord> records = {
      {RequestKind::kEncode, absl::StatusCode::kOk, 10.0, 2, 20, 0, 0},
      {RequestKind::kEncode, absl::StatusCode::kOk, 30.0, 1, 10, 0, 0},
      {RequestKind::kTranslate, absl::StatusCode::kOk, 20.0, 1, 8, 12, 0},
      {RequestKind::kTranslate, absl::StatusCode::kDeadlineExceeded, 500.0, 1,
       0, 0, 0},
      {RequestKind::kTranslateStream, absl::StatusCode::kOk, 40.0, 1, 5, 5,
       7.0},
  };
  LoadgenReport r = BuildReport(records, 2.0, 0.0);
  EXPECT_EQ(r.requests, 5u);
  EXPECT_EQ(r.ok, 4u);
  EXPECT_EQ(r.texts, 5u);
  EXPECT_EQ(r.input_tokens, 43u);
  EXPECT_EQ(r.output_tokens, 17u);
  EXPECT_DOUBLE_EQ(r.requests_per_s, 2.5);
  EXPECT_DOUBLE_EQ(r.texts_per_s, 2.5);
  EXPECT_DOUBLE_EQ(r.tokens_per_s, 30.0);
  EXPECT_EQ(r.codes.at("OK"), 4u);
  EXPECT_EQ(r.codes.at("DEADLINE_EXCEEDED"), 1u);
  EXPECT_EQ(r.latency.count, 4u);
  EXPECT_EQ(r.latency.max_ms, 40.0);  // the 500 ms failure is not in OK latency
  EXPECT_EQ(r.kinds.at("translate").requests, 2u);
  EXPECT_EQ(r.kinds.at("translate").ok, 1u);
  EXPECT_EQ(r.stream_first_message.p50_ms, 7.0);

  nlohmann::json json = ReportToJson(r);
  EXPECT_EQ(json["codes"]["DEADLINE_EXCEEDED"], 1);
  EXPECT_EQ(json["latency"]["p99_ms"], 40.0);
  EXPECT_EQ(json["throughput"]["requests_per_s"], 2.5);
  EXPECT_THAT(FormatReport(r), HasSubstr("DEADLINE_EXCEEDED=1"));
}

TEST(ParseMixTest, NormalisesWeights) {
  absl::StatusOr<Mix> mix = ParseMix("encode=0.7, translate=0.2,stream=0.1");
  ASSERT_TRUE(mix.ok()) << mix.status();
  EXPECT_NEAR(mix->weight(RequestKind::kEncode), 0.7, 1e-12);
  EXPECT_NEAR(mix->weight(RequestKind::kTranslate), 0.2, 1e-12);
  EXPECT_NEAR(mix->weight(RequestKind::kTranslateStream), 0.1, 1e-12);

  mix = ParseMix("translate=3,translate_stream=1");
  ASSERT_TRUE(mix.ok()) << mix.status();
  EXPECT_EQ(mix->weight(RequestKind::kEncode), 0.0);
  EXPECT_DOUBLE_EQ(mix->weight(RequestKind::kTranslate), 0.75);
}

TEST(ParseMixTest, RejectsBadSpecs) {
  EXPECT_THAT(ParseMix("encode=0.5,decode=0.5").status().message(),
              HasSubstr("unknown kind \"decode\""));
  EXPECT_FALSE(ParseMix("encode=-1,translate=2").ok());
  EXPECT_FALSE(ParseMix("encode").ok());
  EXPECT_FALSE(ParseMix("encode=abc").ok());
  EXPECT_FALSE(ParseMix("encode=nan").ok());
  EXPECT_THAT(ParseMix("encode=0").status().message(),
              HasSubstr("no positive weight"));
  EXPECT_FALSE(ParseMix("").ok());
}

TEST(MixTest, PickFollowsCumulativeWeights) {
  Mix mix = *ParseMix("encode=0.5,stream=0.5");
  EXPECT_EQ(mix.Pick(0.0), RequestKind::kEncode);
  EXPECT_EQ(mix.Pick(0.49), RequestKind::kEncode);
  EXPECT_EQ(mix.Pick(0.5), RequestKind::kTranslateStream);
  EXPECT_EQ(mix.Pick(0.999999), RequestKind::kTranslateStream);
  EXPECT_EQ(mix.Pick(1.0), RequestKind::kTranslateStream);  // rounding guard
}

LoadgenConfig ValidConfig() {
  LoadgenConfig c;
  c.mix = *ParseMix("encode=1,translate=1");
  c.encode_model = "e";
  c.translate_model = "t";
  c.texts = BuiltinTexts();
  return c;
}

TEST(ValidateConfigTest, AcceptsDefaultsAndRejectsUnboundedOrIncomplete) {
  EXPECT_TRUE(ValidateConfig(ValidConfig()).ok());
  LoadgenConfig c = ValidConfig();
  c.duration = absl::ZeroDuration();
  EXPECT_THAT(ValidateConfig(c).message(), HasSubstr("stop by itself"));
  c.requests = 10;
  EXPECT_TRUE(ValidateConfig(c).ok());
  c = ValidConfig();
  c.translate_model.clear();
  EXPECT_THAT(ValidateConfig(c).message(), HasSubstr("--translate_model"));
  c = ValidConfig();
  c.concurrency = 0;
  EXPECT_FALSE(ValidateConfig(c).ok());
  c = ValidConfig();
  c.rate = -1;
  EXPECT_FALSE(ValidateConfig(c).ok());
  c = ValidConfig();
  c.texts.clear();
  EXPECT_FALSE(ValidateConfig(c).ok());
  c = ValidConfig();
  c.texts_per_request = 0;
  EXPECT_FALSE(ValidateConfig(c).ok());
}

TEST(BuiltinTextsTest, VariedLengths) {
  std::vector<std::string> texts = BuiltinTexts();
  ASSERT_GE(texts.size(), 10u);
  size_t shortest = texts[0].size(), longest = texts[0].size();
  for (const std::string& t : texts) {
    shortest = std::min(shortest, t.size());
    longest = std::max(longest, t.size());
  }
  EXPECT_LT(shortest, 15u);
  EXPECT_GT(longest, 100u);
}

// Answers Encode with 3 input tokens per text, Translate with
// RESOURCE_EXHAUSTED, and TranslateStream with two messages, the last one
// carrying usage {4, 6}.
class FakeInference final : public v1::Inference::Service {
 public:
  grpc::Status Encode(grpc::ServerContext*, const v1::EncodeRequest* request,
                      v1::EncodeResponse* response) override {
    response->mutable_usage()->set_input_tokens(3 * request->texts_size());
    return grpc::Status::OK;
  }
  grpc::Status Translate(grpc::ServerContext*, const v1::TranslateRequest*,
                         v1::TranslateResponse*) override {
    return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, "queue full");
  }
  grpc::Status TranslateStream(
      grpc::ServerContext*, const v1::TranslateRequest*,
      grpc::ServerWriter<v1::TranslateStreamResponse>* writer) override {
    v1::TranslateStreamResponse m;
    m.set_text_delta("a");
    writer->Write(m);
    m.set_finished(true);
    m.mutable_usage()->set_input_tokens(4);
    m.mutable_usage()->set_output_tokens(6);
    writer->Write(m);
    return grpc::Status::OK;
  }
};

class LoadGeneratorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                             &port_);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    ASSERT_GT(port_, 0);
    ConnectionOptions connection;
    connection.target = "127.0.0.1:" + std::to_string(port_);
    client_ = std::make_unique<InferenceClient>(*MakeChannel(connection),
                                                CallOptions());
  }
  void TearDown() override { server_->Shutdown(); }

  FakeInference service_;
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<InferenceClient> client_;
};

TEST_F(LoadGeneratorTest, ClosedLoopSendsExactlyTheRequestCount) {
  LoadgenConfig c = ValidConfig();
  c.mix = *ParseMix("encode=0.5,translate=0.25,stream=0.25");
  c.concurrency = 3;
  c.requests = 60;
  c.texts_per_request = 2;
  LoadgenReport r = LoadGenerator(c, client_.get()).Run();
  EXPECT_EQ(r.requests, 60u);
  const uint64_t encodes = r.kinds["encode"].requests;
  const uint64_t translates = r.kinds["translate"].requests;
  const uint64_t streams = r.kinds["stream"].requests;
  EXPECT_EQ(encodes + translates + streams, 60u);
  EXPECT_GT(encodes, 0u);
  EXPECT_GT(translates, 0u);
  EXPECT_GT(streams, 0u);
  EXPECT_EQ(r.codes["RESOURCE_EXHAUSTED"], translates);
  EXPECT_EQ(r.ok, encodes + streams);
  EXPECT_EQ(r.texts, 2 * r.ok);
  EXPECT_EQ(r.input_tokens, 6 * encodes + 4 * streams);
  EXPECT_EQ(r.output_tokens, 6 * streams);
  EXPECT_EQ(r.stream_first_message.count, streams);
  EXPECT_GT(r.latency.p50_ms, 0.0);
  EXPECT_LE(r.latency.p50_ms, r.latency.p99_ms);
}

TEST_F(LoadGeneratorTest, OpenLoopKeepsTheRate) {
  LoadgenConfig c = ValidConfig();
  c.mix = *ParseMix("encode=1");
  c.concurrency = 2;
  c.rate = 100;  // request i is due at i * 10 ms
  c.requests = 20;
  LoadgenReport r = LoadGenerator(c, client_.get()).Run();
  EXPECT_EQ(r.requests, 20u);
  EXPECT_EQ(r.ok, 20u);
  // The last request is due at 190 ms; a fake call takes far less than 10 ms.
  EXPECT_GE(r.elapsed_s, 0.19);
  EXPECT_LT(r.elapsed_s, 5.0);
}

TEST_F(LoadGeneratorTest, DurationBoundsTheRun) {
  LoadgenConfig c = ValidConfig();
  c.mix = *ParseMix("encode=1");
  c.concurrency = 2;
  c.duration = absl::Milliseconds(300);
  LoadgenReport r = LoadGenerator(c, client_.get()).Run();
  EXPECT_GE(r.elapsed_s, 0.3);
  EXPECT_LT(r.elapsed_s, 5.0);
  EXPECT_GT(r.requests, 0u);
  EXPECT_EQ(r.ok, r.requests);
}

}  // namespace
}  // namespace attnserve::client

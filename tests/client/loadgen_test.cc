// attnserve-loadgen: statistics, argument parsing, and the load engine against
// an in-process fake Inference service (so these tests need no model).
#include "client/loadgen.h"

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <cmath>
#include <map>
#include <numeric>
#include <random>

#include "absl/time/clock.h"
#include "client/loadgen_config.h"
#include "client/loadgen_faults.h"
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

TEST(FaultsTest, ExpectedCodesPerFault) {
  using absl::StatusCode;
  EXPECT_TRUE(IsExpectedCode(FaultKind::kNone, StatusCode::kOk));
  EXPECT_FALSE(IsExpectedCode(FaultKind::kNone, StatusCode::kInternal));
  EXPECT_FALSE(IsExpectedCode(FaultKind::kNone, StatusCode::kUnknown));
  EXPECT_FALSE(IsExpectedCode(FaultKind::kNone, StatusCode::kCancelled));
  EXPECT_TRUE(IsExpectedCode(FaultKind::kCancel, StatusCode::kCancelled));
  EXPECT_TRUE(IsExpectedCode(FaultKind::kCancel, StatusCode::kOk));
  EXPECT_FALSE(IsExpectedCode(FaultKind::kCancel, StatusCode::kInternal));
  EXPECT_TRUE(
      IsExpectedCode(FaultKind::kShortDeadline, StatusCode::kDeadlineExceeded));
  EXPECT_FALSE(
      IsExpectedCode(FaultKind::kShortDeadline, StatusCode::kCancelled));
  EXPECT_TRUE(
      IsExpectedCode(FaultKind::kEmptyTexts, StatusCode::kInvalidArgument));
  EXPECT_FALSE(IsExpectedCode(FaultKind::kEmptyTexts, StatusCode::kOk));
  EXPECT_FALSE(IsExpectedCode(FaultKind::kInvalidUtf8, StatusCode::kInternal));
  EXPECT_TRUE(IsExpectedCode(FaultKind::kUnknownModel, StatusCode::kNotFound));
  EXPECT_FALSE(IsExpectedCode(FaultKind::kUnknownModel, StatusCode::kOk));
  EXPECT_TRUE(IsExpectedCode(FaultKind::kDisconnect, StatusCode::kUnavailable));
  EXPECT_FALSE(IsExpectedCode(FaultKind::kSlowReader, StatusCode::kCancelled));
  EXPECT_TRUE(ClientMayEndAlone(FaultKind::kDisconnect));
  EXPECT_FALSE(ClientMayEndAlone(FaultKind::kSlowReader));
}

TEST(FaultsTest, PickFaultFollowsTheFractions) {
  FaultConfig f;
  f.cancel_fraction = 0.1;
  f.short_deadline_fraction = 0.1;
  f.oversized_fraction = 0.1;
  f.malformed_fraction = 0.3;
  f.slow_reader_fraction = 0.1;
  f.disconnect_fraction = 0.1;
  ASSERT_TRUE(ValidateFaultConfig(f).ok());
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  std::map<FaultKind, int> counts;
  const int n = 20000;
  for (int i = 0; i < n; ++i) {
    RequestKind kind =
        i % 2 == 0 ? RequestKind::kEncode : RequestKind::kTranslate;
    const FaultKind fault = PickFault(f, u(rng), rng, &kind);
    ++counts[fault];
    if (fault == FaultKind::kSlowReader) {
      EXPECT_EQ(kind, RequestKind::kTranslateStream);
    }
    if (fault == FaultKind::kOversizedText) {
      EXPECT_EQ(kind, RequestKind::kEncode);  // Translate always truncates
    }
  }
  auto fraction = [&](FaultKind k) { return counts[k] / double(n); };
  EXPECT_NEAR(fraction(FaultKind::kNone), 0.2, 0.02);
  EXPECT_NEAR(fraction(FaultKind::kCancel), 0.1, 0.02);
  EXPECT_NEAR(
      fraction(FaultKind::kOversizedText) + fraction(FaultKind::kTooManyTexts),
      0.1, 0.02);
  EXPECT_NEAR(fraction(FaultKind::kOversizedText), 0.025, 0.01);
  EXPECT_NEAR(fraction(FaultKind::kEmptyTexts), 0.1, 0.02);
  EXPECT_NEAR(fraction(FaultKind::kInvalidUtf8), 0.1, 0.02);
  EXPECT_NEAR(fraction(FaultKind::kUnknownModel), 0.1, 0.02);
  EXPECT_NEAR(fraction(FaultKind::kDisconnect), 0.1, 0.02);

  f.malformed_fraction = 0.7;
  EXPECT_THAT(ValidateFaultConfig(f).message(), HasSubstr("sum to <= 1"));
  f.malformed_fraction = -0.1;
  EXPECT_FALSE(ValidateFaultConfig(f).ok());
}

TEST(BuildReportTest, CountsFaultsOutcomesAndUnexpectedCodes) {
  std::vector<RequestRecord> records(4);
  records[0].fault = FaultKind::kEmptyTexts;
  records[0].code = absl::StatusCode::kInvalidArgument;
  records[0].model = "e";
  records[1].fault = FaultKind::kEmptyTexts;
  records[1].code = absl::StatusCode::kOk;  // a malformed call answered OK
  records[1].model = "e";
  records[2].code =
      absl::StatusCode::kInternal;  // a good call answered INTERNAL
  records[2].model = "e";
  records[2].message = "boom";
  records[3].code = absl::StatusCode::kOk;
  records[3].model = "e";
  LoadgenReport r = BuildReport(records, 1.0, 0.0);
  EXPECT_EQ(r.unexpected, 2u);
  EXPECT_EQ(r.faults.at("empty_texts").requests, 2u);
  EXPECT_EQ(r.faults.at("empty_texts").unexpected, 1u);
  EXPECT_EQ(r.faults.at("none").codes.at("INTERNAL"), 1u);
  ASSERT_EQ(r.unexpected_examples.size(), 2u);
  EXPECT_THAT(r.unexpected_examples[1], HasSubstr("INTERNAL boom"));
  ASSERT_EQ(r.outcomes.size(), 4u);
  nlohmann::json json = ReportToJson(r);
  EXPECT_EQ(json["unexpected"], 2);
  EXPECT_EQ(json["faults"]["none"]["codes"]["OK"], 1);
  int counted = 0;
  for (const nlohmann::json& o : json["outcomes"])
    counted += o["count"].get<int>();
  EXPECT_EQ(counted, 4);
  EXPECT_THAT(FormatReport(r), HasSubstr("unexpected   2"));
}

// Answers Encode with 3 input tokens per text, Translate with
// RESOURCE_EXHAUSTED, and TranslateStream with two messages, the last one
// carrying usage {4, 6}.
class FakeInference final : public v1::Inference::Service {
 public:
  grpc::Status Encode(grpc::ServerContext* context,
                      const v1::EncodeRequest* request,
                      v1::EncodeResponse* response) override {
    if (request->model() != "e") {
      return grpc::Status(grpc::StatusCode::NOT_FOUND, "no such model");
    }
    if (request->texts_size() == 0 || request->texts_size() > 4) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "texts count");
    }
    for (const std::string& text : request->texts()) {
      if (!request->truncate() && text.size() > 40) {
        return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "too long");
      }
    }
    // A slow call: polls for the client's cancellation like a server does.
    for (int i = 0; i < encode_delay_ms; ++i) {
      if (context->IsCancelled()) {
        return grpc::Status(grpc::StatusCode::CANCELLED, "cancelled");
      }
      absl::SleepFor(absl::Milliseconds(1));
    }
    response->mutable_usage()->set_input_tokens(3 * request->texts_size());
    return grpc::Status::OK;
  }
  std::atomic<int> encode_delay_ms{0};
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
    m.set_text_delta("b");
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
    channel_ = *MakeChannel(connection);
  }
  void TearDown() override { server_->Shutdown(); }

  FakeInference service_;
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
};

TEST_F(LoadGeneratorTest, ClosedLoopSendsExactlyTheRequestCount) {
  LoadgenConfig c = ValidConfig();
  c.mix = *ParseMix("encode=0.5,translate=0.25,stream=0.25");
  c.concurrency = 3;
  c.requests = 60;
  c.texts_per_request = 2;
  LoadgenReport r = LoadGenerator(c, channel_, CallOptions()).Run();
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
  LoadgenReport r = LoadGenerator(c, channel_, CallOptions()).Run();
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
  LoadgenReport r = LoadGenerator(c, channel_, CallOptions()).Run();
  EXPECT_GE(r.elapsed_s, 0.3);
  EXPECT_LT(r.elapsed_s, 5.0);
  EXPECT_GT(r.requests, 0u);
  EXPECT_EQ(r.ok, r.requests);
}

LoadgenConfig FaultConfigFor(int port) {
  LoadgenConfig c = ValidConfig();
  c.mix = *ParseMix("encode=1");
  c.concurrency = 2;
  c.truncate = true;
  c.encode_max_input_tokens = 8;  // "word " * 16 is 80 bytes > 40
  c.encode_max_texts = 4;
  c.translate_max_texts = 4;
  c.target = "127.0.0.1:" + std::to_string(port);
  return c;
}

TEST_F(LoadGeneratorTest, MalformedAndOversizedCallsGetTheirCodes) {
  LoadgenConfig c = FaultConfigFor(port_);
  c.faults.oversized_fraction = 0.4;
  c.faults.malformed_fraction = 0.6;
  c.requests = 120;
  LoadgenReport r = LoadGenerator(c, channel_, CallOptions()).Run();
  EXPECT_EQ(r.requests, 120u);
  EXPECT_EQ(r.faults.count("none"), 0u);
  EXPECT_GT(r.faults["oversized_text"].requests, 0u);
  EXPECT_GT(r.faults["too_many_texts"].requests, 0u);
  EXPECT_GT(r.faults["empty_texts"].requests, 0u);
  EXPECT_GT(r.faults["unknown_model"].requests, 0u);
  EXPECT_EQ(r.faults["unknown_model"].codes["NOT_FOUND"],
            r.faults["unknown_model"].requests);
  EXPECT_EQ(r.faults["empty_texts"].codes["INVALID_ARGUMENT"],
            r.faults["empty_texts"].requests);
  EXPECT_EQ(r.faults["oversized_text"].codes["INVALID_ARGUMENT"],
            r.faults["oversized_text"].requests);
  // The fake (a plain generated service) cannot parse invalid UTF-8 into its
  // proto3 request: gRPC answers for it before any handler runs.
  const FaultReport& utf8 = r.faults["invalid_utf8"];
  EXPECT_GT(utf8.requests, 0u);
  EXPECT_EQ(utf8.codes.size(), 1u);
  std::cerr << "invalid UTF-8 answered with " << utf8.codes.begin()->first
            << "\n";
  EXPECT_EQ(r.unexpected, utf8.unexpected);
}

TEST_F(LoadGeneratorTest, CancelDeadlineAndDisconnectEndSlowCallsEarly) {
  service_.encode_delay_ms = 300;
  LoadgenConfig c = FaultConfigFor(port_);
  c.faults.cancel_fraction = 0.3;
  c.faults.short_deadline_fraction = 0.3;
  c.faults.disconnect_fraction = 0.4;
  c.faults.cancel_after_max = absl::Milliseconds(50);
  c.faults.disconnect_after_max = absl::Milliseconds(50);
  c.concurrency = 4;
  c.requests = 40;
  LoadgenReport r = LoadGenerator(c, channel_, CallOptions()).Run();
  EXPECT_EQ(r.requests, 40u);
  EXPECT_EQ(r.unexpected, 0u) << FormatReport(r);
  EXPECT_EQ(r.faults["cancel"].codes["CANCELLED"], r.faults["cancel"].requests);
  EXPECT_EQ(r.faults["short_deadline"].codes["DEADLINE_EXCEEDED"],
            r.faults["short_deadline"].requests);
  EXPECT_EQ(r.faults["disconnect"].codes["UNAVAILABLE"],
            r.faults["disconnect"].requests);
  EXPECT_GT(r.faults["disconnect"].requests, 0u);
  // Every call ended long before the 300 ms the fake takes.
  EXPECT_LT(r.elapsed_s, 40 * 0.3 / 4);
}

TEST_F(LoadGeneratorTest, SlowReadersReadEveryMessage) {
  LoadgenConfig c = FaultConfigFor(port_);
  c.mix = *ParseMix("encode=1");
  c.faults.slow_reader_fraction = 1.0;
  c.faults.slow_read_pause = absl::Milliseconds(20);
  c.requests = 4;
  c.concurrency = 1;
  LoadgenReport r = LoadGenerator(c, channel_, CallOptions()).Run();
  EXPECT_EQ(r.faults["slow_reader"].codes["OK"], 4u);
  EXPECT_EQ(r.kinds["stream"].requests, 4u);  // a slow reader always streams
  EXPECT_EQ(r.output_tokens, 4 * 6u);
  // Four reads (three messages and the end of the stream) per call.
  EXPECT_GE(r.elapsed_s, 4 * 4 * 0.02);
}

}  // namespace
}  // namespace attnserve::client

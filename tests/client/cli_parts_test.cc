// attnserve-client building blocks that need no server: text sources, flag
// parsing, output.
#include <fstream>
#include <sstream>

#include "client/channel.h"
#include "client/commands.h"
#include "client/output.h"
#include "client/texts.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace attnserve::client {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(TextsTest, ArgumentsComeFirstThenStdinFile) {
  std::istringstream in("b\r\n\nc\n");
  auto texts = CollectTexts({"a"}, "-", in, /*stdin_is_tty=*/false);
  ASSERT_TRUE(texts.ok()) << texts.status();
  EXPECT_THAT(*texts, ElementsAre("a", "b", "", "c"));
}

TEST(TextsTest, StdinIsReadOnlyWithoutArgumentsAndWhenNotATty) {
  std::istringstream in("x\ny");
  EXPECT_THAT(*CollectTexts({}, "", in, false), ElementsAre("x", "y"));
  std::istringstream in2("x\ny");
  EXPECT_THAT(*CollectTexts({"a"}, "", in2, false), ElementsAre("a"));
  std::istringstream in3("x\ny");
  EXPECT_FALSE(CollectTexts({}, "", in3, /*stdin_is_tty=*/true).ok());
}

TEST(TextsTest, MissingFileAndNoTextsAreErrors) {
  std::istringstream in("");
  EXPECT_THAT(
      CollectTexts({}, "/nonexistent/texts.txt", in, true).status().message(),
      HasSubstr("/nonexistent/texts.txt"));
  EXPECT_THAT(CollectTexts({}, "", in, false).status().message(),
              HasSubstr("no texts"));
}

TEST(ChannelTest, GrpcMessageSizeErrorsSayWhichLimitAndNotToRetry) {
  const absl::Status size = FromGrpcStatus(
      grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                   "Received message larger than max (8215 vs. 4096)"));
  EXPECT_EQ(size.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(std::string(size.message()),
              ::testing::AllOf(
                  ::testing::StartsWith("Received message larger than max"),
                  ::testing::HasSubstr("--max_message_bytes"),
                  ::testing::HasSubstr("not retryable")));
  // The server's own messages already say it: kept as they are.
  const std::string queue_full =
      "model 'm' queue is full: 3 texts waiting + 1 of this call > "
      "batching.max_queue_size 3; retryable: retry later with back-off";
  EXPECT_EQ(FromGrpcStatus(
                grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, queue_full))
                .message(),
            queue_full);
}

TEST(FlagsTest, Pooling) {
  EXPECT_EQ(*ParsePooling(""), v1::POOLING_UNSPECIFIED);
  EXPECT_EQ(*ParsePooling("mean"), v1::POOLING_MEAN);
  EXPECT_EQ(*ParsePooling("CLS"), v1::POOLING_CLS);
  EXPECT_EQ(*ParsePooling("max"), v1::POOLING_MAX);
  EXPECT_EQ(*ParsePooling("mean_sqrt_len_tokens"), v1::POOLING_MEAN_SQRT_LEN);
  EXPECT_EQ(*ParsePooling("weighted_mean"), v1::POOLING_WEIGHTED_MEAN);
  EXPECT_EQ(*ParsePooling("lasttoken"), v1::POOLING_LAST_TOKEN);
  EXPECT_THAT(ParsePooling("sum").status().message(),
              HasSubstr("mean, cls, max, mean_sqrt_len_tokens"));
}

TEST(FlagsTest, TruncationDirection) {
  EXPECT_EQ(*ParseTruncationDirection(""),
            v1::TRUNCATION_DIRECTION_UNSPECIFIED);
  EXPECT_EQ(*ParseTruncationDirection("left"), v1::TRUNCATION_DIRECTION_LEFT);
  EXPECT_EQ(*ParseTruncationDirection("Right"), v1::TRUNCATION_DIRECTION_RIGHT);
  EXPECT_THAT(ParseTruncationDirection("middle").status().message(),
              HasSubstr("right, left"));
}

TEST(FlagsTest, OptionalBool) {
  EXPECT_FALSE(ParseOptionalBool("normalize", "")->has_value());
  EXPECT_EQ(**ParseOptionalBool("normalize", "true"), true);
  EXPECT_EQ(**ParseOptionalBool("normalize", "0"), false);
  EXPECT_FALSE(ParseOptionalBool("normalize", "maybe").ok());
}

TEST(CommandsTest, Validation) {
  EXPECT_TRUE(ValidateCommand("health", {}).ok());
  EXPECT_TRUE(ValidateCommand("health", {"attnserve.v1.Inference"}).ok());
  EXPECT_FALSE(ValidateCommand("health", {"a", "b"}).ok());
  EXPECT_FALSE(ValidateCommand("models", {"x"}).ok());
  EXPECT_FALSE(ValidateCommand("model", {}).ok());
  EXPECT_TRUE(ValidateCommand("encode", {"a"}).ok());
  EXPECT_THAT(ValidateCommand("embed", {}).message(),
              HasSubstr("unknown command"));
}

TEST(TokenTest, TokenFileIsTrimmedAndExclusiveWithToken) {
  const std::string path = ::testing::TempDir() + "/token.txt";
  {
    std::ofstream out(path);
    out << "  s3cret\n";
  }
  EXPECT_EQ(*ResolveToken("", path), "s3cret");
  EXPECT_EQ(*ResolveToken("abc", ""), "abc");
  EXPECT_FALSE(ResolveToken("abc", path).ok());
  EXPECT_FALSE(ResolveToken("", path + ".missing").ok());
}

TEST(ChannelTest, TlsFlagCombinations) {
  ConnectionOptions o;
  o.tls_ca_file = "/x.pem";
  EXPECT_THAT(MakeChannel(o).status().message(), HasSubstr("need --tls"));
  o.tls = true;
  o.tls_ca_file.clear();
  o.tls_cert_file = "/cert.pem";
  EXPECT_THAT(MakeChannel(o).status().message(), HasSubstr("--tls_key"));
  o.tls_cert_file.clear();
  EXPECT_TRUE(MakeChannel(o).ok());
}

TEST(OutputTest, EncodeReadableAndJson) {
  v1::EncodeResponse r;
  r.set_model("m");
  r.set_dimensions(8);
  v1::Embedding* e = r.add_embeddings();
  for (int i = 0; i < 8; ++i)
    e->add_values(i == 0 ? 0.6f : (i == 1 ? 0.8f : 0.0f));
  e->set_input_tokens(5);
  r.mutable_usage()->set_input_tokens(5);
  EXPECT_NEAR(L2Norm(*e), 1.0, 1e-6);
  const std::string text = FormatEncode(r, {"hello"});
  EXPECT_THAT(text, HasSubstr("dims=8 norm=1.000000 tokens=5"));
  EXPECT_THAT(text, HasSubstr("0.600000, 0.800000"));
  EXPECT_THAT(text, HasSubstr("...]"));  // only the first values are shown
  EXPECT_THAT(text, HasSubstr("usage: input_tokens=5 model=m"));
  nlohmann::json json = EncodeToJson(r);
  EXPECT_EQ(json["embeddings"][0]["values"].size(), 8u);
  EXPECT_FLOAT_EQ(json["embeddings"][0]["values"][1].get<float>(), 0.8f);
  EXPECT_EQ(json["usage"]["input_tokens"], 5);
}

TEST(OutputTest, TranslateNBestAndStreamJson) {
  v1::Translation t;
  for (int k = 0; k < 2; ++k) {
    v1::Hypothesis* h = t.add_hypotheses();
    h->set_text(k == 0 ? "Hallo" : "Hi");
    h->set_score(-0.5f * (k + 1));
    h->add_token_ids(7);
    h->add_token_ids(0);
  }
  EXPECT_EQ(FormatTranslation(3, t),
            "[3.0] Hallo  (score -0.5000, 2 tokens)\n"
            "[3.1] Hi  (score -1.0000, 2 tokens)\n");
  v1::TranslateStreamResponse m;
  m.set_index(1);
  m.set_text_delta("Ha");
  m.add_token_ids(7);
  nlohmann::json json = StreamMessageToJson(m);
  EXPECT_EQ(json["text_delta"], "Ha");
  EXPECT_FALSE(json.contains("translation"));
  EXPECT_FALSE(json.contains("usage"));
}

TEST(OutputTest, EnumNames) {
  EXPECT_EQ(TaskName(v1::TASK_TRANSLATE), "translate");
  EXPECT_EQ(ModelStateName(v1::MODEL_STATE_READY), "ready");
  EXPECT_EQ(PoolingName(v1::POOLING_CLS), "cls");
  EXPECT_EQ(DTypeName(v1::DTYPE_BFLOAT16), "bfloat16");
}

}  // namespace
}  // namespace attnserve::client

// The public proto: wire round trips keep every field, proto3 `optional` keeps
// presence, and the ServerConfig text format documented in the proto parses.
#include <fstream>

#include "attnserve/v1/attnserve.pb.h"
#include "gtest/gtest.h"
#include "server/server_config.h"

namespace attnserve::server {
namespace {

template <typename T>
T RoundTrip(const T& message) {
  std::string bytes;
  EXPECT_TRUE(message.SerializeToString(&bytes));
  T parsed;
  EXPECT_TRUE(parsed.ParseFromString(bytes));
  return parsed;
}

TEST(ProtoTest, EncodeRequestRoundTripKeepsOptionalPresence) {
  v1::EncodeRequest request;
  request.set_model("minilm");
  request.add_texts("hello");
  request.add_texts("");
  request.set_truncate(true);
  request.set_pooling(v1::POOLING_CLS);
  EXPECT_FALSE(RoundTrip(request).has_normalize());
  request.set_normalize(false);
  const v1::EncodeRequest parsed = RoundTrip(request);
  EXPECT_TRUE(parsed.has_normalize());
  EXPECT_FALSE(parsed.normalize());
  EXPECT_EQ(parsed.texts_size(), 2);
  EXPECT_EQ(parsed.texts(1), "");
  EXPECT_EQ(parsed.pooling(), v1::POOLING_CLS);
  EXPECT_EQ(parsed.SerializeAsString(), request.SerializeAsString());
}

// An explicitly empty prompt ("no prompt, not even the default") must differ
// from an unset one on the wire.
TEST(ProtoTest, EncodeRequestFeaturesRoundTrip) {
  v1::EncodeRequest request;
  request.add_texts("hello");
  EXPECT_FALSE(RoundTrip(request).has_prompt());
  EXPECT_FALSE(RoundTrip(request).has_prompt_name());
  request.set_prompt("");
  request.set_prompt_name("query");
  request.set_dimensions(128);
  request.set_truncation_direction(v1::TRUNCATION_DIRECTION_LEFT);
  const v1::EncodeRequest parsed = RoundTrip(request);
  EXPECT_TRUE(parsed.has_prompt());
  EXPECT_EQ(parsed.prompt_name(), "query");
  EXPECT_EQ(parsed.dimensions(), 128u);
  EXPECT_EQ(parsed.truncation_direction(), v1::TRUNCATION_DIRECTION_LEFT);
}

TEST(ProtoTest, TranslateMessagesRoundTrip) {
  v1::TranslateRequest request;
  request.set_model("en-de");
  request.add_texts("The quick brown fox.");
  request.set_beam_size(4);
  request.set_max_new_tokens(16);
  request.set_length_penalty(0.0f);
  request.set_num_hypotheses(2);
  request.set_target_language("de");
  request.set_early_stopping(true);
  const v1::TranslateRequest parsed = RoundTrip(request);
  EXPECT_TRUE(parsed.has_length_penalty());
  EXPECT_EQ(parsed.length_penalty(), 0.0f);
  EXPECT_EQ(parsed.target_language(), "de");
  EXPECT_TRUE(parsed.early_stopping());

  v1::TranslateStreamResponse message;
  message.set_index(3);
  message.set_text_delta(" Fuchs");
  message.add_token_ids(17);
  v1::Hypothesis* hypothesis = message.mutable_translation()->add_hypotheses();
  hypothesis->set_text("Der Fuchs");
  hypothesis->set_score(-0.25f);
  hypothesis->add_token_ids(17);
  hypothesis->add_token_ids(0);
  message.set_finished(true);
  const v1::TranslateStreamResponse back = RoundTrip(message);
  EXPECT_EQ(back.index(), 3u);
  EXPECT_EQ(back.translation().hypotheses(0).token_ids_size(), 2);
  EXPECT_FLOAT_EQ(back.translation().hypotheses(0).score(), -0.25f);
  EXPECT_FALSE(back.has_usage());
}

TEST(ProtoTest, ServerConfigTextFormatFromTheProtoComment) {
  const std::string path =
      ::testing::TempDir() + "/attnserve_proto_test_config.txtpb";
  std::ofstream(path) << R"(
    model { name: "minilm" path: "/models/all-MiniLM-L6-v2" batching { max_batch_size: 64 } }
    model { name: "en-de" path: "/models/opus-mt-en-de" dtype: DTYPE_FLOAT32 }
  )";
  absl::StatusOr<v1::ServerConfig> config = ReadServerConfigFile(path);
  ASSERT_TRUE(config.ok()) << config.status();
  ASSERT_EQ(config->model_size(), 2);
  EXPECT_EQ(config->model(0).batching().max_batch_size(), 64u);
  EXPECT_EQ(config->model(1).dtype(), v1::DTYPE_FLOAT32);
  EXPECT_EQ(RoundTrip(*config).DebugString(), config->DebugString());
}

}  // namespace
}  // namespace attnserve::server

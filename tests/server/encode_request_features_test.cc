// The Encode request features over real gRPC (attnserve-server child process):
// prompt_name / prompt / default prompt, include_prompt false, dimensions with
// and without normalize, left truncation — each equal to
// SentenceTransformer.encode
// (tests/data/encoders/*-prompts*-tiny/requests.json) — their errors,
// ModelInfo's prompts, auto_truncate and the per-request text cap.
#include <chrono>
#include <fstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/server/server_process_util.h"

namespace attnserve::server::testing {
namespace {

using ::testing::HasSubstr;

constexpr char kPrompts[] = "bert-prompts-tiny";
constexpr char kExcluded[] = "xlm-roberta-prompts-excluded-tiny";

std::string EncoderDir(const std::string& name) {
  return GoldenDir("encoders/" + name);
}

nlohmann::json Requests(const std::string& name) {
  std::ifstream in(EncoderDir(name) + "/requests.json");
  return nlohmann::json::parse(in);
}

std::chrono::system_clock::time_point In(int seconds) {
  return std::chrono::system_clock::now() + std::chrono::seconds(seconds);
}

class EncodeRequestFeaturesTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // "auto" is the prompts folder again with auto_truncate and a lower
    // max_input_tokens (the configured limit is cut by the core as well).
    const std::string config =
        ::testing::TempDir() + "/attnserve_request_features.txtpb";
    std::ofstream(config)
        << "model { name: \"prompts\" path: \"" << EncoderDir(kPrompts)
        << "\" }\nmodel { name: \"excluded\" path: \"" << EncoderDir(kExcluded)
        << "\" }\nmodel { name: \"auto\" path: \"" << EncoderDir(kPrompts)
        << "\" auto_truncate: true limits { max_input_tokens: 8 } }\n"
        << "model { name: \"tr\" path: \"" << GoldenDir("marian-tiny")
        << "\" }\n";
    server_ = new ServerProcess();
    ASSERT_TRUE(server_->Start({"--config=" + config, "--threads=1"}).ok())
        << server_->Log();
    ASSERT_TRUE(server_->WaitHealth("", 1).ok()) << server_->Log();
  }
  static void TearDownTestSuite() {
    absl::StatusOr<int> code = server_->Stop();
    EXPECT_TRUE(code.ok() && *code == 0) << server_->Log();
    delete server_;
  }

  static grpc::Status Encode(const v1::EncodeRequest& request,
                             v1::EncodeResponse* response) {
    grpc::ClientContext context;
    context.set_deadline(In(60));
    return server_->stub()->Encode(&context, request, response);
  }
  static grpc::Status Tokenize(const v1::TokenizeRequest& request,
                               v1::TokenizeResponse* response) {
    grpc::ClientContext context;
    context.set_deadline(In(60));
    return server_->stub()->Tokenize(&context, request, response);
  }
  static v1::ModelInfo Model(const std::string& name) {
    grpc::ClientContext context;
    context.set_deadline(In(60));
    v1::GetModelRequest request;
    request.set_name(name);
    v1::ModelInfo info;
    EXPECT_TRUE(server_->stub()->GetModel(&context, request, &info).ok());
    return info;
  }

  // Every request of the fixture `folder` served as `model` equals
  // sentence-transformers' vectors (1e-5) and token counts.
  static void ExpectFixtureRequests(const std::string& folder,
                                    const std::string& model) {
    const nlohmann::json doc = Requests(folder);
    for (const auto& r : doc.at("requests")) {
      SCOPED_TRACE(r.at("name").get<std::string>());
      v1::EncodeRequest request;
      ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(
                      r.at("request").dump(), &request)
                      .ok());
      request.set_model(model);
      request.set_truncate(true);
      for (const auto& text : doc.at("texts"))
        request.add_texts(text.get<std::string>());
      v1::EncodeResponse response;
      grpc::Status status = Encode(request, &response);
      ASSERT_TRUE(status.ok()) << status.error_message();
      const auto& want = r.at("embeddings");
      ASSERT_EQ(response.embeddings_size(), static_cast<int>(want.size()));
      EXPECT_EQ(response.dimensions(), want[0].size());
      for (size_t i = 0; i < want.size(); ++i) {
        const v1::Embedding& got = response.embeddings(static_cast<int>(i));
        EXPECT_EQ(got.input_tokens(), r.at("input_ids")[i].size());
        ASSERT_EQ(got.values_size(), static_cast<int>(want[i].size()));
        for (size_t j = 0; j < want[i].size(); ++j) {
          EXPECT_NEAR(got.values(static_cast<int>(j)), want[i][j].get<float>(),
                      1e-5)
              << "texts[" << i << "][" << j << "]";
        }
      }
    }
  }

  static ServerProcess* server_;
};

ServerProcess* EncodeRequestFeaturesTest::server_ = nullptr;

void ExpectError(const grpc::Status& status, const std::string& mention) {
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
      << status.error_message();
  EXPECT_THAT(status.error_message(), HasSubstr(mention));
}

TEST_F(EncodeRequestFeaturesTest, PromptsDimensionsAndLeftTruncationMatchST) {
  ExpectFixtureRequests(kPrompts, "prompts");
}

TEST_F(EncodeRequestFeaturesTest, IncludePromptFalseLeavesThePromptOut) {
  ExpectFixtureRequests(kExcluded, "excluded");
}

TEST_F(EncodeRequestFeaturesTest, ModelInfoListsThePrompts) {
  const v1::ModelInfo info = Model("prompts");
  EXPECT_EQ(info.default_prompt_name(), "query");
  EXPECT_EQ(info.prompts().at("query"), "query: ");
  EXPECT_EQ(info.prompts().at("passage"), "passage: ");
  EXPECT_EQ(info.prompts().at("document"), "");
  EXPECT_FALSE(info.auto_truncate());
  EXPECT_EQ(Model("excluded").default_prompt_name(), "");
  EXPECT_TRUE(Model("auto").auto_truncate());
}

TEST_F(EncodeRequestFeaturesTest, BadOptionsAreInvalidArgument) {
  v1::EncodeRequest request;
  request.set_model("prompts");
  request.add_texts("hello");
  v1::EncodeResponse response;
  request.set_prompt_name("search");
  ExpectError(Encode(request, &response),
              "prompt_name \"search\" is not one of the model's prompts "
              "(document, passage, query)");
  request.set_prompt_name("query");
  request.set_prompt("query: ");
  ExpectError(Encode(request, &response), "prompt_name and prompt are both");
  request.clear_prompt_name();
  request.clear_prompt();
  request.set_dimensions(33);
  ExpectError(Encode(request, &response),
              "dimensions 33 is more than the model's 32");
  request.set_dimensions(0);
  std::string long_text;
  for (int i = 0; i < 40; ++i) long_text += "word ";
  request.add_texts(long_text);
  ExpectError(Encode(request, &response),
              "texts[1] has more than 24 tokens with its prompt");

  v1::TokenizeRequest tokenize;
  tokenize.set_model("tr");
  tokenize.add_texts("hello");
  tokenize.set_truncation_direction(v1::TRUNCATION_DIRECTION_LEFT);
  v1::TokenizeResponse tokenized;
  ExpectError(Tokenize(tokenize, &tokenized),
              "truncation_direction LEFT is only for encoder models");
}

// auto_truncate cuts a text the call did not ask to cut, at the configured
// limit (8, below the model's 24), at the requested side.
TEST_F(EncodeRequestFeaturesTest, AutoTruncateCutsAtTheConfiguredLimit) {
  const std::string text = "a b c d e f g h i j k l";  // 14 tokens
  v1::TokenizeRequest tokenize;
  tokenize.set_model("prompts");
  tokenize.add_texts(text);
  v1::TokenizeResponse full;
  ASSERT_TRUE(Tokenize(tokenize, &full).ok());
  const auto& f = full.texts(0).token_ids();
  ASSERT_GT(f.size(), 8);
  tokenize.set_model("auto");
  for (auto direction :
       {v1::TRUNCATION_DIRECTION_RIGHT, v1::TRUNCATION_DIRECTION_LEFT}) {
    tokenize.set_truncation_direction(direction);
    v1::TokenizeResponse cut;
    ASSERT_TRUE(Tokenize(tokenize, &cut).ok());
    ASSERT_EQ(cut.texts(0).token_ids_size(), 8);
    EXPECT_TRUE(cut.texts(0).truncated());
    const auto& c = cut.texts(0).token_ids();
    EXPECT_EQ(c[0], f[0]);
    EXPECT_EQ(c[7], f[f.size() - 1]);
    if (direction == v1::TRUNCATION_DIRECTION_LEFT) {
      EXPECT_EQ(c[6], f[f.size() - 2]) << "keeps the end";
    } else {
      EXPECT_EQ(c[1], f[1]) << "keeps the beginning";
    }
  }
  v1::EncodeRequest request;
  request.set_model("auto");
  request.add_texts(text);
  v1::EncodeResponse response;
  ASSERT_TRUE(Encode(request, &response).ok());
  EXPECT_TRUE(response.embeddings(0).truncated());
  EXPECT_EQ(response.embeddings(0).input_tokens(), 8u);
}

TEST_F(EncodeRequestFeaturesTest, DefaultTextCapIs2048ForEncode) {
  EXPECT_EQ(Model("prompts").limits().max_texts_per_request(), 2048u);
  EXPECT_EQ(Model("prompts").batching().max_queue_size(), 4096u);
  EXPECT_EQ(Model("tr").limits().max_texts_per_request(), 256u);
  v1::EncodeRequest request;
  request.set_model("prompts");
  for (int i = 0; i < 2048; ++i) request.add_texts("t" + std::to_string(i));
  v1::EncodeResponse response;
  grpc::Status status = Encode(request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.embeddings_size(), 2048);
  request.add_texts("one too many");
  ExpectError(Encode(request, &response), "at most 2048 per call");
}

}  // namespace
}  // namespace attnserve::server::testing

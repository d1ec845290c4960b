// The modules.json pipeline through the real server: ModelInfo reports the
// concatenated pooling modes and the Dense output size, Encode's pooling
// override reaches the new modes and is INVALID_ARGUMENT where the model's
// Dense cannot take it (tests/data/st-modules).
#include <fstream>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/server/server_process_util.h"

namespace attnserve::server::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

class SentenceModulesServerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = new ServerProcess();
    ASSERT_TRUE(
        server_
            ->Start({"--model=chain=" + GoldenDir("st-modules/dense-chain"),
                     "--model=all=" + GoldenDir("st-modules/pool-all-modes"),
                     "--threads=1"})
            .ok())
        << server_->Log();
    ASSERT_TRUE(server_->WaitHealth("", 1).ok()) << server_->Log();
  }
  static void TearDownTestSuite() {
    absl::StatusOr<int> code = server_->Stop();
    EXPECT_TRUE(code.ok() && *code == 0) << server_->Log();
    delete server_;
  }

  static grpc::Status Encode(const std::string& model, v1::Pooling pooling,
                             v1::EncodeResponse* response,
                             std::optional<bool> normalize = std::nullopt) {
    v1::EncodeRequest request;
    request.set_model(model);
    request.add_texts("hello world");
    request.set_pooling(pooling);
    if (normalize.has_value()) request.set_normalize(*normalize);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(60));
    return server_->stub()->Encode(&context, request, response);
  }

  static v1::ModelInfo Info(const std::string& model) {
    v1::GetModelRequest request;
    request.set_name(model);
    v1::ModelInfo info;
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(60));
    EXPECT_TRUE(server_->stub()->GetModel(&context, request, &info).ok());
    return info;
  }

  static ServerProcess* server_;
};

ServerProcess* SentenceModulesServerTest::server_ = nullptr;

TEST_F(SentenceModulesServerTest, ModelInfoListsTheModesAndTheDenseSize) {
  const v1::ModelInfo chain = Info("chain");
  EXPECT_EQ(chain.embedding_dimensions(), 8u);
  EXPECT_EQ(chain.pooling(), v1::POOLING_UNSPECIFIED);
  EXPECT_THAT(chain.pooling_modes(),
              ElementsAre(v1::POOLING_CLS, v1::POOLING_MEAN));
  EXPECT_FALSE(chain.normalize());
  const v1::ModelInfo all = Info("all");
  EXPECT_EQ(all.embedding_dimensions(), 96u);
  EXPECT_EQ(all.pooling_modes_size(), 6);
  EXPECT_TRUE(all.normalize());
}

TEST_F(SentenceModulesServerTest, DefaultPoolingGivesTheModelsSize) {
  v1::EncodeResponse response;
  ASSERT_TRUE(Encode("chain", v1::POOLING_UNSPECIFIED, &response).ok());
  EXPECT_EQ(response.dimensions(), 8u);
  ASSERT_EQ(response.embeddings_size(), 1);
  EXPECT_EQ(response.embeddings(0).values_size(), 8);
}

TEST_F(SentenceModulesServerTest, OverrideTheDenseCannotTakeIsInvalid) {
  v1::EncodeResponse response;
  const grpc::Status status = Encode("chain", v1::POOLING_MEAN, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("cls+mean"));
}

// Without a Dense, one mode of a six-mode model: its own size, and the values
// are that mode's slice of sentence-transformers' concatenation before
// Normalize (cases.json: embedding_flipped_normalize of "hello world").
TEST_F(SentenceModulesServerTest, NewModesAreTheirSliceOfTheConcatenation) {
  std::ifstream in(GoldenDir("st-modules/pool-all-modes") + "/cases.json");
  const nlohmann::json cases = nlohmann::json::parse(in);
  ASSERT_EQ(cases.at("texts")[1], "hello world");
  const auto want =
      cases.at("embedding_flipped_normalize")[1].get<std::vector<float>>();
  ASSERT_EQ(want.size(), 96u);
  // Offsets in the concatenation order: cls, max, mean, mean_sqrt_len,
  // weightedmean, lasttoken.
  const std::pair<v1::Pooling, int> modes[] = {{v1::POOLING_MEAN_SQRT_LEN, 3},
                                               {v1::POOLING_WEIGHTED_MEAN, 4},
                                               {v1::POOLING_LAST_TOKEN, 5}};
  for (const auto& [pooling, slot] : modes) {
    v1::EncodeResponse response;
    const grpc::Status status = Encode("all", pooling, &response, false);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(response.dimensions(), 16u) << v1::Pooling_Name(pooling);
    ASSERT_EQ(response.embeddings(0).values_size(), 16);
    for (int j = 0; j < 16; ++j) {
      EXPECT_NEAR(response.embeddings(0).values(j), want[slot * 16 + j], 1e-5)
          << v1::Pooling_Name(pooling) << " value " << j;
    }
  }
}

}  // namespace
}  // namespace attnserve::server::testing

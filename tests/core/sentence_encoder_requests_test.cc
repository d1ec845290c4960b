// The Encode request features against sentence-transformers itself
// (tests/data/encoders/*-prompts*-tiny/requests.json, made by
// tools/oracle/make_encoder_fixtures.py): prompts by name, literal and default,
// include_prompt false, Matryoshka dimensions with and without a final
// normalisation, left truncation.
#include <cmath>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "core/models/prompts.h"
#include "core/models/sentence_encoder.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace attnserve {
namespace {

using ::testing::HasSubstr;

std::string Folder(const std::string& name) {
  return std::string(ATTNSERVE_TEST_DATA_DIR) + "/encoders/" + name;
}

nlohmann::json Requests(const std::string& name) {
  std::ifstream in(Folder(name) + "/requests.json");
  return nlohmann::json::parse(in);
}

std::optional<std::string_view> Field(const nlohmann::json& request,
                                      const char* key) {
  if (!request.contains(key)) return std::nullopt;
  return request.at(key).get_ref<const std::string&>();
}

// One Encode call of every fixture text through the core, as the server makes
// it (server/request_validation.cc ResolveEncodeOptions + encode_call.cc).
struct Call {
  std::vector<std::vector<int32_t>> ids;
  std::vector<std::vector<float>> embeddings;
};

Call RunRequest(SentenceEncoder& encoder, const nlohmann::json& texts,
                const nlohmann::json& request) {
  Call call;
  absl::StatusOr<std::string> prompt = encoder.ResolvePrompt(
      Field(request, "prompt_name"), Field(request, "prompt"));
  EXPECT_TRUE(prompt.ok()) << prompt.status();
  absl::StatusOr<int> excluded = encoder.ExcludedPromptTokens(*prompt);
  EXPECT_TRUE(excluded.ok()) << excluded.status();
  const bool left =
      request.value("truncation_direction", "") == "TRUNCATION_DIRECTION_LEFT";
  std::vector<absl::Span<const int32_t>> spans;
  for (const auto& text : texts) {
    absl::StatusOr<Encoding> e =
        encoder.Tokenize(text.get<std::string>(),
                         TokenizeOptions{.truncate = true,
                                         .side = left ? TruncationSide::kLeft
                                                      : TruncationSide::kRight,
                                         .prompt = *prompt});
    EXPECT_TRUE(e.ok()) << e.status();
    call.ids.push_back(e->ids);
  }
  for (const auto& ids : call.ids) spans.emplace_back(ids);
  const std::vector<int> per_text(spans.size(), *excluded);
  const bool normalize =
      request.value("normalize", encoder.default_normalize());
  auto embedded =
      encoder.Embed(spans, per_text, encoder.default_pooling(), normalize);
  EXPECT_TRUE(embedded.ok()) << embedded.status();
  const int dimensions = request.value("dimensions", 0);
  const bool renormalize = dimensions > 0 && request.value("normalize", false);
  for (std::vector<float>& v : *embedded) {
    if (dimensions > 0) TruncateEmbedding(dimensions, renormalize, &v);
  }
  call.embeddings = *std::move(embedded);
  return call;
}

class RequestFeaturesTest : public ::testing::TestWithParam<std::string> {};

TEST_P(RequestFeaturesTest, EveryRequestMatchesSentenceTransformers) {
  const nlohmann::json doc = Requests(GetParam());
  auto encoder = SentenceEncoder::Load(Folder(GetParam()));
  ASSERT_TRUE(encoder.ok()) << encoder.status();
  ASSERT_EQ((*encoder)->dimensions(), doc.at("dimensions").get<int>());
  for (const auto& r : doc.at("requests")) {
    SCOPED_TRACE(r.at("name").get<std::string>());
    const std::string prompt = r.at("prompt");
    EXPECT_EQ(*(*encoder)->ExcludedPromptTokens(prompt),
              r.at("excluded_prompt_tokens").get<int>());
    const Call call = RunRequest(**encoder, doc.at("texts"), r.at("request"));
    const auto& want_ids = r.at("input_ids");
    const auto& want = r.at("embeddings");
    ASSERT_EQ(call.embeddings.size(), want.size());
    for (size_t i = 0; i < want.size(); ++i) {
      EXPECT_EQ(call.ids[i], want_ids[i].get<std::vector<int32_t>>())
          << "texts[" << i << "]";
      ASSERT_EQ(call.embeddings[i].size(), want[i].size());
      for (size_t j = 0; j < want[i].size(); ++j) {
        EXPECT_NEAR(call.embeddings[i][j], want[i][j].get<float>(), 1e-5)
            << "texts[" << i << "][" << j << "]";
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    Fixtures, RequestFeaturesTest,
    ::testing::Values("bert-prompts-tiny", "xlm-roberta-prompts-excluded-tiny",
                      "roberta-prompts-excluded-cls-max-tiny"));

TEST(PromptsTest, FolderPromptsAndDefaultsAsSentenceTransformers) {
  auto encoder = SentenceEncoder::Load(Folder("bert-prompts-tiny"));
  ASSERT_TRUE(encoder.ok()) << encoder.status();
  const Prompts& prompts = (*encoder)->prompts();
  EXPECT_EQ(prompts.default_name, "query");
  EXPECT_EQ(prompts.by_name.at("query"), "query: ");
  EXPECT_EQ(prompts.by_name.at("passage"), "passage: ");
  EXPECT_EQ(prompts.by_name.at("document"), "");  // sentence-transformers' own
  EXPECT_EQ(*(*encoder)->ResolvePrompt(std::nullopt, std::nullopt), "query: ");
  EXPECT_EQ(*(*encoder)->ResolvePrompt("passage", std::nullopt), "passage: ");
  EXPECT_EQ(*(*encoder)->ResolvePrompt(std::nullopt, ""), "");
  // include_prompt is true here: nothing is left out of the pool.
  EXPECT_EQ(*(*encoder)->ExcludedPromptTokens("query: "), 0);
}

TEST(PromptsTest, UnknownNameListsTheKnownOnesAndBothIsAnError) {
  auto encoder = SentenceEncoder::Load(Folder("bert-prompts-tiny"));
  ASSERT_TRUE(encoder.ok()) << encoder.status();
  absl::StatusOr<std::string> unknown =
      (*encoder)->ResolvePrompt("search", std::nullopt);
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(unknown.status().message(),
              HasSubstr("\"search\" is not one of the model's prompts "
                        "(document, passage, query)"));
  absl::StatusOr<std::string> both =
      (*encoder)->ResolvePrompt("query", "query: ");
  EXPECT_EQ(both.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(both.status().message(), HasSubstr("both set"));
}

TEST(PromptsTest, ModelWithoutPromptsHasTheTwoEmptyOnes) {
  auto prompts =
      ReadPrompts(std::string(ATTNSERVE_TEST_DATA_DIR) + "/bert-tiny");
  ASSERT_TRUE(prompts.ok()) << prompts.status();
  EXPECT_EQ(prompts->by_name.size(), 2u);
  EXPECT_EQ(prompts->default_name, "");
  EXPECT_EQ(*ResolvePrompt(*prompts, "query", std::nullopt), "");
}

TEST(PromptsTest, DefaultNameThatIsNoPromptFailsTheLoad) {
  const std::string dir = ::testing::TempDir() + "/prompts_bad_default";
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/config_sentence_transformers.json")
      << R"({"prompts": {"query": "q: "}, "default_prompt_name": "search"})";
  auto prompts = ReadPrompts(dir);
  EXPECT_EQ(prompts.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(prompts.status().message(),
              HasSubstr("default_prompt_name \"search\" is not one of the "
                        "prompts (document, query)"));
  std::ofstream(dir + "/config_sentence_transformers.json")
      << R"({"prompts": {"query": 3}})";
  EXPECT_THAT(ReadPrompts(dir).status().message(),
              HasSubstr("prompts[\"query\"] must be a string"));
}

TEST(DimensionsTest, CutAndOptionalRenormalisation) {
  EXPECT_TRUE(CheckDimensions(0, 32).ok());
  EXPECT_TRUE(CheckDimensions(32, 32).ok());
  absl::Status over = CheckDimensions(33, 32);
  EXPECT_EQ(over.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(over.message(), HasSubstr("dimensions 33 is more than the "
                                        "model's 32"));
  std::vector<float> v = {3, 4, 12};
  TruncateEmbedding(2, /*renormalize=*/false, &v);
  EXPECT_EQ(v, (std::vector<float>{3, 4}));
  TruncateEmbedding(2, /*renormalize=*/true, &v);
  EXPECT_FLOAT_EQ(v[0], 0.6f);
  EXPECT_FLOAT_EQ(v[1], 0.8f);
}

TEST(TruncationSideTest, LeftKeepsTheEndAndTheSpecialTokens) {
  auto encoder = SentenceEncoder::Load(Folder("bert-prompts-tiny"));
  ASSERT_TRUE(encoder.ok()) << encoder.status();
  const std::string text = "one two three four five six seven eight";
  auto full = (*encoder)->Tokenize(text, TokenizeOptions{});
  ASSERT_TRUE(full.ok()) << full.status();
  ASSERT_GT(full->ids.size(), 6u);
  auto left =
      (*encoder)->Tokenize(text, TokenizeOptions{.truncate = true,
                                                 .side = TruncationSide::kLeft,
                                                 .max_tokens = 5});
  ASSERT_TRUE(left.ok()) << left.status();
  EXPECT_TRUE(left->truncated);
  const std::vector<int32_t>& f = full->ids;
  // [CLS] + the last three pieces + [SEP].
  EXPECT_EQ(left->ids,
            (std::vector<int32_t>{f[0], f[f.size() - 4], f[f.size() - 3],
                                  f[f.size() - 2], f.back()}));
}

}  // namespace
}  // namespace attnserve

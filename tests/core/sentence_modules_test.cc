// The modules.json pipeline (core/pooling.h, core/heads/dense.h): every
// Pooling mode, concatenated modes, Dense modules, Normalize, module folders
// found through modules.json, against SentenceTransformer.encode
// (tests/data/st-modules, tools/oracle/make_module_fixtures.py).
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "core/models/sentence_encoder.h"
#include "core/pooling.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace attnserve {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

const std::string kData = std::string(ATTNSERVE_TEST_DATA_DIR) + "/st-modules";

nlohmann::json ReadJson(const std::string& path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in);
}

void WriteJson(const std::string& path, const nlohmann::json& j) {
  std::ofstream(path) << j.dump(2);
}

float MaxError(const std::vector<std::vector<float>>& got,
               const nlohmann::json& want) {
  EXPECT_EQ(got.size(), want.size());
  float err = 0;
  for (size_t b = 0; b < std::min(got.size(), want.size()); ++b) {
    const auto row = want[b].get<std::vector<float>>();
    EXPECT_EQ(got[b].size(), row.size()) << "text " << b;
    if (got[b].size() != row.size()) return INFINITY;
    for (size_t j = 0; j < row.size(); ++j)
      err = std::max(err, std::abs(got[b][j] - row[j]));
  }
  return err;
}

// Pooling mode names as a sorted list ("cls+mean" in either order).
std::vector<std::string> ModeNames(const std::string& joined) {
  std::vector<std::string> names = absl::StrSplit(joined, '+');
  std::sort(names.begin(), names.end());
  return names;
}

class SentenceModulesTest : public ::testing::TestWithParam<std::string> {};

TEST_P(SentenceModulesTest, EqualsSentenceTransformersEncode) {
  const std::string folder = kData + "/" + GetParam();
  const nlohmann::json c = ReadJson(folder + "/cases.json");
  auto enc = SentenceEncoder::Load(folder);
  ASSERT_TRUE(enc.ok()) << enc.status();
  EXPECT_EQ((*enc)->dimensions(), c.at("dimensions").get<int>());
  EXPECT_EQ((*enc)->default_normalize(), c.at("normalize").get<bool>());
  EXPECT_EQ(ModeNames((*enc)->default_pooling().ToString()),
            ModeNames(c.at("pooling").get<std::string>()));
  std::vector<std::vector<int32_t>> ids;
  for (const auto& text : c.at("texts")) {
    auto e = (*enc)->Tokenize(text.get<std::string>(), /*truncate=*/true);
    ASSERT_TRUE(e.ok()) << e.status();
    ids.push_back(e->ids);
  }
  ASSERT_EQ(ids, c.at("ids").get<std::vector<std::vector<int32_t>>>());
  std::vector<absl::Span<const int32_t>> spans(ids.begin(), ids.end());
  const bool normalize = (*enc)->default_normalize();
  auto got = (*enc)->Embed(spans, (*enc)->default_pooling(), normalize);
  ASSERT_TRUE(got.ok()) << got.status();
  const float err = MaxError(*got, c.at("embedding"));
  auto flipped = (*enc)->Embed(spans, (*enc)->default_pooling(), !normalize);
  ASSERT_TRUE(flipped.ok()) << flipped.status();
  const float flipped_err =
      MaxError(*flipped, c.at("embedding_flipped_normalize"));
  std::printf("%-22s max err %.2e, normalize flipped %.2e\n",
              GetParam().c_str(), err, flipped_err);
  EXPECT_LE(err, 1e-5);
  EXPECT_LE(flipped_err, 1e-5);
}

INSTANTIATE_TEST_SUITE_P(
    Variants, SentenceModulesTest,
    ::testing::Values("pool-cls", "pool-max", "pool-mean", "pool-mean-sqrt-len",
                      "pool-weightedmean", "pool-lasttoken", "pool-all-modes",
                      "dense-tanh", "dense-chain", "missing-normalize",
                      "transformer-subfolder", "dense-tanh-bin"),
    [](const auto& info) {
      std::string name = info.param;
      std::replace(name.begin(), name.end(), '-', '_');
      return name;
    });

// Each mode on a padded batch, against values worked out by hand: row 0 has
// 3 tokens, row 1 has 2 and one padding position.
TEST(PoolHiddenStatesTest, EveryModeByHand) {
  // [batch 2, len 3, dim 2]
  const Tensor hidden({2, 3, 2}, {1, -2, 3, 4, 5, 0,  //
                                  2, 2, -4, 6, 100, 100});
  const std::vector<int32_t> mask = {1, 1, 1, 1, 1, 0};
  struct Case {
    Pooling mode;
    std::vector<float> row0, row1;
  };
  const float s3 = std::sqrt(3.f), s2 = std::sqrt(2.f);
  const Case cases[] = {
      {Pooling::kCls, {1, -2}, {2, 2}},
      {Pooling::kMax, {5, 4}, {2, 6}},
      {Pooling::kMean, {3, 2 / 3.f}, {-1, 4}},
      {Pooling::kMeanSqrtLen, {9 / s3, 2 / s3}, {-2 / s2, 8 / s2}},
      // Σ (t+1) h / Σ (t+1): row 0 (1+6+15)/6, (-2+8+0)/6; row 1 (2-8)/3,
      // (2+12)/3.
      {Pooling::kWeightedMean, {22 / 6.f, 1}, {-2, 14 / 3.f}},
      {Pooling::kLastToken, {5, 0}, {-4, 6}},
  };
  for (const Case& c : cases) {
    std::vector<std::vector<float>> out;
    PoolHiddenStates(hidden, mask, c.mode, /*normalize=*/false, &out);
    ASSERT_EQ(out.size(), 2u);
    for (int j = 0; j < 2; ++j) {
      EXPECT_NEAR(out[0][j], c.row0[j], 1e-6) << PoolingName(c.mode);
      EXPECT_NEAR(out[1][j], c.row1[j], 1e-6) << PoolingName(c.mode);
    }
  }
  // Several modes: concatenated in Pooling's order whatever order they are
  // added in.
  PoolingModes both = Pooling::kLastToken;
  both.Add(Pooling::kCls);
  EXPECT_EQ(both.ToString(), "cls+lasttoken");
  std::vector<std::vector<float>> out;
  PoolHiddenStates(hidden, mask, both, /*normalize=*/false, &out);
  EXPECT_EQ(out[1], (std::vector<float>{2, 2, -4, 6}));
}

// A copy of a fixture folder whose files a test rewrites.
class BrokenFolderTest : public ::testing::Test {
 protected:
  std::string Copy(const std::string& variant) {
    const fs::path dir =
        fs::path(::testing::TempDir()) /
        ("st-modules-" + variant + "-" +
         ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir);
    fs::copy(kData + "/" + variant, dir, fs::copy_options::recursive);
    return dir.string();
  }
  static std::string LoadError(const std::string& folder) {
    auto enc = SentenceEncoder::Load(folder);
    EXPECT_FALSE(enc.ok());
    return enc.ok() ? "" : std::string(enc.status().message());
  }
};

TEST_F(BrokenFolderTest, UnknownModuleTypeIsNamedWithTheSupportedOnes) {
  const std::string folder = Copy("dense-tanh");
  nlohmann::json modules = ReadJson(folder + "/modules.json");
  modules[2]["type"] = "sentence_transformers.models.LayerNorm";
  WriteJson(folder + "/modules.json", modules);
  const std::string error = LoadError(folder);
  EXPECT_THAT(error, HasSubstr("sentence_transformers.models.LayerNorm"));
  EXPECT_THAT(error, HasSubstr("supported"));
  EXPECT_THAT(error, HasSubstr("sentence_transformers.models.Dense"));
}

TEST_F(BrokenFolderTest, ModulesOutOfOrderAreRejected) {
  const std::string folder = Copy("dense-tanh");
  nlohmann::json modules = ReadJson(folder + "/modules.json");
  std::swap(modules[1], modules[2]);  // Dense before Pooling
  WriteJson(folder + "/modules.json", modules);
  EXPECT_THAT(LoadError(folder), HasSubstr("out of place"));
}

TEST_F(BrokenFolderTest, DenseActivationAndSizesAreChecked) {
  const std::string folder = Copy("dense-chain");
  nlohmann::json dense = ReadJson(folder + "/2_Dense/config.json");
  dense["activation_function"] = "torch.nn.modules.activation.Softplus";
  WriteJson(folder + "/2_Dense/config.json", dense);
  EXPECT_THAT(LoadError(folder), HasSubstr("Softplus"));

  const std::string sizes = Copy("dense-chain");
  nlohmann::json pooling = ReadJson(sizes + "/1_Pooling/config.json");
  pooling["pooling_mode_cls_token"] =
      false;  // mean only: 16 values, Dense takes 32
  WriteJson(sizes + "/1_Pooling/config.json", pooling);
  EXPECT_THAT(LoadError(sizes), HasSubstr("takes 32"));

  const std::string missing = Copy("dense-tanh");
  fs::remove(missing + "/2_Dense/model.safetensors");
  const std::string error = LoadError(missing);
  EXPECT_THAT(error, HasSubstr("2_Dense"));
  EXPECT_THAT(error, HasSubstr("pytorch_model.bin"));
}

TEST_F(BrokenFolderTest, PoolingWithoutAnyModeIsRejected) {
  const std::string folder = Copy("pool-cls");
  nlohmann::json pooling = ReadJson(folder + "/1_Pooling/config.json");
  pooling["pooling_mode_cls_token"] = false;
  WriteJson(folder + "/1_Pooling/config.json", pooling);
  EXPECT_THAT(LoadError(folder), HasSubstr("no pooling_mode_* flag is true"));
}

// A request's single mode cannot feed a Dense that takes two modes' values.
TEST(SentenceModulesOverrideTest, DenseRejectsAPoolingOfAnotherSize) {
  auto enc = SentenceEncoder::Load(kData + "/dense-chain");
  ASSERT_TRUE(enc.ok()) << enc.status();
  EXPECT_EQ((*enc)->dimensions(), 8);
  EXPECT_TRUE((*enc)->CheckPooling((*enc)->default_pooling()).ok());
  const absl::Status s = (*enc)->CheckPooling(Pooling::kMean);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("cls+mean"));
  auto ids = (*enc)->Tokenize("hello", true);
  ASSERT_TRUE(ids.ok());
  std::vector<absl::Span<const int32_t>> batch = {ids->ids};
  EXPECT_EQ((*enc)->Embed(batch, Pooling::kMean, false).status().code(),
            absl::StatusCode::kInvalidArgument);
  // Without a Dense, an override changes the size: mean of a max+... model.
  auto all = SentenceEncoder::Load(kData + "/pool-all-modes");
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_EQ((*all)->dimensions(), 6 * 16);
  auto mean = (*all)->Embed(batch, Pooling::kMean, true);
  ASSERT_TRUE(mean.ok()) << mean.status();
  EXPECT_EQ((*mean)[0].size(), 16u);
}

TEST(SentencePipelineTest, IncludePromptIsRead) {
  const std::string folder =
      ::testing::TempDir() + "/st-modules-include-prompt";
  fs::remove_all(folder);
  fs::copy(kData + "/pool-mean", folder, fs::copy_options::recursive);
  nlohmann::json pooling = ReadJson(folder + "/1_Pooling/config.json");
  pooling["include_prompt"] = false;
  WriteJson(folder + "/1_Pooling/config.json", pooling);
  auto pipeline = ReadSentencePipeline(folder);
  ASSERT_TRUE(pipeline.ok()) << pipeline.status();
  EXPECT_FALSE(pipeline->include_prompt);
  EXPECT_EQ(pipeline->pooling, Pooling::kMean);
}

}  // namespace
}  // namespace attnserve

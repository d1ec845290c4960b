// End to end: texts -> Tokenize -> Embed equals HF/sentence-transformers
// mean_pooled_normalized.
#include "core/models/sentence_encoder.h"

#include <cmath>
#include <fstream>

#include "core/models/safetensors.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace attnserve {
namespace {

const std::string kFolder = std::string(ATTNSERVE_TEST_DATA_DIR) + "/bert-tiny";

TEST(SentenceEncoderTest, LoadsFolderSettings) {
  auto enc = SentenceEncoder::Load(kFolder);
  ASSERT_TRUE(enc.ok()) << enc.status();
  EXPECT_EQ((*enc)->architecture(), "bert");
  EXPECT_EQ((*enc)->max_input_tokens(), 128);
  EXPECT_EQ((*enc)->dimensions(), 64);
  EXPECT_EQ((*enc)->default_pooling(), Pooling::kMean);
  EXPECT_TRUE((*enc)->default_normalize());
}

// parameter_count sizes the default memory budget: it must match the
// weights the folder holds (its float tensors, pooler aside).
TEST(SentenceEncoderTest, ParameterCountMatchesTheWeightsFile) {
  auto enc = SentenceEncoder::Load(kFolder);
  ASSERT_TRUE(enc.ok()) << enc.status();
  auto weights = SafetensorsFile::Open(kFolder + "/model.safetensors");
  ASSERT_TRUE(weights.ok()) << weights.status();
  int64_t floats = 0;
  for (const std::string& name : (*weights)->Names()) {
    const SafetensorsFile::Entry* entry = *(*weights)->Find(name);
    if (entry->dtype_name != "F32" || name.find("pooler") != std::string::npos)
      continue;
    int64_t count = 1;
    for (int64_t dim : entry->shape) count *= dim;
    floats += count;
  }
  EXPECT_EQ((*enc)->parameter_count(), floats);
  // An estimate grows with the batch's tokens.
  const int one[] = {16};
  const int two[] = {16, 16};
  EXPECT_GT((*enc)->EstimateEncodeBytes(two), (*enc)->EstimateEncodeBytes(one));
  EXPECT_GE((*enc)->EstimateEncodeBytes(one),
            int64_t{16} * (*enc)->dimensions() * 4)
      << "at least the output rows";
}

TEST(SentenceEncoderTest, TextsToEmbeddingsMatchHf) {
  auto enc = SentenceEncoder::Load(kFolder);
  ASSERT_TRUE(enc.ok()) << enc.status();
  auto tensors = SafetensorsFile::Open(kFolder + "/tensors.safetensors");
  ASSERT_TRUE(tensors.ok());
  std::ifstream in(kFolder + "/cases.json");
  nlohmann::json cases = nlohmann::json::parse(in).at("cases");
  for (const auto& c : cases) {
    const std::string name = c.at("name");
    std::vector<std::vector<int32_t>> ids;
    for (const auto& text : c.at("texts")) {
      auto e = (*enc)->Tokenize(text.get<std::string>(), /*truncate=*/true);
      ASSERT_TRUE(e.ok()) << name << ": " << e.status();
      ids.push_back(e->ids);
    }
    // The tokenizer reproduces the HF ids (unpadded rows of cases.json).
    for (size_t b = 0; b < ids.size(); ++b) {
      auto want = c.at("input_ids")[b].get<std::vector<int32_t>>();
      want.resize(c.at("seq_lens")[b].get<size_t>());
      EXPECT_EQ(ids[b], want) << name << " text " << b;
    }
    std::vector<absl::Span<const int32_t>> spans(ids.begin(), ids.end());
    auto got = (*enc)->Embed(spans, (*enc)->default_pooling(),
                             (*enc)->default_normalize());
    ASSERT_TRUE(got.ok()) << got.status();
    auto want = (*tensors)->ReadFloat(name + ".mean_pooled_normalized");
    ASSERT_TRUE(want.ok());
    float err = 0;
    for (size_t b = 0; b < got->size(); ++b)
      for (int j = 0; j < 64; ++j)
        err = std::max(err, std::abs((*got)[b][j] - (*want)[b * 64 + j]));
    std::printf("%-16s end-to-end max err %.2e\n", name.c_str(), err);
    EXPECT_LT(err, 1e-5) << name;
  }
}

TEST(SentenceEncoderTest, TruncationAndErrors) {
  auto enc = SentenceEncoder::Load(kFolder);
  ASSERT_TRUE(enc.ok());
  std::string long_text;
  for (int i = 0; i < 300; ++i) long_text += "word ";
  EXPECT_EQ((*enc)->Tokenize(long_text, false).status().code(),
            absl::StatusCode::kInvalidArgument);
  auto t = (*enc)->Tokenize(long_text, true);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->ids.size(), 128u);
  std::vector<int32_t> too_long(129, 5);
  std::vector<absl::Span<const int32_t>> batch = {too_long};
  EXPECT_FALSE((*enc)->Embed(batch, Pooling::kMean, true).ok());
  EXPECT_TRUE((*enc)->Embed({}, Pooling::kMean, true)->empty());
  EXPECT_EQ(SentenceEncoder::Load(std::string(ATTNSERVE_TEST_DATA_DIR) +
                                  "/marian-tiny")
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(SentenceEncoderTest, ClsAndMaxPoolingFollowTheirDefinitions) {
  auto enc = SentenceEncoder::Load(kFolder);
  ASSERT_TRUE(enc.ok());
  auto e = (*enc)->Tokenize("hello world", false);
  std::vector<absl::Span<const int32_t>> batch = {e->ids};
  auto mean = (*enc)->Embed(batch, Pooling::kMean, false);
  auto mx = (*enc)->Embed(batch, Pooling::kMax, false);
  auto cls = (*enc)->Embed(batch, Pooling::kCls, true);
  ASSERT_TRUE(mean.ok() && mx.ok() && cls.ok());
  double norm = 0;
  for (int j = 0; j < 64; ++j) {
    EXPECT_GE((*mx)[0][j], (*mean)[0][j] - 1e-6);  // max >= mean per dimension
    norm += (*cls)[0][j] * (*cls)[0][j];
  }
  EXPECT_NEAR(norm, 1.0, 1e-5);
}

}  // namespace
}  // namespace attnserve

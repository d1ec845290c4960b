// Every encoder architecture of the registry against its Hugging Face
// reference fixture in tests/data/encoders/<arch>-tiny (transformers 4.57.6,
// tools/oracle/make_encoder_fixtures.py): the token ids HF's tokenizer gave go
// through TransformerEncoder::Forward; last_hidden_state must match at 1e-5
// in fp32 (RoBERTa-family positions after the padding index, pad literals
// inside texts, MPNet's relative-position bias, DistilBERT's names), and the
// reduced precisions must stay close (cosine per token).
#include <cmath>
#include <fstream>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/models/encoder_architecture.h"
#include "core/models/safetensors.h"
#include "core/models/sentence_encoder.h"
#include "core/models/transformer_encoder.h"
#include "core/ops/quantize.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace attnserve {
namespace {

std::string Folder(const std::string& arch) {
  return absl::StrCat(ATTNSERVE_TEST_DATA_DIR, "/encoders/", arch, "-tiny");
}

struct Case {
  std::string name;
  int batch = 0, len = 0;
  std::vector<int32_t> ids, mask;
  Tensor want;  // last_hidden_state [batch, len, hidden]
};

std::vector<Case> LoadCases(const std::string& folder) {
  std::ifstream in(folder + "/cases.json");
  const nlohmann::json j = nlohmann::json::parse(in);
  auto tensors = SafetensorsFile::Open(folder + "/tensors.safetensors");
  EXPECT_TRUE(tensors.ok()) << tensors.status();
  std::vector<Case> cases;
  if (!tensors.ok()) return cases;
  for (const auto& c : j.at("cases")) {
    Case k;
    k.name = c.at("name").get<std::string>();
    std::vector<int64_t> shape;
    auto ids = (*tensors)->ReadInt64(k.name + ".input_ids", &shape);
    auto mask = (*tensors)->ReadInt64(k.name + ".attention_mask");
    auto want = (*tensors)->ReadFloat(k.name + ".last_hidden_state");
    EXPECT_TRUE(ids.ok() && mask.ok() && want.ok()) << k.name;
    if (!ids.ok() || !mask.ok() || !want.ok()) continue;
    k.batch = static_cast<int>(shape[0]);
    k.len = static_cast<int>(shape[1]);
    k.ids.assign(ids->begin(), ids->end());
    k.mask.assign(mask->begin(), mask->end());
    k.want = *std::move(want);
    cases.push_back(std::move(k));
  }
  return cases;
}

// Max |got - want| and min cosine over the rows with mask 1.
struct Agreement {
  float max_diff = 0;
  double min_cosine = 1;
};

Agreement Compare(const Tensor& got, const Case& c) {
  Agreement a;
  const int64_t dim = got.dim(2);
  for (int64_t r = 0; r < static_cast<int64_t>(c.batch) * c.len; ++r) {
    if (c.mask[r] == 0) continue;
    double dot = 0, gg = 0, ww = 0;
    for (int64_t j = 0; j < dim; ++j) {
      const float g = got[r * dim + j], w = c.want[r * dim + j];
      a.max_diff = std::max(a.max_diff, std::abs(g - w));
      dot += g * w, gg += g * g, ww += w * w;
    }
    a.min_cosine = std::min(a.min_cosine, dot / std::sqrt(gg * ww));
  }
  return a;
}

class EncoderArchitectureTest : public ::testing::TestWithParam<std::string> {};

TEST_P(EncoderArchitectureTest, LastHiddenStateMatchesTransformers) {
  const std::string folder = Folder(GetParam());
  auto config = ReadEncoderConfig(folder);
  ASSERT_TRUE(config.ok()) << config.status();
  auto model = TransformerEncoder::Load(folder);
  ASSERT_TRUE(model.ok()) << model.status();
  const std::vector<Case> cases = LoadCases(folder);
  ASSERT_GE(cases.size(), 10u);
  for (const Case& c : cases) {
    Tensor got;
    ASSERT_TRUE((*model)->Forward(c.ids, c.mask, c.batch, c.len, &got).ok())
        << c.name;
    const Agreement a = Compare(got, c);
    EXPECT_LE(a.max_diff, 1e-5f) << GetParam() << " case " << c.name;
  }
}

TEST_P(EncoderArchitectureTest, ReducedPrecisionsStayClose) {
  const std::string folder = Folder(GetParam());
  const std::vector<Case> cases = LoadCases(folder);
  for (DType dtype : {DType::kBFloat16, DType::kInt8}) {
    if (dtype == DType::kBFloat16 && !BFloat16MatmulSupported().ok()) continue;
    LoadOptions options;
    options.dtype = dtype;
    auto model = TransformerEncoder::Load(folder, options);
    ASSERT_TRUE(model.ok()) << model.status();
    for (const Case& c : cases) {
      Tensor got;
      ASSERT_TRUE((*model)->Forward(c.ids, c.mask, c.batch, c.len, &got).ok());
      // Per token (stricter than the per-embedding bound).
      EXPECT_GE(Compare(got, c).min_cosine,
                dtype == DType::kBFloat16 ? 0.999 : 0.99)
          << GetParam() << " " << DTypeToString(dtype) << " case " << c.name;
    }
  }
}

TEST_P(EncoderArchitectureTest, OverlongInputIsRefusedNamingThePositionTable) {
  auto model = TransformerEncoder::Load(Folder(GetParam()));
  ASSERT_TRUE(model.ok()) << model.status();
  const int too_many = (*model)->config().max_tokens() + 1;
  std::vector<int32_t> ids(too_many, 5), mask(too_many, 1);
  Tensor out;
  const absl::Status s = (*model)->Forward(ids, mask, 1, too_many, &out);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("position table"), std::string::npos) << s;
}

// The whole folder as SentenceTransformer(folder).encode: the tokenizer from
// tokenizer.json (stripped texts, truncation at max_seq_length), the
// encoder, the folder's pooling and Normalize, and every pooling override.
TEST_P(EncoderArchitectureTest, SentenceEncoderEqualsSentenceTransformers) {
  const std::string folder = Folder(GetParam());
  auto encoder = SentenceEncoder::Load(folder);
  ASSERT_TRUE(encoder.ok()) << encoder.status();
  EXPECT_EQ((*encoder)->architecture(), GetParam());
  std::ifstream in(folder + "/cases.json");
  const nlohmann::json j = nlohmann::json::parse(in);
  auto tensors = SafetensorsFile::Open(folder + "/tensors.safetensors");
  ASSERT_TRUE(tensors.ok()) << tensors.status();
  const std::vector<std::tuple<std::string, PoolingModes, bool>> variants = {
      {"embedding", (*encoder)->default_pooling(),
       (*encoder)->default_normalize()},
      {"cls_pooled", Pooling::kCls, false},
      {"mean_pooled_normalized", Pooling::kMean, true},
      {"max_pooled", Pooling::kMax, false}};
  for (const auto& c : j.at("cases")) {
    const std::string name = c.at("name").get<std::string>();
    std::vector<std::vector<int32_t>> ids;
    for (size_t i = 0; i < c.at("texts").size(); ++i) {
      auto enc = (*encoder)->Tokenize(c["texts"][i].get<std::string>(),
                                      /*truncate=*/true);
      ASSERT_TRUE(enc.ok()) << name << ": " << enc.status();
      const int len = c["seq_lens"][i].get<int>();
      std::vector<int32_t> want = c["input_ids"][i].get<std::vector<int32_t>>();
      want.resize(len);
      EXPECT_EQ(enc->ids, want) << GetParam() << " " << name << " text " << i;
      EXPECT_EQ(enc->truncated, c["truncated"][i].get<bool>()) << name;
      ids.push_back(enc->ids);
    }
    std::vector<absl::Span<const int32_t>> batch(ids.begin(), ids.end());
    for (const auto& [key, pooling, normalize] : variants) {
      auto got = (*encoder)->Embed(batch, pooling, normalize);
      ASSERT_TRUE(got.ok()) << got.status();
      auto want = (*tensors)->ReadFloat(name + "." + key);
      ASSERT_TRUE(want.ok()) << want.status();
      const int64_t dim = want->dim(1);
      float diff = 0;
      for (size_t b = 0; b < got->size(); ++b)
        for (int64_t d = 0; d < dim; ++d)
          diff = std::max(diff, std::abs((*got)[b][d] - (*want)[b * dim + d]));
      EXPECT_LE(diff, 1e-5f) << GetParam() << " " << name << " " << key;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Registry, EncoderArchitectureTest,
                         ::testing::Values("xlm-roberta", "camembert",
                                           "roberta", "distilbert", "mpnet"),
                         [](const auto& info) {
                           std::string name = info.param;
                           for (char& ch : name)
                             if (ch == '-') ch = '_';
                           return name;
                         });

}  // namespace
}  // namespace attnserve

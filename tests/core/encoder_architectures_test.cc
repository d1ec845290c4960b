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
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/models/encoder_architecture.h"
#include "core/models/safetensors.h"
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
